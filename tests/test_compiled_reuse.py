"""A worker keeps compiled models: a later training of the same shape reuses the graph, trains
from its own initial weights, gives the weights a freshly compiled model gives, and the kept set
stays bounded. Compiled with dynamo's "eager" backend (the same graph capture and guards as
inductor, without minutes of C++ code generation on a CPU)."""

from __future__ import annotations

import torch
from torch._dynamo.utils import counters

from engine import compiled
from engine.executors.local import LocalExecutor, warm_key
from engine.worker import Task

from tests import synthetic
from tests.test_train import run_train


def _weights(out):
    return torch.load(out / "model.pt", weights_only=True)


def _equal(a, b) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a)


def test_a_second_job_of_the_same_shape_reuses_the_compiled_model(tmp_path, monkeypatch):
    monkeypatch.setenv("DSL_COMPILE_BACKEND", "eager")
    compiled.clear()
    data = synthetic.dataset(tmp_path / "data", sizes=(128, 32, 32))
    eager = _weights(run_train(tmp_path, data, "eager", epochs=1, seed=3)[1])
    first = _weights(run_train(tmp_path, data, "a", compile="default", epochs=1, seed=3)[1])
    assert compiled.stats == {"compiled": 1, "reused": 0}
    graphs = counters["stats"]["unique_graphs"]
    # another seed: other initial weights go into the kept module; the graph is reused, and
    # dynamo traces nothing new (its guards still hold after the in-place weight copy)
    other = _weights(run_train(tmp_path, data, "b", compile="default", epochs=1, seed=4)[1])
    assert compiled.stats == {"compiled": 1, "reused": 1}
    assert counters["stats"]["unique_graphs"] == graphs
    again = _weights(run_train(tmp_path, data, "c", compile="default", epochs=1, seed=3)[1])
    assert compiled.stats == {"compiled": 1, "reused": 2}
    # reused = trained from its own start, like a fresh compile and like eager
    assert _equal(again, first) and _equal(first, eager)
    assert not torch.equal(other["head.weight"], first["head.weight"])
    # another shape (width) is compiled anew
    run_train(tmp_path, data, "d", compile="default", epochs=1,
              model={"arch": "small_cnn", "width": 0.25, "num_classes": 4})
    assert compiled.stats == {"compiled": 2, "reused": 2}
    compiled.clear()


def test_kept_shapes_stay_bounded_over_many_jobs(tmp_path, monkeypatch):
    monkeypatch.setenv("DSL_COMPILE_BACKEND", "eager")
    compiled.clear()
    data = synthetic.dataset(tmp_path / "data", sizes=(64, 16, 16))
    widths = [0.125, 0.25, 0.375, 0.5, 0.625, 0.75]
    for i in range(20):
        w = widths[i % len(widths)]
        run_train(tmp_path, data, f"r{i}", compile="default", epochs=1, batch_size=32,
                  model={"arch": "small_cnn", "width": w, "num_classes": 4})
        assert len(compiled.shapes()) <= compiled.KEEP
    assert compiled.stats["compiled"] + compiled.stats["reused"] == 20
    compiled.clear()


def test_auto_compiles_only_long_trainings_on_a_gpu():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    big, small = compiled.AUTO_MIN_IMAGES, compiled.AUTO_MIN_IMAGES - 1
    assert compiled.mode_for("auto", cuda, big) == "reduce-overhead"
    assert compiled.mode_for("auto", cuda, small) is None
    assert compiled.mode_for("auto", cpu, 10 * big) is None
    assert compiled.mode_for(True, cuda, 1) == "reduce-overhead"
    assert compiled.mode_for(True, cpu, big) is None
    assert compiled.mode_for(False, cuda, big) is None
    assert compiled.mode_for("default", cpu, 1) == "default"


def _task(jid, width, compile="auto", kind="train"):
    return Task(jid, kind, "x:y", {"model": {"arch": "small_cnn", "width": width},
                                   "batch_size": 64}, {}, "/nowhere", compile=compile)


def test_a_free_worker_takes_the_job_it_has_warm_first():
    ex = LocalExecutor(jobs=1)
    slot = ex._slots[0]
    slot.warm.add(warm_key(_task("t0", 0.5)))
    for t in (_task("a", 0.25), _task("b", 0.5), _task("c", 0.25)):
        ex._queue.append(t)
    assert ex._take(slot).job_id == "b"  # warm here: skips compiling
    assert ex._take(slot).job_id == "a"  # then oldest first
    assert warm_key(_task("x", 0.5, compile=False)) is None
    assert warm_key(_task("x", 0.5, kind="linear")) is None


def test_plan_counts_the_trainings_auto_would_compile(capsys):
    from pathlib import Path

    from dsl.cli import main

    spec = str(Path(__file__).resolve().parent.parent / "specs" / "quickstart.toml")
    n = 2 * 3  # same and other, 3 seeds
    assert main(["plan", spec]) == 0  # 4,000 images x 8 epochs: too short to pay
    assert f"compile: 0 of {n} trainings to run would be compiled on a GPU" in \
        capsys.readouterr().out
    assert main(["plan", spec, "--set", "train.epochs=625"]) == 0  # 2.5M images
    assert f"compile: {n} of {n} trainings" in capsys.readouterr().out
