"""CIFAR from a local folder (a tiny fixture in torchvision's layout) and image folders."""

import numpy as np
import pytest
import torch
from PIL import Image

from dsl.errors import DataMissing, DslError
from engine.data import cifar, generate
from engine.data.fixtures import write_all, write_cifar
from engine.data.job import run
from engine.jobs import RunContext


def write_cifar10(root, n_train=60, n_test=10):
    # pixel (0, 0, 0) of each image holds its index in its split, so tests can trace samples
    write_cifar(root, "cifar10", n_train=n_train, n_test=n_test)
    return root


def cfg(classes=None, transforms=()):
    return {"kind": "cifar10", "classes": classes, "resolution": 32,
            "transforms": [{"name": t, "params": {}} for t in transforms]}


def test_missing_cifar_says_where_to_put_it(tmp_path):
    msg = cifar.missing("cifar10", tmp_path)
    assert msg and "cifar-10-batches-py" in msg and str(tmp_path.resolve()) in msg
    with pytest.raises(DataMissing, match="cifar-10-batches-py"):
        generate(cfg(), "test", [0], 0, data_root=tmp_path)


def test_cifar_fixture_splits_classes_and_augmentation(tmp_path):
    root = write_cifar10(tmp_path)
    assert cifar.missing("cifar10", root) is None
    sizes = {"train": None, "val": 6, "test": None}
    out = tmp_path / "out"
    out.mkdir()
    run({"data": cfg(), "sizes": sizes, "seed": 0}, {}, out, RunContext(device="cpu",
                                                                      data_root=root))
    from engine.data import artifact

    arrays = artifact.load(out)
    assert {s: len(d) for s, d in arrays.splits.items()} == {"train": 54, "val": 6, "test": 10}
    train_ids = set(arrays.splits["train"].x[:, 0, 0, 0].tolist())
    val_ids = set(arrays.splits["val"].x[:, 0, 0, 0].tolist())
    assert not train_ids & val_ids and len(train_ids | val_ids) == 60  # val carved from train
    assert arrays.names("class")[:2] == ["c0", "c1"]

    x, y = generate(cfg(classes=[3, 7]), "test", [0, 1], 0, data_root=root, sizes=sizes)
    assert set(y["class"].tolist()) == {0, 1}  # remapped to positions in `classes`
    plain, _ = generate(cfg(), "train", np.arange(8), 0, data_root=root, sizes=sizes)
    aug, _ = generate(cfg(transforms=["hflip"]), "train", np.arange(8), 0, data_root=root,
                      sizes=sizes)
    flipped = [torch.equal(a, p.flip(-1)) for a, p in zip(aug, plain)]
    same = [torch.equal(a, p) for a, p in zip(aug, plain)]
    assert all(f or s for f, s in zip(flipped, same)) and any(flipped)
    with pytest.raises(DslError):
        generate(cfg(), "test", [10], 0, data_root=root)


def test_image_folder(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("cats", "dogs"):
        (tmp_path / name).mkdir()
        for i in range(12):
            Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(
                tmp_path / name / f"{i}.png")
    data = {"kind": "image_folder", "path": str(tmp_path), "classes": None, "transforms": [],
            "resolution": 16}
    x, y = generate(data, "train", np.arange(4), 0, sizes={"val": 2})
    assert x.shape == (4, 3, 16, 16) and set(y["class"].tolist()) <= {0, 1}
    with pytest.raises(DataMissing, match="did you mean"):
        generate(dict(data, classes=["cat"]), "train", [0], 0)


def test_fixture_writer_makes_both_layouts_with_a_learnable_signal(tmp_path):
    """`python3 -m engine.data.fixtures DIR` stands in for CIFAR in CI: both datasets load through
    the real reader, every class is present, and a nearest-class-mean classifier on raw pixels
    beats chance by far (so a smoke run that learns nothing shows up as chance level)."""
    from engine.data.fixtures import main

    assert main([str(tmp_path), "--n-train", "400", "--n-test", "100"]) == 0
    for name, n_classes in (("cifar10", 10), ("cifar100", 100)):
        assert cifar.missing(name, tmp_path) is None
        data = {"kind": name, "classes": None, "resolution": 32, "transforms": []}
        sizes = {"train": None, "val": 0, "test": None}
        n_train = 400 if name == "cifar10" else 800
        xtr, ytr = generate(data, "train", np.arange(n_train), 0, data_root=tmp_path, sizes=sizes)
        xte, yte = generate(data, "test", np.arange(n_train // 4), 0, data_root=tmp_path,
                            sizes=sizes)
        assert set(ytr["class"].tolist()) == set(range(n_classes))
        f = lambda x: x.float().flatten(1)  # noqa: E731
        means = torch.stack([f(xtr)[ytr["class"] == c].mean(0) for c in range(n_classes)])
        pred = torch.cdist(f(xte), means).argmin(1)
        assert (pred == yte["class"]).float().mean() > 5 / n_classes
    assert write_all(tmp_path / "again", 50, 10) == tmp_path / "again"
