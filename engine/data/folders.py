"""`image_folder` datasets: `path/<class>/*.jpg`, or `path/train/<class>/...` + `path/test/...`.

Images are centre-cropped to a square and resized to the resolution once, then held as uint8
like CIFAR. Without a `test/` folder, a fixed fifth of each class (chosen by hashing the file
name, so it never moves when files are added) is the test split.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from PIL import Image

from dsl.errors import DataMissing
from engine.data.images import open_image, square_crop
from dsl.local_files import folder_pools


def _read(files: list[Path], resolution: int) -> np.ndarray:
    out = np.empty((len(files), 3, resolution, resolution), np.uint8)
    for i, f in enumerate(files):
        im = square_crop(open_image(f, "RGB"))
        out[i] = np.asarray(im.resize((resolution, resolution), Image.Resampling.BICUBIC,
                                      reducing_gap=2.0)).transpose(2, 0, 1)
    return out


@functools.lru_cache(maxsize=4)
def load(path: str, resolution: int, classes: tuple[str, ...] | None) -> dict:
    """{"train": (x, y), "test": (x, y), "names": [...]} with y the position in `names`."""
    root = Path(path).expanduser()
    names, files = folder_pools(root, classes)
    out = {"names": names}
    for split, items in files.items():
        if not items:
            raise DataMissing(f"no images for the {split} split under {root}")
        out[split] = (_read([f for f, _ in items], resolution),
                      np.array([c for _, c in items], np.int64))
    return out
