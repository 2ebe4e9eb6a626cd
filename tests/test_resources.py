"""The resource policy (kind x architecture), `--resources` / `--retries` on `dsl run`, and the
local executor re-running a job whose worker died."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from dsl.catalog import ARCHS
from dsl.errors import DslError
from engine.executors.local import LocalExecutor
from engine.jobs import Metric
from engine.kinds import KINDS
from engine.resources import (ARCH_WEIGHT, KIND_DEFAULTS, Override, Request, ResourcePolicy,
                              arch_of, parse_rule)
from engine.worker import Task

import fake_kinds


def _model(arch: str) -> dict:
    return {"model": {"arch": arch, "width": 1.0, "num_classes": 10}}


def test_the_table_covers_every_kind_and_arch_and_agrees_with_the_registry():
    assert set(KIND_DEFAULTS) == set(KINDS) and set(ARCH_WEIGHT) == set(ARCHS)
    for name, kind in KINDS.items():
        assert KIND_DEFAULTS[name].gpu == kind.gpu, name


@pytest.mark.parametrize("per_gpu, small, large", [(1, 1.0, 1.0), (2, 0.5, 1.0), (4, 0.25, 0.5),
                                                   (3, 0.3333, 0.6666)])
def test_gpu_share_follows_kind_arch_and_per_gpu(per_gpu, small, large):
    policy = ResourcePolicy(per_gpu=per_gpu)
    for kind in ("train", "features", "finetune", "sensitivity", "accuracy"):
        for arch in ("small_cnn", "resnet18", "vgg11_bn"):
            assert policy.request(kind, _model(arch)) == Request(small, 1.0), (kind, arch)
        for arch in ("resnet50", "densenet121", "vit"):
            assert policy.request(kind, _model(arch)) == Request(large, 1.0), (kind, arch)
    # K shares of 1/K must fit in one GPU: rounding goes down, never up.
    assert per_gpu * policy.request("train", _model("resnet18")).gpu <= 1.0
    for kind in ("dataset", "linear"):
        assert policy.request(kind, {"seed": 0}) == Request(0.0, 1.0)


def test_unknown_kinds_and_archs_fall_back_to_one_slot():
    policy = ResourcePolicy(per_gpu=4)
    assert policy.request("fcombine", {}, gpu_hint=True) == Request(0.25, 1.0)
    assert policy.request("fsource", {}, gpu_hint=False) == Request(0.0, 1.0)
    assert policy.request("train", _model("some_new_net")).gpu == 0.25
    assert arch_of({"model": {"arch": "vit"}}) == "vit"
    assert arch_of({"model": "oops"}) is None and arch_of({}) is None


def test_rules_override_field_by_field_most_specific_first():
    policy = ResourcePolicy.from_options(
        ["train:resnet50=gpu:1", "train=cpu:4", "linear=cpu:2", "train:vit=cpu:8,gpu:0",
         "features=gpu:0.5", "features=cpu:3"], per_gpu=4)
    assert policy.request("train", _model("resnet50")) == Request(1.0, 4.0)
    assert policy.request("train", _model("resnet18")) == Request(0.25, 4.0)
    assert policy.request("train", _model("vit")) == Request(0.0, 8.0)
    assert policy.request("linear", {}) == Request(0.0, 2.0)
    # A later rule for the same target adds to the earlier one instead of replacing it.
    assert policy.request("features", _model("resnet50")) == Request(0.5, 3.0)
    assert policy.request("accuracy", _model("resnet50")) == Request(0.5, 1.0)
    assert policy.min_cpu() == 1.0
    assert ResourcePolicy.from_options(["linear=cpu:0.5"]).min_cpu() == 0.5
    every = [f"{k}=cpu:2" for k in KIND_DEFAULTS]
    assert ResourcePolicy.from_options(every).min_cpu() == 2.0


def test_parse_good_rules():
    assert parse_rule("train:resnet50=gpu:1,cpu:4") == (("train", "resnet50"), Override(1.0, 4.0))
    key, rule = parse_rule(" linear = cpu:2 ")
    assert key == ("linear", None) and (rule.gpu, rule.cpu) == (None, 2.0)
    key, rule = parse_rule("features:vit=gpu:0.33333")
    assert key == ("features", "vit") and rule.gpu == 0.3333 and rule.cpu is None
    assert parse_rule("train=gpu:2")[1].gpu == 2.0


@pytest.mark.parametrize("text, expected", [
    ("trian=gpu:1", "unknown kind 'trian'; did you mean 'train'?"),
    ("train:resnet5=gpu:1", "unknown architecture 'resnet5'; did you mean 'resnet50'?"),
    ("train:xyzzy=gpu:1", "choose one of small_cnn"),
    ("train=gpus:1", "unknown resource 'gpus'; did you mean 'gpu'?"),
    ("train=mem:4", "unknown resource 'mem'; use gpu:F and/or cpu:N"),
    ("train=gpu:half", "gpu:half is not a number"),
    ("train=gpu:1.5", "more than one GPU must be a whole number; use gpu:2"),
    ("train=gpu:-1", "gpu:-1 is negative"),
    ("train=cpu:0", "cpu:0 must be above 0"),
    ("train=gpu", "'gpu' needs a value"),
    ("train=cpu:1,cpu:2", "cpu is given twice"),
    ("train=gpu:nan", "not a finite number"),
    ("train", "expected KIND[:ARCH]=gpu:F,cpu:N; e.g. --resources train:resnet50=gpu:1,cpu:4"),
    ("linear:resnet18=cpu:2", "linear jobs have no model"),
])
def test_parse_bad_rules_name_the_bad_part(text, expected):
    with pytest.raises(DslError) as err:
        parse_rule(text)
    assert str(err.value).startswith(f"--resources {text!r}: ") and expected in str(err.value)


def test_dsl_run_passes_resources_and_retries_to_the_executor(tmp_path, monkeypatch, capsys):
    from dsl.cli import main
    import engine.runner

    fake_kinds.install(monkeypatch)
    plan = fake_kinds.make_plan(None, 1)
    monkeypatch.setattr(engine.runner, "_plan", lambda *a, **k: plan)
    seen = {}

    def make(name, **options):
        seen.update(options, name=name)
        return LocalExecutor(jobs=1, gpus=[], retries=options["retries"] or 0)

    monkeypatch.setattr(engine.runner, "make_executor", make)
    argv = ["run", "x.toml", "--store", str(tmp_path), "--no-progress",
            "--resources", "train:resnet50=gpu:1,cpu:4", "--resources", "linear=cpu:2",
            "--retries", "5"]
    assert main(argv) == 0
    assert seen["resources"] == ("train:resnet50=gpu:1,cpu:4", "linear=cpu:2")
    assert seen["retries"] == 5 and seen["name"] == "local"
    seen.clear()
    # A bad rule is a user error before anything runs: exit 2, no traceback, no executor.
    assert main(["run", "x.toml", "--store", str(tmp_path / "b"), "--resources",
                 "train:resnet=gpu:1"]) == 2
    err = capsys.readouterr().err
    assert "error: --resources 'train:resnet=gpu:1': unknown architecture 'resnet'" in err
    assert "did you mean" in err and "Traceback" not in err and not seen
    assert main(["run", "x.toml", "--store", str(tmp_path / "b"), "--retries", "-1"]) == 2
    assert "--retries must be 0 or more" in capsys.readouterr().err


def test_make_gives_retries_to_the_local_executor():
    from engine.executors import make

    assert make("local", jobs=1, retries=2).retries == 2
    assert make("local", jobs=1).retries == 0
    with pytest.raises(DslError):
        LocalExecutor(jobs=1, gpus=[], retries=-1)


def flaky(config, inputs, out_dir: Path, ctx) -> list[Metric]:
    """Dies like an OOM-killed process the first `deaths` times (counted in a file), then works."""
    counter = Path(config["counter"])
    runs = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(runs + 1))
    if runs < int(config["deaths"]):
        os._exit(9)
    return [Metric("runs", None, float(runs + 1))]


def _flaky_task(tmp_path, job_id, deaths):
    config = {"counter": str(tmp_path / f"{job_id}.count"), "deaths": deaths}
    return Task(job_id, "fsource", f"{__name__}:flaky", config, {}, str(tmp_path / "store"),
                device="cpu")


def test_local_executor_reruns_a_job_whose_worker_died(tmp_path):
    ex = LocalExecutor(jobs=1, gpus=[], retries=1)
    try:
        ex.submit(_flaky_task(tmp_path, "fsource-00000000000000a1", deaths=1))
        ex.submit(_flaky_task(tmp_path, "fsource-00000000000000a2", deaths=2))
        results = {}
        deadline = time.time() + 60
        while len(results) < 2 and time.time() < deadline:
            for r in ex.wait(timeout=1.0):
                results[r.job_id] = r
        assert ex.in_flight == 0
    finally:
        ex.shutdown()
    healed = results["fsource-00000000000000a1"]
    assert healed.ok and healed.metrics == (("runs", None, 2.0),)
    dead = results["fsource-00000000000000a2"]
    assert not dead.ok and "worker process died" in dead.error_line
    assert "ran 2 times" in dead.error_line
    assert (tmp_path / "fsource-00000000000000a2.count").read_text() == "2"


def test_make_gives_retries_and_resources_to_ray(monkeypatch):
    """--retries 0 turns Ray's retries off (it is not 'unset'); without it Ray retries 3 times."""
    import engine.executors.ray as ray_executor
    from engine.executors import make

    made = []
    monkeypatch.setattr(ray_executor, "RayExecutor", lambda **kw: made.append(kw) or kw)
    make("ray", retries=0)
    make("ray")
    make("ray", retries=2, per_gpu=4, resources=["train=cpu:2"], address="auto")
    assert [kw["retry"].system_retries for kw in made] == [0, ray_executor.DEFAULT_RETRIES, 2]
    assert ray_executor.DEFAULT_RETRIES == 3
    last = made[-1]
    assert (last["address"], last["per_gpu"], last["resources"].per_gpu) == ("auto", 4, 4)
    assert last["resources"].request("train", _model("resnet18")) == Request(0.25, 2.0)


def test_rules_for_one_target_merge_and_arch_rules_count_for_the_fewest_cpus():
    policy = ResourcePolicy.from_options(["features=gpu:0.3", "features=cpu:3"])
    assert policy.request("features", _model("resnet18")) == Request(0.3, 3.0)
    assert policy.request("features", _model("resnet50")) == Request(0.3, 3.0)
    later = ResourcePolicy.from_options(["features=gpu:0.3,cpu:2", "features=gpu:0.2"])
    assert later.request("features", _model("resnet18")) == Request(0.2, 2.0)
    # a rule for one architecture can ask for fewer CPUs than any kind's default
    assert ResourcePolicy.from_options(["train:vit=cpu:0.25"]).min_cpu() == 0.25
