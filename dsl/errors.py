"""Errors a person can act on: every problem names file, line, field path and a fix.

`DslError` is what the command line prints without a traceback (exit code 2). `SpecError` carries
every problem found in one validation pass, so a user fixes them all at once.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable


class DslError(Exception):
    """An error for the user, not a bug: printed as its message, never as a traceback."""


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    path: str  # dotted field path, e.g. "draw.target_transforms"
    message: str
    suggestion: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where} ({self.path}): {self.message}" if self.path else f"{where}: {self.message}"
        if self.suggestion:
            text += f"; {self.suggestion}"
        return text


class SpecError(DslError):
    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class DataMissing(DslError):
    """A dataset that must be provided locally (CIFAR, a folder) is not there."""


class Diverged(DslError):
    """A training or probe whose loss, features or weights stopped being usable numbers
    (engine.divergence). Here, not there, so that the driver, which never imports torch,
    prints a worker's divergence as its message alone."""


def did_you_mean(name: str, choices: Iterable[str]) -> str | None:
    """'did you mean 'rotate'?' for the closest valid name, or None when nothing is close."""
    choices = [str(c) for c in choices]
    same = [c for c in choices if c.lower() == str(name).lower()]  # 'SGD' -> 'sgd'
    match = same or difflib.get_close_matches(str(name), choices, n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'?" if match else None
