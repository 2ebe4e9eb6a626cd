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


def _damage(folder, how):
    """Break one image of `folder` the way downloads and copies break them."""
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True, exist_ok=True)
    if how == "text":
        bad = folder / "notes.jpg"
        bad.write_text("not an image at all")
        return bad
    bad = folder / f"bad.{how}"
    Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(bad)
    data = bad.read_bytes()
    bad.write_bytes(data[:len(data) // 2])
    return bad


@pytest.mark.parametrize("how", ["png", "jpg", "text"])
def test_a_broken_image_is_named_with_what_to_do(tmp_path, how):
    """A truncated PNG/JPEG, or a non-image with an image extension, in an image, foreground or
    background folder: the error names the file and says to remove or replace it (PIL's own
    errors name neither the file nor a fix)."""
    from engine.data import backgrounds, objects

    rng = np.random.default_rng(0)
    images = tmp_path / "images"
    for name in ("cats", "dogs"):
        (images / name).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(
                images / name / f"{i}.png")
    bad = _damage(images / "cats", how)
    data = {"kind": "image_folder", "path": str(images), "classes": None, "transforms": [],
            "resolution": 16}
    with pytest.raises(DataMissing) as err:
        generate(data, "train", np.arange(2), 0, sizes={"val": 1})
    assert str(bad) in str(err.value) and "remove it" in str(err.value)

    bad = _damage(tmp_path / "backgrounds", how)
    with pytest.raises(DataMissing) as err:
        backgrounds.from_folder(str(tmp_path / "backgrounds"), 16)
    assert str(bad) in str(err.value) and "replace it" in str(err.value)

    if how == "jpg":  # foreground folders read .png/.webp/.tif cut-outs only
        return
    fg = tmp_path / "foregrounds" / "apple"
    bad = _damage(fg, how)
    if how == "text":  # a .png that is not one
        bad = bad.rename(fg / "a.png")
    with pytest.raises(DataMissing) as err:
        objects.object_bank(str(tmp_path / "foregrounds"), ("apple",), 16, 0.7)
    assert str(bad) in str(err.value) and "remove it" in str(err.value)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "wrong_shape"])
def test_a_damaged_cifar_file_is_named_with_how_to_get_a_good_copy(tmp_path, damage):
    root = write_cifar10(tmp_path / "data")
    folder = root / "cifar-10-batches-py"
    bad = folder / "data_batch_2"
    if damage == "truncate":
        bad.write_bytes(bad.read_bytes()[:len(bad.read_bytes()) // 2])
    elif damage == "garbage":
        bad = folder / "batches.meta"
        bad.write_bytes(b"\x00not a pickle" * 10)
    else:
        import pickle

        with open(bad, "wb") as f:
            pickle.dump({"data": np.zeros((4, 100), np.uint8), "labels": [0] * 4}, f)
    with pytest.raises(DataMissing) as err:
        generate(cfg(), "test", [0], 0, data_root=root)
    msg = str(err.value)
    assert str(bad.resolve()) in msg and "damaged" in msg
    assert "cifar-10-python.tar.gz" in msg and str(root.resolve()) in msg


def test_cifar_val_size_order_and_pairs_follow_the_seed(tmp_path):
    """Val defaults to a tenth of the training pool; the carve order and the test images the
    sensitivity pairs draw are re-drawn per seed; asking for more than exists is an error."""
    from engine.data import sensitivity_pairs
    from engine.data.generation import build
    from engine.data.job import split_size

    root = write_cifar10(tmp_path, n_train=60, n_test=10)
    src = build(cfg(), 0, None, root)
    assert (src.size("train"), src.size("val"), src.size("test")) == (54, 6, 10)
    ids = {seed: generate(cfg(), "train", np.arange(54), seed, data_root=root)[0][:, 0, 0, 0]
           for seed in (0, 1)}
    assert not torch.equal(ids[0], ids[1])
    assert split_size(src, "test", 10) == 10
    with pytest.raises(DslError, match="11 samples asked for, only 10 exist"):
        split_size(src, "test", 11)
    vary = {"transforms": [{"name": "hflip", "params": {"p": 0.0}}]}  # pixels kept as stored
    a = sensitivity_pairs(cfg(), vary, 8, 0, data_root=root)
    b = sensitivity_pairs(cfg(), vary, 8, 1, data_root=root)
    assert not torch.equal(a.x1[:, 0, 0, 0], b.x1[:, 0, 0, 0])  # other test images per seed
    assert not torch.equal(a.index, b.index)
    # 8 draws from 10 test images: the index says which image each pair shows
    assert ((a.index >= 0) & (a.index < 10)).all()
    assert torch.equal(a.x1, generate(cfg(), "test", a.index.numpy(), 0, data_root=root)[0])
