"""CIFAR-10/100 from a local folder in the layout torchvision's downloader leaves behind.

The batches are read directly (python pickles: `data` uint8 [N, 3072], `labels` or
`fine_labels`) instead of through torchvision.datasets, whose md5 check rejects any other copy of
the files, e.g. the small fixtures tests make. Nothing is ever downloaded: a missing folder is a
DataMissing error that says exactly what to put where, and so is a damaged file (truncated, or not
a CIFAR batch), named.
"""

from __future__ import annotations

import functools
import pickle
from pathlib import Path

import numpy as np

from dsl.cifar_files import ARCHIVE as _ARCHIVE, LAYOUT as _LAYOUT, folder, missing
from dsl.errors import DataMissing


def damaged(name: str, root, path: Path, reason: str) -> str:
    """A one-line message naming a CIFAR file that cannot be read, and how to get a good copy."""
    root = Path(root)
    return (f"{name} file {path.resolve()} is damaged ({reason}); download {_ARCHIVE[name]} "
            f"from https://www.cs.toronto.edu/~kriz/cifar.html and extract it into "
            f"{root.resolve()} again, replacing {path.parent.resolve()} (or point --data / "
            f"$DSL_DATA at the parent of a good copy)")


def _unpickle(path: Path, name: str, root) -> dict:
    try:
        with open(path, "rb") as f:
            out = pickle.load(f, encoding="latin1")
    except Exception as err:  # noqa: BLE001 - bad bytes raise UnpicklingError, EOFError, ...
        raise DataMissing(damaged(name, root, path, f"{type(err).__name__}: {err}")) from err
    if not isinstance(out, dict):
        raise DataMissing(damaged(name, root, path, f"a {type(out).__name__}, not a CIFAR batch"))
    return out


def _batch(path: Path, name: str, root, labels_key: str) -> tuple[np.ndarray, np.ndarray]:
    """(x uint8 [N, 3072], y int64 [N]) of one batch file, checked."""
    b = _unpickle(path, name, root)
    try:
        x = np.asarray(b["data"], np.uint8)
        y = np.asarray(b[labels_key], np.int64)
    except KeyError as err:
        raise DataMissing(damaged(name, root, path, f"no '{err.args[0]}' entry")) from err
    except (ValueError, TypeError) as err:
        raise DataMissing(damaged(name, root, path, f"{type(err).__name__}: {err}")) from err
    if x.ndim != 2 or x.shape[1] != 3 * 32 * 32 or y.shape != (len(x),):
        raise DataMissing(damaged(name, root, path, f"data of shape {x.shape} with "
                                  f"{y.size} labels, expected [N, 3072] with N labels"))
    return x, y


@functools.lru_cache(maxsize=4)
def load(name: str, root: str) -> dict:
    """{"train": (x uint8 [N,3,32,32], y int64 [N]), "test": (...), "names": [...]}."""
    path = folder(name, root)
    if path is None:
        raise DataMissing(missing(name, root))
    _, train, test, meta, names_key, labels_key = _LAYOUT[name]
    out = {}
    for split, files in (("train", train), ("test", test)):
        batches = [_batch(path / f, name, root, labels_key) for f in files]
        x = np.concatenate([x for x, _ in batches])
        y = np.concatenate([y for _, y in batches])
        out[split] = (x.reshape(-1, 3, 32, 32), y)
    meta_dict = _unpickle(path / meta, name, root)
    if names_key not in meta_dict:
        raise DataMissing(damaged(name, root, path / meta, f"no '{names_key}'"))
    out["names"] = list(meta_dict[names_key])
    return out
