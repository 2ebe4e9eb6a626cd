"""`image_folder` datasets: `path/<class>/*.jpg`, or `path/train/<class>/...` + `path/test/...`.

Images are centre-cropped to a square and resized to the resolution once, then held as uint8
like CIFAR. Without a `test/` folder, a fixed fifth of each class (chosen by hashing the file
name, so it never moves when files are added) is the test split.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

from dsl.errors import DataMissing, did_you_mean
from engine.data.backgrounds import _square_crop
from engine.data.local_files import image_files


def _class_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir())


def _read(files: list[Path], resolution: int) -> np.ndarray:
    out = np.empty((len(files), 3, resolution, resolution), np.uint8)
    for i, f in enumerate(files):
        im = _square_crop(Image.open(f).convert("RGB"))
        out[i] = np.asarray(im.resize((resolution, resolution), Image.Resampling.BICUBIC,
                                      reducing_gap=2.0)).transpose(2, 0, 1)
    return out


def _is_test(path: Path) -> bool:
    return hashlib.sha256(path.name.encode()).digest()[0] < 256 // 5


@functools.lru_cache(maxsize=4)
def load(path: str, resolution: int, classes: tuple[str, ...] | None) -> dict:
    """{"train": (x, y), "test": (x, y), "names": [...]} with y the position in `names`."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataMissing(f"image folder {root} does not exist: it should hold one sub-folder "
                          "of images per class (or train/ and test/ folders of those)")
    split_roots = {"train": root / "train", "test": root / "test"}
    has_splits = split_roots["train"].is_dir() and split_roots["test"].is_dir()
    base = split_roots["train"] if has_splits else root
    available = [p.name for p in _class_dirs(base)]
    names = list(classes) if classes else available
    for name in names:
        if name not in available:
            hint = did_you_mean(name, available)
            raise DataMissing(f"class folder {base / name} does not exist"
                              + (f"; {hint}" if hint else ""))
    files = {"train": [], "test": []}
    for c, name in enumerate(names):
        if has_splits:
            for split in files:
                files[split] += [(f, c) for f in image_files(split_roots[split] / name)]
        else:
            for f in image_files(base / name):
                files["test" if _is_test(f) else "train"].append((f, c))
    out = {"names": names}
    for split, items in files.items():
        if not items:
            raise DataMissing(f"no images for the {split} split under {root}")
        out[split] = (_read([f for f, _ in items], resolution),
                      np.array([c for _, c in items], np.int64))
    return out
