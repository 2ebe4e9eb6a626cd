"""The train job learns, selects its checkpoint as configured, and follows its lr schedule."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from engine import train
from engine.data import artifact
from engine.jobs import Input, RunContext
from engine.train import Schedule, lr_at
from tests import synthetic


def config(**over):
    cfg = {"model": {"arch": "small_cnn", "width": 0.5, "num_classes": 4}, "label": "class",
           "optimizer": {"name": "adam", "lr": 0.003, "weight_decay": 0.0, "momentum": 0.9},
           "schedule": {"name": "cosine", "warmup_epochs": 1, "final_lr": 0.0},
           "epochs": 4, "batch_size": 64, "checkpoint": "last", "seed": 0}
    cfg.update(over)
    return cfg


def run_train(tmp_path, data, name, device="cpu", compile=False, **over):
    out = tmp_path / name
    out.mkdir()
    cfg = config(**over)
    metrics = train.run(cfg, {"data": Input("dataset-x", "dataset", {}, data)}, out,
                        RunContext(device=device, compile=compile))
    return cfg, out, {(m.name, m.split): m.value for m in metrics}


def test_training_learns_an_easy_task(tmp_path):
    data = synthetic.dataset(tmp_path / "data", sizes=(512, 128, 128))
    _, out, metrics = run_train(tmp_path, data, "run")
    assert set(metrics) == {(m, s) for m in ("accuracy", "loss") for s in ("train", "val", "test")}
    assert metrics[("accuracy", "test")] > 0.8  # chance is 0.25
    state = torch.load(out / "model.pt", weights_only=True)
    assert "head.weight" in state
    history = json.loads((out / "history.json").read_text())
    assert len(history["epochs"]) == 4 and history["chosen_epoch"] == 4


@pytest.mark.parametrize("opt", ["adamw", "sgd"])
def test_other_optimizers_train(tmp_path, opt):
    data = synthetic.dataset(tmp_path / "data", sizes=(256, 64, 64))
    _, _, metrics = run_train(tmp_path, data, "run", epochs=8,
                              optimizer={"name": opt, "lr": 0.05 if opt == "sgd" else 0.003,
                                         "weight_decay": 1e-4, "momentum": 0.9})
    assert metrics[("accuracy", "train")] > 0.5


def test_same_seed_same_weights_other_seed_other_weights(tmp_path):
    data = synthetic.dataset(tmp_path / "data", sizes=(128, 32, 32))
    runs = [run_train(tmp_path, data, f"r{i}", epochs=1, seed=s)[1] for i, s in enumerate([3, 3, 4])]
    a, b, c = (torch.load(r / "model.pt", weights_only=True) for r in runs)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["head.weight"], c["head.weight"])


def test_best_val_keeps_the_best_epoch_and_last_the_final_one(tmp_path):
    # Validation labels are the training labels shifted by one class: the better the model learns
    # the training task, the worse it does on val, so the best val epoch is an early one.
    data = synthetic.dataset(tmp_path / "data", sizes=(256, 64, 64))
    val_y = np.load(data / "val_class.npy")
    np.save(data / "val_class.npy", (val_y + 1) % 4)
    const = {"name": "constant", "warmup_epochs": 0, "final_lr": 0.0}
    _, best_dir, _ = run_train(tmp_path, data, "best", schedule=const, checkpoint="best_val")
    _, last_dir, _ = run_train(tmp_path, data, "last", schedule=const, checkpoint="last")
    history = json.loads((best_dir / "history.json").read_text())
    val_acc = [e["val_accuracy"] for e in history["epochs"]]
    chosen = history["chosen_epoch"]
    assert chosen == int(np.argmax(val_acc)) + 1 and chosen < 4
    # The same seed and a constant lr make the best_val run's first `chosen` epochs identical to a
    # run of `chosen` epochs: its weights must be exactly those.
    _, short_dir, _ = run_train(tmp_path, data, "short", schedule=const, epochs=chosen)
    best, last, short = (torch.load(d / "model.pt", weights_only=True)
                         for d in (best_dir, last_dir, short_dir))
    assert all(torch.equal(best[k], short[k]) for k in best)
    assert not torch.equal(best["head.weight"], last["head.weight"])
    final = json.loads((best_dir / "history.json").read_text())["final"]["val"]["accuracy"]
    assert final == pytest.approx(val_acc[chosen - 1], abs=1e-6)


def test_warmup_rises_linearly_to_the_base_lr():
    s = Schedule("cosine", warmup_epochs=2, final_lr=0.0)
    # 10 steps per epoch, 100 steps: warm-up is steps 0..19
    assert lr_at(0, 100, 10, 1.0, s) == pytest.approx(1 / 20)
    assert lr_at(9, 100, 10, 1.0, s) == pytest.approx(10 / 20)
    assert lr_at(19, 100, 10, 1.0, s) == pytest.approx(1.0)
    assert lr_at(20, 100, 10, 1.0, s) == pytest.approx(1.0)  # cosine starts at the top


def test_cosine_ends_at_final_lr_on_the_last_step():
    s = Schedule("cosine", warmup_epochs=0, final_lr=1e-5)
    assert lr_at(0, 101, 10, 1e-3, s) == pytest.approx(1e-3)
    mid = lr_at(50, 101, 10, 1e-3, s)
    assert mid == pytest.approx(1e-5 + (1e-3 - 1e-5) * 0.5)
    assert lr_at(100, 101, 10, 1e-3, s) == pytest.approx(1e-5)


def test_linear_decay_spans_the_whole_run():
    s = Schedule("linear", warmup_epochs=0, final_lr=0.0)
    total = 50 * 4  # 50 epochs of 4 steps: the reference hit 0 after 5 epochs; we must not
    values = [lr_at(i, total, 4, 1e-4, s) for i in range(total)]
    assert values[0] == pytest.approx(1e-4)
    assert values[-1] == pytest.approx(0.0, abs=1e-12)
    assert values[5 * 4] > 0.85e-4  # still ~90% of the lr after 5 epochs
    assert all(a > b for a, b in zip(values, values[1:]))  # strictly decreasing
    assert values[total // 2] == pytest.approx(1e-4 * (1 - (total // 2) / (total - 1)))


def test_constant_schedule_with_warmup_and_final_lr_of_linear():
    assert lr_at(500, 1000, 10, 0.1, Schedule("constant", 0, 0.0)) == 0.1
    s = Schedule("linear", warmup_epochs=1, final_lr=0.01)
    # 10 warm-up steps, then 101 decay steps: step 10 is the top, step 110 the last one
    assert lr_at(9, 111, 10, 0.1, s) == pytest.approx(0.1)
    assert lr_at(10, 111, 10, 0.1, s) == pytest.approx(0.1)
    assert math.isclose(lr_at(60, 111, 10, 0.1, s), 0.1 + (0.01 - 0.1) * 0.5)
    assert lr_at(110, 111, 10, 0.1, s) == pytest.approx(0.01)


def test_class_count_mismatch_is_a_user_error(tmp_path):
    from dsl.errors import DslError
    data = synthetic.dataset(tmp_path / "data", sizes=(32, 8, 8))
    with pytest.raises(DslError, match="classes"):
        run_train(tmp_path, data, "bad", model={"arch": "small_cnn", "width": 0.5, "num_classes": 9})


def test_unlabelled_samples_are_left_out(tmp_path):
    data = synthetic.dataset(tmp_path / "data", sizes=(64, 16, 16))
    y = np.load(data / "train_class.npy")
    y[:10] = -1  # e.g. a composite whose object is absent
    np.save(data / "train_class.npy", y)
    x, labels = train.labelled(artifact.load(data), "train", "class")
    assert len(labels) == 54 and (labels >= 0).all() and x.shape[0] == 54


def test_the_config_seed_fixes_the_init_and_the_batch_order(tmp_path):
    """A train job is `fit` from `seeded_build(model, seed)` with batches drawn from the same
    seed: seeds are independent replicates in both, and a rerun is bit-identical."""
    from engine.models import seeded_build

    data = synthetic.dataset(tmp_path / "data", sizes=(96, 16, 16))
    cfg, out, _ = run_train(tmp_path, data, "job", epochs=1, batch_size=32, seed=3)
    job = torch.load(out / "model.pt", weights_only=True)
    arrays = artifact.load(data)
    x, y = (torch.from_numpy(a) for a in train.labelled(arrays, "train", "class"))
    vx, vy = (torch.from_numpy(a) for a in train.labelled(arrays, "val", "class"))

    def fit(init_seed, order_seed):
        model = seeded_build(cfg["model"], init_seed)
        hp = train.Hyper.from_train_config({**cfg, "seed": order_seed})
        train.fit(model, x, y, vx, vy, hp, torch.device("cpu"))
        return model.state_dict()

    same = fit(3, 3)
    assert all(torch.equal(job[k], same[k]) for k in job)
    reordered = fit(3, 4)  # the same init, batches in another order
    assert not torch.equal(same["head.weight"], reordered["head.weight"])


def test_optimizer_settings_come_from_the_config():
    hp = train.Hyper.from_train_config(config(
        optimizer={"name": "sgd", "lr": 0.05, "weight_decay": 0.01, "momentum": 0.5},
        schedule={"name": "linear", "warmup_epochs": 2, "final_lr": 0.001},
        checkpoint="best_val", epochs=7, batch_size=16, seed=9))
    assert hp == train.Hyper(optimizer="sgd", lr=0.05, weight_decay=0.01, momentum=0.5,
                             schedule=Schedule("linear", 2.0, 0.001), epochs=7, batch_size=16,
                             checkpoint="best_val", seed=9)
    params = [torch.nn.Parameter(torch.zeros(2))]
    cpu = torch.device("cpu")
    sgd = train.make_optimizer("sgd", params, 0.05, 0.01, 0.5, cpu)
    assert isinstance(sgd, torch.optim.SGD)
    assert (sgd.defaults["momentum"], sgd.defaults["nesterov"], sgd.defaults["weight_decay"]) == (
        0.5, True, 0.01)
    assert train.make_optimizer("sgd", params, 0.05, 0.0, 0.0, cpu).defaults["nesterov"] is False
    adamw = train.make_optimizer("adamw", params, 0.001, 0.02, 0.9, cpu)
    assert type(adamw) is torch.optim.AdamW and adamw.defaults["weight_decay"] == 0.02
    adam = train.make_optimizer("adam", params, 0.001, 0.03, 0.9, cpu)
    assert type(adam) is torch.optim.Adam and adam.defaults["weight_decay"] == 0.03
