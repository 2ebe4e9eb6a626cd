"""The Ray executor on a local 2-CPU cluster gives the same jobs and metrics as the local one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.runner import run
from engine.store import Store

import fake_kinds

ray = pytest.importorskip("ray")

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def ray_cluster():
    # Workers import the fake kinds by module name, so they need the tests folder on their path.
    path = os.pathsep.join([str(TESTS), str(TESTS.parent)])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
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
    remote = run(plan, store=tmp_path / "ray", executor=ex, progress=False, echo=False)
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
