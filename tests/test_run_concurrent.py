"""Several `dsl run` processes on one store: each job runs once, a killed run resumes cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.store import Store

import fake_kinds

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def _driver(tmp_path: Path, n: int, sleep: float, *hold: str) -> subprocess.Popen:
    """A separate driver process, as a second `dsl run` in another terminal would be."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(ROOT)])}
    code = "import sys, fake_kinds; sys.exit(fake_kinds.main())"
    return subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path / "store"), str(tmp_path / "ledger"), str(n),
         str(sleep), *hold], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _plan(tmp_path, n, sleep, hold=None):
    return fake_kinds.make_plan(tmp_path / "ledger", n, sleep=sleep, hold=hold)


def _wait_for(predicate, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def _status(store: Store, job_id: str) -> str | None:
    rec = store.jobs([job_id]).get(job_id)
    return rec.status if rec else None


def test_two_drivers_run_each_job_exactly_once(tmp_path):
    plan = _plan(tmp_path, 3, 0.4)
    procs = [_driver(tmp_path, 3, 0.4) for _ in range(2)]
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outs.append(json.loads(out.strip().splitlines()[-1]))
    assert fake_kinds.ledger_counts(tmp_path / "ledger") == {
        job.config["name"]: 1 for job in plan.jobs.values()}
    # Between them they ran everything, and each one saw every job finish.
    assert set(outs[0]["ran"]) | set(outs[1]["ran"]) == set(plan.jobs)
    assert not set(outs[0]["ran"]) & set(outs[1]["ran"])
    for out in outs:
        assert set(out["ran"]) | set(out["elsewhere"]) | set(out["cached"]) == set(plan.jobs)
    store = Store(tmp_path / "store")
    assert store.finished(plan.jobs) == set(plan.jobs)
    assert len(store.runs("fake")) == 2 and {r.status for r in store.runs()} == {"done"}


@pytest.mark.parametrize("how", ["kill", "interrupt"])
def test_a_stopped_run_resumes_with_only_the_unfinished_jobs(tmp_path, how):
    hold = tmp_path / "hold"
    hold.write_text("")
    plan = _plan(tmp_path, 3, 0.0, {"c1": hold})
    names = fake_kinds.by_name(plan)
    store = Store(tmp_path / "store")
    proc = _driver(tmp_path, 3, 0.0, f"c1={hold}")
    finished_first = {names[n] for n in ("s0", "s1", "s2", "c0", "c2")}
    _wait_for(lambda: store.exists() and store.finished(plan.jobs) == finished_first
              and _status(store, names["c1"]) == "running")
    time.sleep(0.3)  # c1 is inside its function, its staging folder half-written
    if how == "kill":
        proc.kill()
    else:
        proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    if how == "interrupt":
        # A clean stop gives the claim back and records the run as interrupted.
        assert _status(store, names["c1"]) == "pending"
        assert store.runs("fake")[0].status == "interrupted"
    # Nothing half-written is visible as an artifact.
    for job_id in plan.jobs:
        art = store.paths.artifact(job_id)
        assert art.is_dir() == (job_id in finished_first)
        if art.is_dir():
            assert (art / "value.json").exists()
    hold.unlink()
    again = _driver(tmp_path, 3, 0.0, f"c1={hold}")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert sorted(result["ran"]) == sorted([names["c1"], names["total"]])
    assert sorted(result["cached"]) == sorted(finished_first)
    counts = fake_kinds.ledger_counts(tmp_path / "ledger")
    assert counts.pop("c1") == 2 and set(counts.values()) == {1}
    assert store.finished(plan.jobs) == set(plan.jobs)
    assert store.metrics([names["total"]]).filter(name="value")["value"].to_list() == [66.0]
    # The killed attempt's staging debris was cleared when c1 ran again.
    _wait_for(lambda: not any(store.paths.tmp.iterdir()), timeout=10)
