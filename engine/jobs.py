"""What a job function sees: its inputs' artifacts, a run context, and the metrics it returns.

Every job kind is `fn(config, inputs, out_dir, ctx) -> list[Metric]` (see docs/jobs.md). Keeping
this surface tiny is what lets the local and Ray executors, and tests, run the same functions.
"""

from __future__ import annotations

import os
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
    compile: bool = False
    log: Callable[[str], None] = lambda msg: None


def error_line(error: str | None) -> str | None:
    """The last non-empty line of a traceback: what a summary shows instead of all of it."""
    if not error:
        return None
    lines = [ln for ln in error.strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else None
