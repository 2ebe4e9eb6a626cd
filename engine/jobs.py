"""What a job function sees: its inputs' artifacts, a run context, and the metrics it returns.

Every job kind is `fn(config, inputs, out_dir, ctx) -> list[Metric]` (see docs/jobs.md). Keeping
this surface tiny is what lets the local and Ray executors, and tests, run the same functions.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping


@dataclass(frozen=True)
class Input:
    """A finished upstream job: its identity, kind, resolved config and artifact folder."""

    id: str
    kind: str
    config: Mapping[str, Any]
    path: Path


@dataclass(frozen=True)
class Metric:
    name: str
    split: str | None
    value: float


def default_device() -> str:
    try:
        import torch
    except ImportError:  # the language layer may run without torch
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class RunContext:
    device: str = field(default_factory=default_device)
    data_root: Path = field(default_factory=lambda: Path(os.environ.get("DSL_DATA", "data")))
    compile: bool | str = "auto"  # engine.compiled.mode_for decides per training
    log: Callable[[str], None] = lambda msg: None


_EXCEPTION_HEAD = re.compile(r"(?P<cls>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?:: (?P<msg>.*))?")


def error_line(error: str | None) -> str | None:
    """One line for a summary instead of a whole traceback (the store keeps all of it).

    From a traceback, the exception it ends with: a `DslError` (written for people) as just its
    message, any other as its short class name and message (`ValueError: ...`, not
    `builtins.ValueError` or `pkg.mod.Error`); a message of several lines by its first. Any
    other text (a worker's death, a skip reason) by its last non-empty line.
    """
    if not error:
        return None
    lines = [ln.rstrip() for ln in error.strip().splitlines() if ln.strip()]
    if not lines:
        return None
    starts = [i for i, ln in enumerate(lines) if ln.startswith("Traceback (most recent call")]
    if not starts:
        return lines[-1].strip()
    # After the last "Traceback" header come its frames (indented), then the exception itself.
    head = next((ln for ln in lines[starts[-1] + 1:] if not ln[:1].isspace()), None)
    match = _EXCEPTION_HEAD.fullmatch(head or "")
    if match is None:
        return lines[-1].strip()
    qualified, message = match["cls"], (match["msg"] or "").strip()
    if _is_dsl_error(qualified) and message:
        return message
    short = qualified.rpartition(".")[2]
    return f"{short}: {message}" if message else short


def _is_dsl_error(qualified: str) -> bool:
    """Whether a traceback's exception class (`module.Name`) is DslError or a subclass."""
    from dsl.errors import DslError

    module, _, name = qualified.rpartition(".")
    cls = getattr(sys.modules.get(module), name, None) if module else None
    return isinstance(cls, type) and issubclass(cls, DslError)
