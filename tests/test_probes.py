"""Probes: cached-feature linear probes, fine-tuning, Eq. 1 sensitivity, the source head's accuracy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from dsl.errors import DslError
from engine import device as dev
from engine import features, train
from engine.data import artifact
from engine.jobs import Input, RunContext
from engine.models import load_frozen, load_trained, seeded_build
from engine.probes import accuracy, finetune, linear
from engine.probes.sensitivity import sensitivity
from tests import synthetic

CPU = RunContext(device="cpu")
MODEL = {"arch": "small_cnn", "width": 0.5, "num_classes": 4}
LINEAR = {"label": "class", "epochs": 15, "lr": 0.01, "batch_size": 32, "weight_decay": 0.0,
          "n_train": None, "seed": 0}


def trained(tmp_path, name, data, epochs=4, **over) -> Input:
    cfg = {"model": MODEL, "label": "class",
           "optimizer": {"name": "adam", "lr": 0.003, "weight_decay": 0.0, "momentum": 0.9},
           "schedule": {"name": "cosine", "warmup_epochs": 1, "final_lr": 0.0},
           "epochs": epochs, "batch_size": 64, "checkpoint": "last", "seed": 0, **over}
    out = tmp_path / name
    out.mkdir()
    train.run(cfg, {"data": Input("dataset-x", "dataset", {}, data)}, out, CPU)
    return Input(f"train-{name}", "train", cfg, out)


def untrained(tmp_path, seed=0) -> Input:
    """A seeded random model saved as a train artifact: enough where no learning is needed."""
    out = tmp_path / f"untrained{seed}"
    out.mkdir()
    cfg = {"model": MODEL, "seed": seed}
    torch.save(seeded_build(MODEL, seed).state_dict(), out / "model.pt")
    return Input(f"train-u{seed}", "train", cfg, out)


def as_metrics(ms):
    return {(m.name, m.split): m.value for m in ms}


def test_linear_probe_on_cached_features_equals_one_on_fresh_features(tmp_path):
    data = synthetic.dataset(tmp_path / "data", sizes=(128, 32, 64))
    model_in = untrained(tmp_path)
    (tmp_path / "feat").mkdir()
    features.run({"model": MODEL}, {"model": model_in, "data": Input("d", "dataset", {}, data)},
                 tmp_path / "feat", CPU)
    cached = artifact.load(tmp_path / "feat")
    assert cached.splits["train"].x.dtype == np.float32
    assert cached.splits["train"].x.shape == (128, 64)
    (tmp_path / "lin").mkdir()
    metrics = as_metrics(linear.run(LINEAR, {"features": Input("f", "features", {}, tmp_path / "feat")},
                                    tmp_path / "lin", CPU))
    assert set(metrics) == {(m, s) for m in ("accuracy", "loss") for s in ("train", "val", "test")}

    # The same probe on features computed right now, straight through the network (loaded as
    # the features job loads it: batch norms folded, which moves features by float rounding).
    model = load_frozen(model_in)
    images = artifact.load(data)
    with torch.no_grad():
        fresh = {s: model.features(dev.normalise(torch.from_numpy(np.array(images.splits[s].x))))
                 for s in ("train", "test")}
    labels = {s: torch.from_numpy(np.array(images.splits[s].labels["class"])) for s in fresh}
    head = linear.fit_linear(fresh["train"], labels["train"], 4, epochs=15, lr=0.01,
                             batch_size=32, seed=0)
    saved = torch.load(tmp_path / "lin" / "head.pt", weights_only=True)
    torch.testing.assert_close(saved["weight"], head.weight.detach(), atol=1e-4, rtol=1e-4)
    _, acc = linear.score(head, fresh["test"], labels["test"])
    assert acc == pytest.approx(metrics[("accuracy", "test")], abs=1 / 64 + 1e-9)


def test_linear_probe_uses_only_the_first_n_train_and_is_seeded(tmp_path):
    feats = tmp_path / "feat"
    feats.mkdir()
    rng = np.random.default_rng(0)
    splits = {s: artifact.Split(rng.normal(size=(n, 5)).astype(np.float32),
                                {"class": rng.integers(0, 3, n)}) for s, n in
              (("train", 50), ("val", 10), ("test", 10))}
    artifact.save(feats, splits, {"class": {"num_classes": 3}}, array_name="features")
    cfg = dict(LINEAR, n_train=7, epochs=3)
    heads = []
    for i, seed in enumerate((0, 0, 1)):
        out = tmp_path / f"l{i}"
        out.mkdir()
        linear.run(dict(cfg, seed=seed), {"features": Input("f", "features", {}, feats)}, out, CPU)
        heads.append(torch.load(out / "head.pt", weights_only=True)["weight"])
    assert torch.equal(heads[0], heads[1]) and not torch.equal(heads[0], heads[2])
    direct = linear.fit_linear(torch.from_numpy(splits["train"].x[:7]),
                               torch.from_numpy(splits["train"].labels["class"][:7]), 3,
                               epochs=3, lr=cfg["lr"], batch_size=cfg["batch_size"], seed=0)
    torch.testing.assert_close(heads[0], direct.weight.detach())


class Flatten(nn.Module):
    """f(x) = the normalised pixels: Eq. 1 then has a closed form to check against."""

    def features(self, x):
        return x.flatten(1)


def test_sensitivity_is_eq1_on_known_tensors():
    g = torch.Generator().manual_seed(0)
    x1 = torch.randint(0, 256, (20, 3, 4, 4), generator=g, dtype=torch.uint8)
    x2 = x1.clone()
    x2[:, 0] = 255 - x2[:, 0]  # vary the first channel only
    out = sensitivity(Flatten(), x1, x2, batch_size=7)
    f1, f2 = (dev.normalise(x).flatten(1).double() for x in (x1, x2))
    pair = (f1 - f2).norm(dim=1).mean().item()
    # the independent samples: x1[i] against x2[j] for every i != j, by hand
    independent = sum((f1[i] - f2[j]).norm().item() for i in range(20) for j in range(20)
                      if i != j) / (20 * 19)
    assert out["pair_distance"] == pytest.approx(pair, rel=1e-9)
    assert out["independent_distance"] == pytest.approx(independent, rel=1e-9)
    assert out["sensitivity"] == pytest.approx(pair / independent, rel=1e-9)
    assert sensitivity(Flatten(), x1, x1.clone())["sensitivity"] == 0.0
    with pytest.raises(DslError):
        sensitivity(Flatten(), x1, x2[:3])


def test_independent_pairs_are_of_two_different_samples():
    """Finite test splits draw samples with replacement: two pairs of one sample are the same
    image under two draws of the transform, not independent images, and must not be counted."""
    g = torch.Generator().manual_seed(1)
    x1 = torch.randint(0, 256, (6, 3, 4, 4), generator=g, dtype=torch.uint8)
    x2 = 255 - x1
    index = torch.tensor([4, 9, 4, 2, 9, 7])
    f1, f2 = (dev.normalise(x).flatten(1).double() for x in (x1, x2))
    others = [(i, j) for i in range(6) for j in range(6) if index[i] != index[j]]
    expected = sum((f1[i] - f2[j]).norm().item() for i, j in others) / len(others)
    out = sensitivity(Flatten(), x1, x2, index)
    assert out["independent_distance"] == pytest.approx(expected, rel=1e-9)
    assert out["independent_distance"] != pytest.approx(
        sensitivity(Flatten(), x1, x2)["independent_distance"], rel=1e-6)
    with pytest.raises(DslError, match="at least two different samples"):
        sensitivity(Flatten(), x1, x2, torch.full((6,), 3))
    with pytest.raises(DslError, match="index"):
        sensitivity(Flatten(), x1, x2, index[:4])


def test_independent_distance_in_row_blocks_equals_the_whole_matrix(monkeypatch):
    """Large `pairs` go through cdist a block of rows at a time; the mean must not change."""
    import engine.probes.sensitivity as module
    g = torch.Generator().manual_seed(2)
    f1, f2 = torch.randn(300, 8, generator=g).double(), torch.randn(300, 8, generator=g).double()
    index = torch.randint(0, 200, (300,), generator=g)
    whole = module._independent_distance(f1, f2, index)
    d = torch.cdist(f1, f2)
    assert whole == pytest.approx(d[index[:, None] != index[None, :]].mean().item(), rel=1e-12)
    real_cdist = torch.cdist
    rows = []
    monkeypatch.setattr(module.torch, "cdist", lambda a, b: rows.append(len(a)) or real_cdist(a, b))
    monkeypatch.setattr(module, "_BLOCK", 300 * 7)  # blocks of 7 rows
    assert module._independent_distance(f1, f2, index) == pytest.approx(whole, rel=1e-12)
    assert rows == [7] * 42 + [6]


def test_a_model_trained_with_a_transform_is_less_sensitive_to_it(tmp_path):
    # Same task, one model sees colour inversion in half its training images, the other never.
    plain = synthetic.dataset(tmp_path / "plain", sizes=(512, 64, 64), invert_p=0.0)
    inverted = synthetic.dataset(tmp_path / "inverted", sizes=(512, 64, 64), invert_p=0.5)
    invariant = load_trained(trained(tmp_path, "inv", inverted, epochs=6))
    ordinary = load_trained(trained(tmp_path, "ord", plain, epochs=6))
    x1 = torch.from_numpy(synthetic.images(256, seed=99)[0])
    x2 = 255 - x1
    s_inv = sensitivity(invariant, x1, x2)["sensitivity"]
    s_ord = sensitivity(ordinary, x1, x2)["sensitivity"]
    assert s_inv < 0.75 * s_ord, (s_inv, s_ord)


def test_finetune_reports_linear_and_finetuned_accuracy(tmp_path):
    data = synthetic.dataset(tmp_path / "data", sizes=(512, 64, 64))
    model_in = trained(tmp_path, "src", data, epochs=5)
    cfg = {"model": MODEL, "label": "class", "n_train": 40, "linear": LINEAR, "epochs": 3,
           "lr": 1e-4, "batch_size": 16, "optimizer": "adam", "weight_decay": 0.0,
           "schedule": {"name": "linear", "warmup_epochs": 0, "final_lr": 0.0}, "seed": 0}
    (tmp_path / "ft").mkdir()
    m = as_metrics(finetune.run(cfg, {"model": model_in, "data": Input("d", "dataset", {}, data)},
                                tmp_path / "ft", CPU))
    assert {("accuracy", "val"), ("accuracy", "test"), ("linear_accuracy", "test")} <= set(m)
    assert all(0.0 <= v <= 1.0 for (name, _), v in m.items() if "accuracy" in name)
    assert m[("linear_accuracy", "test")] > 0.5  # the source task is the target task here
    import json
    history = json.loads((tmp_path / "ft" / "history.json").read_text())
    # 40 samples in batches of 16: 2 full steps per epoch, and the lr reaches 0 at the last one
    assert history["steps_per_epoch"] == 2 and history["epochs"][-1]["lr"] == 0.0


def test_accuracy_probe_uses_the_source_head_and_checks_classes(tmp_path):
    data = synthetic.dataset(tmp_path / "data", sizes=(256, 64, 64))
    model_in = trained(tmp_path, "src", data, epochs=3)
    m = as_metrics(accuracy.run({"model": MODEL, "label": "class", "splits": ["val", "test"]},
                                {"model": model_in, "data": Input("d", "dataset", {}, data)},
                                tmp_path, CPU))
    assert set(m) == {("accuracy", "val"), ("accuracy", "test")}
    x, y = train.labelled(artifact.load(data), "test", "class")
    _, expected = train.evaluate(load_trained(model_in), torch.from_numpy(x), torch.from_numpy(y),
                                 torch.device("cpu"))
    assert m[("accuracy", "test")] == pytest.approx(expected)
    other = synthetic.dataset(tmp_path / "other", sizes=(8, 8, 8), num_classes=3)
    with pytest.raises(DslError, match="classes"):
        accuracy.run({"model": MODEL, "label": "class", "splits": ["test"]},
                     {"model": model_in, "data": Input("d", "dataset", {}, other)}, tmp_path, CPU)


def test_sensitivity_job_reports_eq1_of_the_pairs_it_is_given(tmp_path, monkeypatch):
    import engine.data
    from engine.probes import sensitivity as job

    seen = {}

    def pairs(data, vary, n, seed, device, data_root=None):
        seen.update(data=data, vary=vary, n=n, seed=seed)
        x1 = torch.from_numpy(synthetic.images(n, seed=seed)[0])
        return x1, 255 - x1, torch.arange(n) % 8  # 8 samples, each in 4 pairs

    # setitem on the module dict: the lazy engine.data.__getattr__ must not run for the fake
    monkeypatch.setitem(vars(engine.data), "sensitivity_pairs", pairs)
    model_in = untrained(tmp_path)
    cfg = {"model": MODEL, "data": {"kind": "solid"}, "vary": {"component": "foreground"},
           "pairs": 32, "seed": 5}
    m = as_metrics(job.run(cfg, {"model": model_in}, tmp_path, CPU))
    assert seen == {"data": {"kind": "solid"}, "vary": {"component": "foreground"}, "n": 32, "seed": 5}
    assert set(m) == {("sensitivity", None), ("pair_distance", None), ("independent_distance", None)}
    x1, x2, index = pairs(None, None, 32, 5, "cpu")
    expected = sensitivity(load_trained(model_in), x1, x2, index)
    assert m[("sensitivity", None)] == pytest.approx(expected["sensitivity"], rel=1e-5)
    assert m[("sensitivity", None)] == pytest.approx(
        m[("pair_distance", None)] / m[("independent_distance", None)])


def test_invariance_shows_in_sensitivity_on_transforms2d(tmp_path):
    """End to end with the data engine: train with and without `invert`, probe Eq. 1 on invert."""
    pytest.importorskip("engine.data.pairs")
    from engine.data import generate
    from engine.probes import sensitivity as job

    invert = {"name": "invert", "params": {"p": 0.5}}

    def data_config(transforms):
        return {"kind": "transforms2d", "objects": ["apple", "car", "dog", "key"],
                "transforms": transforms, "resolution": 16, "foregrounds": "openmoji",
                "backgrounds": "procedural", "object_size": 0.7}

    def materialise(name, cfg):
        out = tmp_path / name
        out.mkdir()
        splits = {}
        for split, n in (("train", 512), ("val", 64), ("test", 64)):
            x, labels = generate(cfg, split, range(n), seed=0)
            splits[split] = artifact.Split(x.numpy(), {"class": labels["class"].numpy()})
        artifact.save(out, splits, {"class": {"num_classes": 4}})
        return out

    invariant = trained(tmp_path, "inv", materialise("d_inv", data_config([invert])), epochs=6)
    ordinary = trained(tmp_path, "ord", materialise("d_ord", data_config([])), epochs=6)
    cfg = {"model": MODEL, "data": data_config([invert]), "vary": {"transforms": [invert]},
           "pairs": 256, "seed": 0}
    s = {name: as_metrics(job.run(cfg, {"model": m}, tmp_path, CPU))[("sensitivity", None)]
         for name, m in (("invariant", invariant), ("ordinary", ordinary))}
    assert s["invariant"] < s["ordinary"], s


def test_linear_probe_learns_from_tiny_offset_features():
    """Features of a narrow, briefly trained net can be tiny and offset; the probe must still
    find a separable signal (it standardises, then folds that into the returned head)."""
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(400) % 4
    centres = torch.randn(4, 16, generator=g)
    feats = 50.0 + 1e-3 * (centres[labels] + 0.3 * torch.randn(400, 16, generator=g))
    head = linear.fit_linear(feats, labels, 4, epochs=10, lr=0.01, batch_size=64, seed=0)
    _, acc = linear.score(head, feats, labels)  # the head takes raw features
    assert acc > 0.95


def test_a_feature_constant_on_the_training_set_gets_no_weight():
    """A ReLU channel silent on every training sample carries no label information; a weak
    activation of it on test images must not change the probe's predictions (it did when the
    standardisation divided that channel's random init weight by the clamped std)."""
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(4, 16, generator=g)

    def feats(labels, silent):
        x = centres[labels] + 0.3 * torch.randn(len(labels), 16, generator=g)
        return torch.cat([x, torch.full((len(labels), 1), silent)], 1)

    labels, test_labels = torch.arange(400) % 4, torch.arange(200) % 4
    head = linear.fit_linear(feats(labels, 0.0), labels, 4, epochs=20, lr=0.01, batch_size=64,
                             seed=0)
    assert torch.equal(head.weight[:, 16], torch.zeros(4))
    test = feats(test_labels, 0.05)
    _, acc = linear.score(head, test, test_labels)
    assert acc > 0.95


def _features_artifact(tmp_path, sizes=(("train", 50), ("val", 10), ("test", 10)), dim=5):
    feats = tmp_path / "feat"
    feats.mkdir()
    rng = np.random.default_rng(0)
    splits = {s: artifact.Split(rng.normal(size=(n, dim)).astype(np.float32),
                                {"class": rng.integers(0, 3, n)}) for s, n in sizes}
    artifact.save(feats, splits, {"class": {"num_classes": 3}}, array_name="features")
    return feats, splits


def test_linear_probe_trains_on_n_train_with_its_weight_decay_and_scores_whole_splits(tmp_path):
    feats, splits = _features_artifact(tmp_path)
    cfg = dict(LINEAR, n_train=7, epochs=3, weight_decay=0.5, seed=2)
    out = tmp_path / "lin"
    out.mkdir()
    m = as_metrics(linear.run(cfg, {"features": Input("f", "features", {}, feats)}, out, CPU))
    t = {s: (torch.from_numpy(sp.x), torch.from_numpy(sp.labels["class"])) for s, sp in splits.items()}
    head = linear.fit_linear(t["train"][0][:7], t["train"][1][:7], 3, epochs=3, lr=cfg["lr"],
                             batch_size=cfg["batch_size"], weight_decay=0.5, seed=2)
    torch.testing.assert_close(torch.load(out / "head.pt", weights_only=True)["weight"],
                               head.weight.detach())
    for split in ("val", "test"):  # n_train limits training only: every val/test sample scores
        loss, acc = linear.score(head, *t[split])
        assert m[("loss", split)] == pytest.approx(loss, rel=1e-5)
        assert m[("accuracy", split)] == pytest.approx(acc)
    assert m[("loss", "train")] == pytest.approx(linear.score(head, t["train"][0][:7],
                                                              t["train"][1][:7])[0], rel=1e-5)


def test_linear_probe_draws_its_batch_order_from_its_seed(monkeypatch):
    """Init and batch order both come from the seed: the order's generator is seeded with it."""
    seeds = []
    randperm = torch.randperm

    def spy(n, *args, generator=None, **kw):
        seeds.append(generator.initial_seed())
        return randperm(n, *args, generator=generator, **kw)

    monkeypatch.setattr(torch, "randperm", spy)
    feats = torch.randn(20, 4, generator=torch.Generator().manual_seed(0))
    linear.fit_linear(feats, torch.arange(20) % 2, 2, epochs=2, lr=0.01, batch_size=8, seed=11)
    assert seeds == [11, 11]


def test_finetune_is_a_probe_then_fit_with_the_job_s_own_settings(tmp_path):
    """finetune = fit_linear on the first n_train frozen features, that head put on the model,
    then `fit` with the config's optimizer, weight decay, schedule and seed: replayed by hand
    here, the numbers must agree exactly."""
    data = synthetic.dataset(tmp_path / "data", sizes=(64, 16, 24))
    model_in = untrained(tmp_path)
    lin = dict(LINEAR, epochs=4, seed=5)
    cfg = {"model": MODEL, "label": "class", "n_train": 24, "linear": lin, "epochs": 2,
           "lr": 0.01, "batch_size": 8, "optimizer": "sgd", "weight_decay": 0.05,
           "schedule": {"name": "cosine", "warmup_epochs": 1, "final_lr": 0.001}, "seed": 7}
    (tmp_path / "ft").mkdir()
    m = as_metrics(finetune.run(cfg, {"model": model_in, "data": Input("d", "dataset", {}, data)},
                                tmp_path / "ft", CPU))

    cpu = torch.device("cpu")
    arrays = artifact.load(data)
    x, y = (torch.from_numpy(a) for a in train.labelled(arrays, "train", "class", 24))
    vx, vy = (torch.from_numpy(a) for a in train.labelled(arrays, "val", "class"))
    tx, ty = (torch.from_numpy(a) for a in train.labelled(arrays, "test", "class"))
    model = load_trained(model_in)
    head = linear.fit_linear(features.compute(model, x, cpu), y, 4, epochs=4, lr=LINEAR["lr"],
                             batch_size=LINEAR["batch_size"], seed=5)
    assert m[("linear_accuracy", "test")] == pytest.approx(
        linear.score(head, features.compute(model, tx, cpu), ty)[1])
    model.head = head
    hp = train.Hyper(optimizer="sgd", lr=0.01, weight_decay=0.05, momentum=0.9,
                     schedule=train.Schedule("cosine", 1.0, 0.001), epochs=2, batch_size=8,
                     checkpoint="last", seed=7)
    history = train.fit(model, x, y, vx, vy, hp, cpu)
    assert history["steps_per_epoch"] == 3  # 24 of the 64 training samples
    loss, acc = train.evaluate(model, tx, ty, cpu)
    assert m[("loss", "test")] == pytest.approx(loss, rel=1e-5)
    assert m[("accuracy", "test")] == pytest.approx(acc)


def test_finetuning_starts_from_the_probed_head_not_the_source_head(tmp_path):
    """With no fine-tuning epochs the model is the frozen network with the probe's head: its
    accuracy is the linear probe's (the source model's own head is at chance here: 0.28)."""
    data = synthetic.dataset(tmp_path / "data", sizes=(128, 32, 64))
    model_in = untrained(tmp_path)
    cfg = {"model": MODEL, "label": "class", "n_train": 128, "linear": dict(LINEAR, epochs=30),
           "epochs": 0, "lr": 1e-3, "batch_size": 64, "optimizer": "adam", "weight_decay": 0.0,
           "schedule": {"name": "linear", "warmup_epochs": 0, "final_lr": 0.0}, "seed": 0}
    (tmp_path / "ft").mkdir()
    m = as_metrics(finetune.run(cfg, {"model": model_in, "data": Input("d", "dataset", {}, data)},
                                tmp_path / "ft", CPU))
    assert m[("linear_accuracy", "test")] > 0.5
    for split in ("val", "test"):
        assert m[("accuracy", split)] == pytest.approx(m[("linear_accuracy", split)])


def test_sensitivity_measures_the_model_in_eval_mode():
    """BatchNorm in training mode would normalise each batch by its own statistics: the
    function must measure the network as probes and the features job see it."""
    model = seeded_build(MODEL, 0)
    g = torch.Generator().manual_seed(0)
    x1, xa = (torch.randint(0, 256, (16, 3, 16, 16), generator=g, dtype=torch.uint8)
              for _ in range(2))
    x2 = 255 - x1
    with torch.no_grad():  # a few batches through BN in train mode: running stats move off 0/1
        for _ in range(3):
            model.train()(dev.normalise(xa))
    expected = sensitivity(model.eval(), x1, x2)
    assert sensitivity(model.train(), x1, x2, batch_size=5) == pytest.approx(expected, rel=1e-5)


def test_sensitivity_cost_benchmark_compares_both_estimators_on_the_same_pairs():
    """benchmarks/sensitivity_cost.py runs end to end, tiny: version 2's separate independent
    pairs against the engine's, timed and with the denominator's spread over draws."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "benchmarks/sensitivity_cost.py", "--pairs", "16",
                          "--draws", "2", "--arch", "small_cnn"], cwd=root, check=True,
                         capture_output=True, text=True, timeout=300).stdout
    for row in ("version 2: n separate pairs", "version 3: the pairs own images"):
        assert re.search(rf"^{row}\s+\d+\.\d{{3}}\s+\d+\.\d{{4}}$", out, re.M), out
    assert re.search(r"^speed-up \d+\.\d\dx; denominator's spread \d+\.\dx smaller$", out,
                     re.M), out
