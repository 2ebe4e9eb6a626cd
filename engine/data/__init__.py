"""Datasets: generated (Transforms-2D, random patterns, composites) and local (CIFAR, folders).

Public: `generate` (pixels for sample indices of a split) and `sensitivity_pairs` (Eq. 1 pairs).
They load lazily, so `engine.data.artifact` can be imported without torch.
"""

from __future__ import annotations

import importlib

_API = {"generate": "engine.data.generation:generate",
        "sensitivity_pairs": "engine.data.pairs:sensitivity_pairs"}

__all__ = sorted(_API)


def __getattr__(name):
    if name not in _API:
        raise AttributeError(f"module 'engine.data' has no attribute {name!r}")
    module, attr = _API[name].split(":")
    return getattr(importlib.import_module(module), attr)
