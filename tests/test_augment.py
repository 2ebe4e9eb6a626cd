"""Online augmentation (engine.augment): fresh draws every batch, reproducible from the job seed,
the data engine's transforms on whole images, and it makes a model invariant."""

from __future__ import annotations

import os

import pytest
import torch

from dsl import catalog
from dsl.resolve import _transform
from engine import augment, train
from engine.augment import Augment
from engine.data.generation import generate
from engine.data.pairs import sensitivity_pairs
from engine.models import seeded_build
from engine.probes.sensitivity import sensitivity
from dsl.job_configs import TrainConfig
from dsl.spec import TrainSpec
from engine.train import Hyper, fit
from tests import synthetic
from tests.test_train import run_train

STANDARD = [_transform("hflip", {}), _transform("crop", {}, catalog.AUGMENT_OPS)]
ROTATE = [_transform("rotate", {})]


def hyper(**over) -> Hyper:
    """Training settings of [train]'s defaults (the spec's, the only place they are written)."""
    return Hyper.from_train_config(TrainConfig.from_spec(TrainSpec(task="t", **over), "class",
                                                         4, seed=0))


def batch(n=16, r=16, seed=0):
    return torch.from_numpy(synthetic.images(n, resolution=r, seed=seed)[0])


def test_every_batch_gets_new_draws_and_the_seed_reproduces_them():
    x = batch()
    aug = Augment(STANDARD + ROTATE, seed=3)
    outs = [aug(x, epoch, step) for epoch in range(3) for step in range(3)]
    assert all(o.shape == x.shape and o.dtype == torch.uint8 for o in outs)
    assert all(not torch.equal(o, x) for o in outs)
    # no two (epoch, step) see the same draws
    assert all(not torch.equal(a, b) for i, a in enumerate(outs) for b in outs[i + 1:])
    again = Augment(STANDARD + ROTATE, seed=3)
    assert all(torch.equal(o, again(x, e, s)) for o, (e, s) in
               zip(outs, [(e, s) for e in range(3) for s in range(3)]))
    assert not torch.equal(outs[0], Augment(STANDARD + ROTATE, seed=4)(x, 0, 0))


def test_standard_is_an_integer_shift_with_black_fill_and_maybe_a_flip():
    x = batch(32, r=16) | 1  # no black pixel in the input: black in the output is padding
    y = Augment(STANDARD, seed=0)(x, 0, 0)
    flipped = 0
    for a, b in zip(x, y):
        matches = [(dy, dx, f) for f in (0, 1) for dy in range(-4, 5) for dx in range(-4, 5)
                   if torch.equal(torch.roll(a.flip(-1) if f else a, (dy, dx), (1, 2))[:, 4:12, 4:12],
                                  b[:, 4:12, 4:12])]
        assert len(matches) == 1
        dy, dx, f = matches[0]
        flipped += f
        # exactly the uncovered rows and columns are black
        black = (b == 0).all(0)
        assert int(black.all(1).sum()) == abs(dy) and int(black.all(0).sum()) == abs(dx)
    assert 4 < flipped < 28


def test_fit_augments_each_step_once_with_its_epoch_and_step():
    seen = []

    def spy(x, epoch, step):
        seen.append((epoch, step))
        return x

    x, y = (torch.from_numpy(a) for a in synthetic.images(64))
    model = seeded_build({"arch": "small_cnn", "width": 0.25, "num_classes": 4}, 0)
    fit(model, x, y, x[:0], y[:0], hyper(epochs=2, batch_size=16), "cpu", augment=spy)
    assert seen == [(e, s) for e in range(2) for s in range(4)]


def test_the_same_augmented_job_twice_gives_the_same_weights(tmp_path):
    data = synthetic.dataset(tmp_path / "data", sizes=(128, 32, 32))
    tfs = STANDARD + [_transform("brightness", {})]
    runs = [run_train(tmp_path, data, name, epochs=1, augment=tfs)[1] for name in ("a", "b")]
    _, plain, _ = run_train(tmp_path, data, "plain", epochs=1)
    a, b, c = (torch.load(r / "model.pt", weights_only=True) for r in (*runs, plain))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["head.weight"], c["head.weight"])  # augmentation did change training


def test_from_config_is_none_without_augment():
    assert augment.from_config({"seed": 0}) is None
    assert augment.from_config({"seed": 0, "augment": []}) is None
    assert augment.from_config({"seed": 0, "augment": ROTATE})


def test_online_rotation_makes_a_model_less_sensitive_to_rotation():
    # Objects centred on black, so rotating the whole image rotates the object about its centre,
    # as the data engine's rotate does; sensitivity (Eq. 1) on fresh test images.
    cfg = {"kind": "transforms2d", "objects": ["apple", "car", "key", "dog"], "transforms": [],
           "resolution": 16, "backgrounds": "none"}
    x, labels = generate(cfg, "train", range(256), 0)
    pairs = sensitivity_pairs(cfg, {"transforms": ROTATE}, 256, 0)
    values = []
    for aug in (None, Augment(ROTATE, seed=0)):
        model = seeded_build({"arch": "small_cnn", "width": 0.25, "num_classes": 4}, 0)
        fit(model, x, labels["class"], x[:0], labels["class"][:0],
            hyper(lr=3e-3, epochs=3, batch_size=64), "cpu", augment=aug)
        values.append(sensitivity(model, *pairs)["sensitivity"])
    plain, augmented = values
    assert augmented < 0.85 * plain, values


def test_finetune_job_reads_augment(tmp_path, monkeypatch):
    from engine.jobs import Input, RunContext
    from engine.probes import finetune

    data = synthetic.dataset(tmp_path / "data", sizes=(64, 16, 16))
    _, model_dir, _ = run_train(tmp_path, data, "src", epochs=1)
    calls = []
    real = train.fit

    def spy(*args, augment=None, **kw):
        calls.append(augment)
        return real(*args, augment=augment, **kw)

    monkeypatch.setattr(finetune, "fit", spy)
    base = {"model": {"arch": "small_cnn", "width": 0.5, "num_classes": 4}, "label": "class",
            "n_train": 32, "linear": {"label": "class", "epochs": 2, "lr": 1e-3,
                                      "batch_size": 32, "weight_decay": 0.0, "n_train": 32,
                                      "seed": 0},
            "epochs": 1, "lr": 1e-4, "batch_size": 16, "optimizer": "adam", "weight_decay": 0.0,
            "schedule": {"name": "linear", "warmup_epochs": 0, "final_lr": 0.0}, "seed": 0}
    inputs = {"model": Input("train-x", "train", {"model": base["model"]}, model_dir),
              "data": Input("dataset-x", "dataset", {}, data)}
    for name, cfg in (("f0", base), ("f1", {**base, "augment": STANDARD})):
        (tmp_path / name).mkdir()
        finetune.run(cfg, inputs, tmp_path / name, RunContext(device="cpu"))
    assert calls[0] is None and isinstance(calls[1], Augment)


GPU = os.environ.get("DSL_TEST_DEVICE") or ("cuda" if torch.cuda.is_available() else None)


@pytest.mark.skipif(GPU is None, reason="no CUDA device (DSL_TEST_DEVICE unset)")
def test_the_gpu_augments_a_batch_as_the_cpu_does():
    """The draws are counter-based hashes, so a batch gets the same transforms on either device
    (pixels up to float rounding); run by benchmarks/device.sh with tests/test_gpu.py."""
    x = batch(256, r=32)
    tfs = STANDARD + [_transform(n, {}) for n in ("translate", "rotate", "scale", "hue")]
    cpu = Augment(tfs, seed=1)(x, 2, 5)
    gpu = Augment(tfs, seed=1)(x.to(GPU), 2, 5)
    assert gpu.device.type == torch.device(GPU).type
    diff = (cpu.int() - gpu.cpu().int()).abs()
    assert (diff > 1).float().mean().item() < 1e-3
