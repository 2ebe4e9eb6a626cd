"""CIFAR-10/100 from a local folder in the layout torchvision's downloader leaves behind.

The batches are read directly (python pickles: `data` uint8 [N, 3072], `labels` or
`fine_labels`) instead of through torchvision.datasets, whose md5 check rejects any other copy of
the files, e.g. the small fixtures tests make. Nothing is ever downloaded: a missing folder is a
DataMissing error that says exactly what to put where.
"""

from __future__ import annotations

import functools
import pickle
from pathlib import Path

import numpy as np

from dsl.errors import DataMissing

_LAYOUT = {
    # name: (folder, train files, test files, meta file, names key, labels key)
    "cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"],
                "batches.meta", "label_names", "labels"),
    "cifar100": ("cifar-100-python", ["train"], ["test"], "meta", "fine_label_names",
                 "fine_labels"),
}
_ARCHIVE = {"cifar10": "cifar-10-python.tar.gz", "cifar100": "cifar-100-python.tar.gz"}


def _candidates(name: str, root: Path) -> list[Path]:
    folder = _LAYOUT[name][0]
    return [root / folder, root / name / folder]


def folder(name: str, root) -> Path | None:
    """The folder holding the batches, or None."""
    for path in _candidates(name, Path(root)):
        if all((path / f).is_file() for f in files(name)):
            return path
    return None


def files(name: str) -> list[str]:
    _, train, test, meta, _, _ = _LAYOUT[name]
    return [*train, *test, meta]


def missing(name: str, root) -> str | None:
    """A one-line message saying what to put where, or None when the data is there."""
    if folder(name, root) is not None:
        return None
    root = Path(root)
    want = root / _LAYOUT[name][0]
    absent = [f for f in files(name) if not (want / f).is_file()]
    return (f"{name} not found: expected folder {want.resolve()} with {', '.join(absent)}; "
            f"download {_ARCHIVE[name]} from https://www.cs.toronto.edu/~kriz/cifar.html and "
            f"extract it into {root.resolve()} (or point --data / $DSL_DATA at its parent)")


def _unpickle(path: Path) -> dict:
    with open(path, "rb") as f:
        return pickle.load(f, encoding="latin1")


@functools.lru_cache(maxsize=4)
def load(name: str, root: str) -> dict:
    """{"train": (x uint8 [N,3,32,32], y int64 [N]), "test": (...), "names": [...]}."""
    path = folder(name, root)
    if path is None:
        raise DataMissing(missing(name, root))
    _, train, test, meta, names_key, labels_key = _LAYOUT[name]
    out = {}
    for split, files in (("train", train), ("test", test)):
        batches = [_unpickle(path / f) for f in files]
        x = np.concatenate([np.asarray(b["data"], np.uint8) for b in batches])
        y = np.concatenate([np.asarray(b[labels_key], np.int64) for b in batches])
        out[split] = (x.reshape(-1, 3, 32, 32), y)
    out["names"] = list(_unpickle(path / meta)[names_key])
    return out
