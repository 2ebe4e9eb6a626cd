"""The Slurm executor against a real Slurm (`.ci/slurm-up` starts a single-node one): the same jobs
and metrics as the local executor, a job that raised fails alone with its log kept, and a Slurm
job cancelled under the run is submitted again. Each Slurm submission costs a second or more, so
the tests are few and each covers several behaviours."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from engine.runner import run
from engine.store import Store

import fake_kinds

TESTS = Path(__file__).resolve().parent


def _unreachable() -> str | None:
    from dsl.errors import DslError
    from engine.executors.slurm_options import probe_cluster

    try:
        probe_cluster()
    except DslError as err:
        return str(err)
    return None


@pytest.fixture(scope="module")
def slurm():
    pytest.importorskip("submitit")
    why = _unreachable()
    if why is not None:
        if os.environ.get("DSL_REQUIRE_SLURM"):
            pytest.fail(f"DSL_REQUIRE_SLURM is set but no Slurm is reachable: {why}")
        pytest.skip(f"no Slurm cluster reachable (start one with .ci/slurm-up): {why}")


@pytest.fixture
def on_slurm(slurm, monkeypatch):
    # Slurm jobs inherit the driver's environment: they import the fake kinds by module name.
    path = os.pathsep.join([str(TESTS), str(TESTS.parent), os.environ.get("PYTHONPATH", "")])
    monkeypatch.setenv("PYTHONPATH", path.rstrip(os.pathsep))
    fake_kinds.install(monkeypatch)


def _slurm(store, **options):
    from engine.executors.slurm import SlurmExecutor
    from engine.executors.slurm_options import SlurmOptions

    return SlurmExecutor(store, SlurmOptions(time_min=5, **options))


def test_slurm_matches_local_and_a_raising_job_fails_alone(tmp_path, on_slurm):
    plan = fake_kinds.make_plan(None, 3, fail={"c2"})
    names = fake_kinds.by_name(plan)
    local = run(plan, store=tmp_path / "local", jobs=2, progress=False, echo=False)
    remote = run(plan, store=tmp_path / "slurm", executor=_slurm(tmp_path / "slurm"),
                 progress=False, echo=False)
    assert sorted(remote.ran) == sorted(local.ran)
    assert remote.failed == local.failed == {names["c2"]: "RuntimeError: c2 was told to fail"}
    assert remote.skipped == local.skipped
    a, b = Store(tmp_path / "local"), Store(tmp_path / "slurm")
    assert a.metrics().equals(b.metrics()) and a.metrics().height == 2 * len(local.ran)
    from engine import runfiles

    where = runfiles.slurm_job(tmp_path / "slurm", names["s0"])
    assert where and where["slurm_job"] and Path(where["stdout"]).parent.is_dir()
    assert b.job(names["c2"]).status == "failed" and "Traceback" in b.job(names["c2"]).error
    # The three sources were ready together: one job array, one sbatch.
    ids = {runfiles.slurm_job(tmp_path / "slurm", names[f"s{i}"])["slurm_job"] for i in range(3)}
    assert len({i.split("_")[0] for i in ids}) == 1 and len(ids) == 3


def test_a_slurm_job_cancelled_under_the_run_is_submitted_again(tmp_path, on_slurm):
    hold = tmp_path / "hold"
    hold.write_text("")
    plan = fake_kinds.make_plan(tmp_path / "ledger", 1, hold={"s0": hold})
    names = fake_kinds.by_name(plan)
    from engine import runfiles

    def cancel_then_release():
        deadline = time.time() + 60
        while time.time() < deadline:
            where = runfiles.slurm_job(tmp_path / "store", names["s0"])
            if where and (tmp_path / "ledger").exists():  # running inside Slurm now
                subprocess.run(["scancel", where["slurm_job"]], check=True)
                break
            time.sleep(0.2)
        while time.time() < deadline:  # let the second attempt finish
            where = runfiles.slurm_job(tmp_path / "store", names["s0"])
            if where and where["attempt"] == 2:
                hold.unlink()
                return
            time.sleep(0.2)

    import threading

    helper = threading.Thread(target=cancel_then_release, daemon=True)
    helper.start()
    summary = run(plan, store=tmp_path / "store", executor=_slurm(tmp_path / "store"),
                  progress=False, echo=False)
    helper.join(timeout=5)
    assert summary.ok, summary.failed
    assert runfiles.slurm_job(tmp_path / "store", names["s0"])["attempt"] == 2
    assert fake_kinds.ledger_counts(tmp_path / "ledger")["s0"] == 2
