"""The on-disk form of a materialised dataset (and of cached features): plain .npy files.

`{split}_images.npy` uint8 [N,3,H,W] (or `{split}_features.npy` float32 [N,D]), one
`{split}_{label}.npy` int64 [N] per label, and `meta.json`. .npy loads without pickle, memory-maps,
and is readable from any language; that is why it is used instead of torch.save here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

SPLITS = ("train", "val", "test")


@dataclass
class Split:
    """One split: the array (images or features) and every label array, on CPU, as numpy."""

    x: np.ndarray
    labels: dict[str, np.ndarray]

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass
class Arrays:
    splits: dict[str, Split]
    meta: dict

    def num_classes(self, label: str) -> int:
        return int(self.meta["labels"][label]["num_classes"])

    def names(self, label: str) -> list[str]:
        return list(self.meta["labels"][label].get("names", []))


def save(out_dir: Path, splits: Mapping[str, Split], labels_meta: Mapping[str, dict],
         array_name: str = "images", extra_meta: Mapping | None = None) -> None:
    """Write every split's array and labels plus meta.json into `out_dir` (which must exist)."""
    out_dir = Path(out_dir)
    for split, data in splits.items():
        np.save(out_dir / f"{split}_{array_name}.npy", np.ascontiguousarray(data.x))
        for label, values in data.labels.items():
            np.save(out_dir / f"{split}_{label}.npy", np.asarray(values, dtype=np.int64))
    meta = {"labels": dict(labels_meta), "sizes": {s: len(d) for s, d in splits.items()},
            "array": array_name, **(extra_meta or {})}
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True))


def load(path: Path, *, mmap: bool = True) -> Arrays:
    """Read a dataset or features artifact; arrays are memory-mapped unless `mmap=False`."""
    path = Path(path)
    meta = json.loads((path / "meta.json").read_text())
    array_name = meta.get("array", "images")
    mode = "r" if mmap else None
    splits = {}
    for split in meta["sizes"]:
        x = np.load(path / f"{split}_{array_name}.npy", mmap_mode=mode, allow_pickle=False)
        labels = {label: np.load(path / f"{split}_{label}.npy", allow_pickle=False)
                  for label in meta["labels"]}
        splits[split] = Split(x, labels)
    return Arrays(splits, meta)
