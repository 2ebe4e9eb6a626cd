"""Small CIFAR-10/100 stand-ins in torchvision's on-disk layout, for CI and tests.

CIFAR cannot be downloaded in CI (no network) nor shipped (licence, size), yet four of the paper's
specs need it. These fixtures are written in exactly the pickle layout `engine.data.cifar` reads
(`cifar-10-batches-py/data_batch_1..5, test_batch, batches.meta` and `cifar-100-python/train,
test, meta`), so the real code path runs end to end. The images carry a learnable class signal
(a class colour plus an oriented grating, under per-image noise and phase), so a smoke run's
accuracies are above chance and a broken pipeline shows up as chance level, not as nothing.

Tests may trace samples: pixel (channel 0, row 0, column 0) of each image holds its index within
its split, modulo 256.

    python3 -m engine.data.fixtures DIR     # writes both into DIR (point --data / $DSL_DATA at it)
"""

from __future__ import annotations

import argparse
import colorsys
import pickle
from pathlib import Path

import numpy as np

# name: (folder, classes, train files, test file, meta file, names key, labels key)
_LAYOUT = {
    "cifar10": ("cifar-10-batches-py", 10, [f"data_batch_{i}" for i in range(1, 6)], "test_batch",
                "batches.meta", "label_names", "labels"),
    "cifar100": ("cifar-100-python", 100, ["train"], "test", "meta", "fine_label_names",
                 "fine_labels"),
}
_SIDE = 32


def class_images(labels: np.ndarray, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """uint8 [N, 3072] (CIFAR's row layout: all red, then green, then blue), one per label.

    Two cues per class so the signal survives the paper's transforms: a colour (lost under
    grayscale/invert, kept under geometric ones) and a grating whose orientation and frequency
    depend on the class (kept under colour changes, bent but not erased by geometry).
    """
    n = len(labels)
    yy, xx = np.mgrid[0:_SIDE, 0:_SIDE].astype(np.float32) / _SIDE
    golden = 0.6180339887
    hue = (labels * golden) % 1.0
    colour = np.array([colorsys.hsv_to_rgb(h, 0.8, 0.9) for h in hue], np.float32).reshape(n, 3)
    angle = np.pi * labels / n_classes
    freq = 2.0 + (labels * 7 % 5)
    phase = rng.uniform(0, 2 * np.pi, n)
    proj = (np.cos(angle)[:, None, None] * xx + np.sin(angle)[:, None, None] * yy)
    grating = 0.5 + 0.5 * np.sin(2 * np.pi * freq[:, None, None] * proj + phase[:, None, None])
    img = 0.55 * colour[:, :, None, None] * grating[:, None] + 0.25 * grating[:, None]
    img = img + rng.normal(0, 0.08, img.shape).astype(np.float32)
    out = (np.clip(img, 0, 1) * 255).astype(np.uint8)
    out[:, 0, 0, 0] = np.arange(n) % 256
    return out.reshape(n, 3 * _SIDE * _SIDE)


def _labels(n: int, n_classes: int, rng: np.random.Generator, shuffle: bool) -> np.ndarray:
    """Balanced labels (every class within one of the others); the train split shuffled as
    CIFAR's is, the test split in class order so small tests see every class early."""
    labels = np.arange(n) % n_classes
    return rng.permutation(labels) if shuffle else labels


def _dump(path: Path, obj: dict) -> None:
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def write_cifar(root, name: str, n_train: int = 2000, n_test: int = 500, seed: int = 0) -> Path:
    """Write the `name` ("cifar10" | "cifar100") fixture under `root`; returns its folder.

    CIFAR-10's train split is spread over its five batch files as in the real data (n_train
    need not divide by five). Existing files are overwritten.
    """
    if name not in _LAYOUT:
        raise ValueError(f"unknown CIFAR fixture {name!r}: use one of {sorted(_LAYOUT)}")
    folder_name, n_classes, train_files, test_file, meta_file, names_key, labels_key = _LAYOUT[name]
    folder = Path(root) / folder_name
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, n_classes])
    y_train = _labels(n_train, n_classes, rng, shuffle=True)
    y_test = _labels(n_test, n_classes, rng, shuffle=False)
    x_train = class_images(y_train, n_classes, rng)
    x_test = class_images(y_test, n_classes, rng)

    def batch(x, y, title):
        entry = {"batch_label": title, "data": x, labels_key: [int(v) for v in y],
                 "filenames": [f"fixture_{i:06d}.png" for i in range(len(y))]}
        if name == "cifar100":
            entry["coarse_labels"] = [int(v) // 5 for v in y]
        return entry

    for i, chunk in enumerate(np.array_split(np.arange(n_train), len(train_files))):
        _dump(folder / train_files[i], batch(x_train[chunk], y_train[chunk],
                                             f"training batch {i + 1} of {len(train_files)}"))
    _dump(folder / test_file, batch(x_test, y_test, "testing batch 1 of 1"))
    meta = {names_key: [f"c{i}" for i in range(n_classes)]}
    if name == "cifar100":
        meta["coarse_label_names"] = [f"g{i}" for i in range(n_classes // 5)]
    _dump(folder / meta_file, meta)
    return folder


def write_all(root, n_train: int = 2000, n_test: int = 500, seed: int = 0) -> Path:
    """Both fixtures under `root` (CIFAR-100 with twice the samples: 50 of its 100 classes
    still need a few examples each after a spec draws them)."""
    write_cifar(root, "cifar10", n_train, n_test, seed)
    write_cifar(root, "cifar100", 2 * n_train, 2 * n_test, seed)
    return Path(root)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m engine.data.fixtures",
                                description="write small CIFAR-10/100 stand-ins into DIR")
    p.add_argument("dir", help="data folder (then use --data DIR or DSL_DATA=DIR)")
    p.add_argument("--n-train", type=int, default=2000)
    p.add_argument("--n-test", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    root = write_all(args.dir, args.n_train, args.n_test, args.seed)
    print(f"wrote CIFAR-10/100 fixtures into {root.resolve()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
