"""Which files a local CIFAR-10/100 copy is, and where under a data root they are found.

No numpy, no torch: planning fingerprints these files and says what is missing before anything
runs; engine.data.cifar reads them.
"""

from __future__ import annotations

from pathlib import Path

LAYOUT = {
    # name: (folder, train files, test files, meta file, names key, labels key)
    "cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"],
                "batches.meta", "label_names", "labels"),
    "cifar100": ("cifar-100-python", ["train"], ["test"], "meta", "fine_label_names",
                 "fine_labels"),
}
ARCHIVE = {"cifar10": "cifar-10-python.tar.gz", "cifar100": "cifar-100-python.tar.gz"}


def _candidates(name: str, root: Path) -> list[Path]:
    folder = LAYOUT[name][0]
    return [root / folder, root / name / folder]


def folder(name: str, root) -> Path | None:
    """The folder holding the batches, or None."""
    for path in _candidates(name, Path(root)):
        if all((path / f).is_file() for f in files(name)):
            return path
    return None


def files(name: str) -> list[str]:
    _, train, test, meta, _, _ = LAYOUT[name]
    return [*train, *test, meta]


def missing(name: str, root) -> str | None:
    """A one-line message saying what to put where, or None when the data is there."""
    if folder(name, root) is not None:
        return None
    root = Path(root)
    want = root / LAYOUT[name][0]
    absent = [f for f in files(name) if not (want / f).is_file()]
    return (f"{name} not found: expected folder {want.resolve()} with {', '.join(absent)}; "
            f"download {ARCHIVE[name]} from https://www.cs.toronto.edu/~kriz/cifar.html and "
            f"extract it into {root.resolve()} (or point --data / $DSL_DATA at its parent)")
