"""Tiny synthetic datasets written as real artifact folders, for the engine's CPU tests.

Each class is one fixed random colour pattern pasted at a random place on a dark noisy
background: learnable in a few epochs by a tiny CNN, yet not solvable from one pixel. An optional
colour inversion (per sample, probability `invert_p`) is the "transform" a model can be trained
to be invariant to.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.data import artifact


def patterns(num_classes: int, size: int) -> np.ndarray:
    """The fixed class patterns, uint8 [C, 3, size, size], the same in every dataset."""
    return np.random.default_rng(1234).integers(0, 256, (num_classes, 3, size, size), dtype=np.uint8)


def images(n: int, num_classes: int = 4, resolution: int = 16, seed: int = 0,
           invert_p: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = resolution // 2
    pats = patterns(num_classes, p)
    labels = rng.integers(0, num_classes, n)
    x = rng.integers(0, 60, (n, 3, resolution, resolution), dtype=np.uint8)
    for i, c in enumerate(labels):
        r, s = rng.integers(0, resolution - p + 1, 2)
        x[i, :, r:r + p, s:s + p] = pats[c]
    flip = rng.random(n) < invert_p
    x[flip] = 255 - x[flip]
    return x, labels.astype(np.int64)


def dataset(path: Path, sizes=(256, 64, 64), num_classes: int = 4, resolution: int = 16,
            seed: int = 0, invert_p: float = 0.0) -> Path:
    """Write an artifact folder with train/val/test splits and label `class`; return its path."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    splits = {}
    for k, (name, n) in enumerate(zip(artifact.SPLITS, sizes)):
        x, y = images(n, num_classes, resolution, seed * 10 + k, invert_p)
        splits[name] = artifact.Split(x, {"class": y})
    meta = {"class": {"num_classes": num_classes, "names": [f"c{i}" for i in range(num_classes)]}}
    artifact.save(path, splits, meta)
    return path
