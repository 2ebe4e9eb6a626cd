"""The Ray executor on a local 2-CPU cluster: same jobs and metrics as the local one, resources
per kind and architecture, retries of dead workers, and where each job ran."""

from __future__ import annotations

import io
import os
import socket
from pathlib import Path

import pytest
from rich.console import Console

from engine.runner import run
from engine.store import Store
from engine.worker import Task

import fake_kinds

ray = pytest.importorskip("ray")

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def ray_cluster():
    # Workers import the fake kinds by module name, so they need the tests folder on their path.
    # One logical GPU (Ray only counts it; the fake jobs never touch CUDA) lets GPU shares be
    # placed for real. One cluster for the whole module: starting one takes seconds.
    path = os.pathsep.join([str(TESTS), str(TESTS.parent)])
    ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": path}})
    try:
        yield
    finally:
        ray.shutdown()


def test_ray_matches_local(tmp_path, monkeypatch, ray_cluster):
    from engine.executors.ray import RayExecutor

    fake_kinds.install(monkeypatch)
    plan = fake_kinds.make_plan(None, 3, fail={"c2"})
    local = run(plan, store=tmp_path / "local", jobs=2, progress=False, echo=False)
    ex = RayExecutor(per_gpu=4)
    assert ex.capacity == 2 and ex.gpu_fraction == 0.25
    out = io.StringIO()
    remote = run(plan, store=tmp_path / "ray", executor=ex, progress=False, echo=False,
                 verbose=True, console=Console(file=out, width=300, log_time=False))
    host = socket.gethostname()
    for job_id in remote.ran:  # --verbose names the node each job ran on
        assert f"done  {job_id} on {host} (" in out.getvalue()
    assert sorted(remote.ran) == sorted(local.ran)
    assert remote.failed == local.failed and remote.skipped == local.skipped
    a, b = Store(tmp_path / "local"), Store(tmp_path / "ray")
    assert a.metrics().equals(b.metrics()) and a.metrics().height == 2 * len(local.ran)
    for job_id in local.ran:
        assert (b.paths.artifact(job_id) / "value.json").read_text() == \
            (a.paths.artifact(job_id) / "value.json").read_text()
    assert ray.is_initialized()  # the executor leaves a cluster it did not start alone
    again = run(plan, store=tmp_path / "ray", executor=RayExecutor(), progress=False, echo=False)
    assert again.ran == [] and list(again.failed) == list(local.failed)


class _Recorder:
    """Stands in for the remote function: notes each task's `.options(...)`, then runs it."""

    def __init__(self, remote):
        self.remote, self.calls = remote, []

    def options(self, **kwargs):
        self.calls.append(kwargs)
        return self.remote.options(**kwargs)


def _task(tmp_path, kind, name, arch=None, gpu=True, impl="source", **extra):
    config = {"name": name, "value": 1, **extra}
    if arch:
        config["model"] = {"arch": arch, "width": 1.0, "num_classes": 10}
    return Task(f"{kind}-{name:0>16}", kind, f"{fake_kinds.MODULE}:{impl}", config, {},
                str(tmp_path), gpu=gpu)


def _drain(ex, n, timeout=90.0):
    return fake_kinds.drain(ex, n, timeout)


def test_each_task_asks_for_its_kind_and_arch(tmp_path, ray_cluster):
    from engine.executors import make

    ex = make("ray", per_gpu=4, retries=5,
              resources=["train:vgg11_bn=gpu:1,cpu:2", "linear=cpu:2", "accuracy=gpu:3"])
    recorder = ex._remote = _Recorder(ex._remote)
    tasks = [_task(tmp_path, "train", "a", "resnet18"), _task(tmp_path, "train", "b", "resnet50"),
             _task(tmp_path, "features", "c", "vit"), _task(tmp_path, "linear", "d", gpu=False),
             _task(tmp_path, "dataset", "e", gpu=False),
             _task(tmp_path, "train", "f", "vgg11_bn"),
             _task(tmp_path, "accuracy", "g", "resnet18")]
    for task in tasks:
        ex.submit(task)
    results = _drain(ex, len(tasks))
    asked = [(c["num_gpus"], c["num_cpus"]) for c in recorder.calls]
    assert asked == [(0.25, 1.0), (0.5, 1.0), (0.5, 1.0), (0.0, 2.0), (0.0, 1.0), (1.0, 2.0)]
    assert all(c["max_retries"] == 5 and c["retry_exceptions"] is False for c in recorder.calls)
    # Three GPUs fit on no node: the job fails at once instead of waiting forever in Ray.
    refused = results.pop(tasks[-1].job_id)
    assert not refused.ok and "asks for 3 GPU and 1 CPU but the largest node has 1 GPU" in \
        refused.error
    assert all(r.ok for r in results.values()) and len(results) == 6
    assert {r.host for r in results.values()} == {socket.gethostname()}
    assert ex.in_flight == 0 and ex.capacity == 2
    assert "5 retries" in ex.describe() and "train:vgg11_bn=gpu:1,cpu:2" in ex.describe()


def test_retries_rerun_a_task_whose_worker_died(tmp_path, ray_cluster):
    from engine.executors.ray import RayExecutor, RetryPolicy

    def flaky(name):  # dies under its first run, works on the second (tests/test_resources.py)
        counter = tmp_path / f"{name}.count"
        task = Task(f"fsource-{name:0>16}", "fsource", "test_resources:flaky",
                    {"counter": str(counter), "deaths": 1}, {}, str(tmp_path))
        return task, counter

    healed, healed_count = flaky("h")
    ex = RayExecutor(retry=RetryPolicy(1))
    ex.submit(healed)
    dead, dead_count = flaky("x")
    strict = RayExecutor(retry=RetryPolicy(0))
    strict.submit(dead)
    ok = _drain(ex, 1)[healed.job_id]
    assert ok.ok and ok.metrics == (("runs", None, 2.0),) and healed_count.read_text() == "2"
    failed = _drain(strict, 1)[dead.job_id]
    assert not failed.ok and "WorkerCrashedError" in failed.error
    assert dead_count.read_text() == "1"  # max_retries=0: never run again


def test_an_unreachable_address_fails_at_once_in_one_line(monkeypatch):
    # Nothing listens on a port just freed: `ray.init` would retry for many minutes; the
    # executor must say so at once instead. No cluster is needed (ray.init must not be reached).
    from dsl.errors import DslError
    from engine.executors.ray import RayExecutor

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inits = []
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", lambda *a, **k: inits.append(k))
    with pytest.raises(DslError) as err:
        RayExecutor(address=f"127.0.0.1:{port}")
    assert inits == [] and f"cannot reach Ray at 127.0.0.1:{port}: " in str(err.value)
    assert "\n" not in str(err.value)
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")  # what ray.init uses without one
    with pytest.raises(DslError):
        RayExecutor()
    assert inits == []

    def refuse(*a, **k):  # `--address auto` with no cluster running
        raise ConnectionError("Could not find any running Ray instance. Please specify one.")

    monkeypatch.delenv("RAY_ADDRESS")
    monkeypatch.setattr(ray, "init", refuse)
    with pytest.raises(DslError, match="^cannot connect to Ray at auto: Could not find any "):
        RayExecutor(address="auto")
