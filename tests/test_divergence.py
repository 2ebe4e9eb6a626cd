"""A diverged training or probe fails with where it went wrong and a hint, never as a result."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine import divergence, features, train
from engine.data import artifact
from engine.divergence import Diverged, LossWatch
from engine.jobs import Input, RunContext
from engine.probes import finetune, linear
from tests import synthetic
from tests.test_train import config as train_config

CPU = RunContext(device="cpu")


def _train_config(**over):
    """test_train's tiny config, with SGD at lr 1e6 for one epoch unless told otherwise."""
    cfg = {"optimizer": {"name": "sgd", "lr": 1e6, "weight_decay": 0.0, "momentum": 0.9},
           "schedule": {"name": "constant", "warmup_epochs": 0, "final_lr": 0.0},
           "epochs": 1, "batch_size": 32}
    return train_config(**{**cfg, **over})


def test_a_nan_loss_fails_with_epoch_step_last_loss_and_hint(tmp_path):
    data = synthetic.dataset(tmp_path / "data", sizes=(128, 32, 32))
    out = tmp_path / "out"
    out.mkdir()
    cfg = _train_config(optimizer={"name": "sgd", "lr": 1e20, "weight_decay": 0.0,
                                   "momentum": 0.9})
    with pytest.raises(Diverged) as err:
        train.run(cfg, {"data": Input("dataset-x", "dataset", {}, data)}, out, CPU)
    msg = str(err.value)
    assert "training diverged: the loss became nan at epoch 1, step 2 (step 2 of the epoch)" in msg
    assert "the last finite loss was 1.4" in msg and "at step 1;" in msg
    assert "(train.lr is 1e+20; try 1e+19)" in msg
    assert not (out / "model.pt").exists()  # nothing a later job could read


def test_sgd_at_lr_1e6_ends_far_above_its_initial_loss_and_fails(tmp_path):
    data = synthetic.dataset(tmp_path / "data", sizes=(128, 32, 32))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(Diverged, match=r"above 10x its initial loss .*train.lr is 1e\+06; try 100000"):
        train.run(_train_config(), {"data": Input("dataset-x", "dataset", {}, data)}, out, CPU)
    assert not (out / "model.pt").exists()  # nothing a later job could read


def test_adam_at_lr_1e6_fails_although_its_loss_stays_finite(tmp_path):
    """Adam's normalised steps keep the loss finite but enormous: the k x initial-loss rule."""
    data = synthetic.dataset(tmp_path / "data", sizes=(128, 32, 32))
    out = tmp_path / "out"
    out.mkdir()
    cfg = _train_config(optimizer={"name": "adam", "lr": 1e6, "weight_decay": 0.0,
                                   "momentum": 0.9}, epochs=2)
    with pytest.raises(Diverged, match=r"training diverged: .*(above 10x its initial loss|"
                                       r"the loss became)"):
        train.run(cfg, {"data": Input("dataset-x", "dataset", {}, data)}, out, CPU)


def test_a_healthy_training_passes_the_checks(tmp_path):
    data = synthetic.dataset(tmp_path / "data", sizes=(128, 32, 32))
    out = tmp_path / "out"
    out.mkdir()
    cfg = _train_config(optimizer={"name": "adam", "lr": 3e-3, "weight_decay": 0.0,
                                   "momentum": 0.9})
    metrics = train.run(cfg, {"data": Input("dataset-x", "dataset", {}, data)}, out, CPU)
    assert all(math.isfinite(m.value) for m in metrics)


def test_the_watch_names_the_first_bad_step_and_the_last_good_loss():
    watch = LossWatch("training", 4, "cpu", lr=0.5, lr_field="train.lr")
    for v in (2.0, 1.5, 1.2, 1.1):
        watch.record(torch.tensor(v))
    assert watch.end_epoch(1) == pytest.approx(1.45)
    for v in (1.0, 0.9, math.inf, math.nan):
        watch.record(torch.tensor(v))
    with pytest.raises(Diverged) as err:
        watch.end_epoch(2)
    assert str(err.value) == (
        "training diverged: the loss became inf at epoch 2, step 7 (step 3 of the epoch); the "
        "last finite loss was 0.9 at step 6; lower the learning rate (train.lr is 0.5; try 0.05)")


def test_the_growth_rule_is_k_times_the_first_step_loss():
    watch = LossWatch("linear probe", 1, "cpu", lr=1.0, lr_field="the probe's lr")
    watch.record(torch.tensor(2.0))
    watch.end_epoch(1)
    watch.check_final(2.0 * divergence.GROWTH)  # at the bound: still a (bad) result
    with pytest.raises(Diverged, match="above 10x its initial loss 2"):
        watch.check_final(2.0 * divergence.GROWTH + 0.1)


def _features(tmp_path, poison: str | None):
    out = tmp_path / "feat"
    out.mkdir()
    rng = np.random.default_rng(0)
    splits = {}
    for split, n in (("train", 40), ("val", 10), ("test", 10)):
        x = rng.normal(size=(n, 6)).astype(np.float32)
        if split == poison:
            x[3, 2] = np.nan
        splits[split] = artifact.Split(x, {"class": rng.integers(0, 3, n)})
    artifact.save(out, splits, {"class": {"num_classes": 3}}, array_name="features")
    return out


@pytest.mark.parametrize("poison", ["train", "test"])
def test_a_linear_probe_on_nonfinite_features_fails(tmp_path, poison):
    feats = _features(tmp_path, poison)
    cfg = {"label": "class", "epochs": 2, "lr": 0.01, "batch_size": 16, "weight_decay": 0.0,
           "n_train": None, "seed": 0}
    out = tmp_path / "probe"
    out.mkdir()
    n = {"train": 40, "test": 10}[poison] * 6
    with pytest.raises(Diverged, match=f"the {poison} features are not finite \\(1 of {n} "):
        linear.run(cfg, {"features": Input("features-x", "features", {}, feats)}, out, CPU)


def test_a_linear_probe_whose_loss_blows_up_fails(tmp_path):
    feats = _features(tmp_path, None)
    cfg = {"label": "class", "epochs": 30, "lr": 1e9, "batch_size": 8, "weight_decay": 0.0,
           "n_train": None, "seed": 0}
    out = tmp_path / "probe"
    out.mkdir()
    with pytest.raises(Diverged, match=r"linear probe diverged: .*the probe's lr is 1e\+09"):
        linear.run(cfg, {"features": Input("features-x", "features", {}, feats)}, out, CPU)


def _nan_model(tmp_path) -> Input:
    from engine.models import seeded_build

    model_cfg = {"arch": "small_cnn", "width": 0.5, "num_classes": 4}
    state = seeded_build(model_cfg, 0).state_dict()
    state = {k: (v.fill_(float("nan")) if v.is_floating_point() else v) for k, v in state.items()}
    out = tmp_path / "nanmodel"
    out.mkdir()
    torch.save(state, out / "model.pt")
    return Input("train-nan", "train", {"model": model_cfg, "seed": 0}, out)


def test_features_of_a_diverged_model_fail_the_features_job(tmp_path):
    data = synthetic.dataset(tmp_path / "data", sizes=(32, 8, 8))
    out = tmp_path / "f"
    out.mkdir()
    with pytest.raises(Diverged, match=r"the model's \w+ features are not finite.*train-nan"):
        features.run({"model": {"arch": "small_cnn", "width": 0.5, "num_classes": 4}},
                     {"model": _nan_model(tmp_path),
                      "data": Input("dataset-x", "dataset", {}, data)}, out, CPU)


def test_finetuning_that_diverges_fails_naming_its_lr(tmp_path):
    from engine.models import seeded_build

    data = synthetic.dataset(tmp_path / "data", sizes=(64, 16, 16))
    model_cfg = {"arch": "small_cnn", "width": 0.5, "num_classes": 4}
    src = tmp_path / "src"
    src.mkdir()
    torch.save(seeded_build(model_cfg, 0).state_dict(), src / "model.pt")
    cfg = {"model": model_cfg, "label": "class", "n_train": 64, "epochs": 2, "lr": 1e6,
           "batch_size": 16, "optimizer": "sgd", "weight_decay": 0.0, "seed": 0,
           "schedule": {"name": "constant", "warmup_epochs": 0, "final_lr": 0.0},
           "linear": {"label": "class", "epochs": 2, "lr": 0.01, "batch_size": 16,
                      "weight_decay": 0.0, "n_train": 64, "seed": 0}}
    out = tmp_path / "ft"
    out.mkdir()
    with pytest.raises(Diverged, match=r"fine-tuning diverged: .*the finetune probe's lr is 1e\+06"):
        finetune.run(cfg, {"model": Input("train-x", "train", {"model": model_cfg, "seed": 0}, src),
                           "data": Input("dataset-x", "dataset", {}, data)}, out, CPU)


def test_a_job_that_fails_after_a_success_loses_its_old_numbers(tmp_path):
    """Tables show a failed job as failed: no metrics of an earlier, withdrawn artifact remain."""
    from dsl.graph import Job
    from engine.jobs import Metric
    from engine.results.frame import job_statuses, select
    from engine.store import Store

    store = Store(tmp_path)
    job = Job.make("linear", "3", {"name": "p"})
    assert store.claim(job, "me:1")
    staging = store.paths.staging(job.id)
    store.paths.publish(staging, job.id)
    store.complete(job.id, [Metric("accuracy", "test", 0.9)], 0.1)
    store.reopen(job.id, "damaged")
    assert store.claim(job, "me:1")
    store.fail(job.id, "Traceback...\nDiverged: linear probe diverged\n", owner="me:1")
    assert store.metrics([job.id]).height == 0
    cells = [{"seed": 0, "factors": {}, "train": "train-x",
              "probes": [{"name": "linear", "kind": "linear", "job": job.id}]}]
    sel = select(cells, store.metrics(), "linear.accuracy", job_statuses(store, [job.id]))
    assert sel["value"].to_list() == [None] and sel["status"].to_list() == ["failed"]
