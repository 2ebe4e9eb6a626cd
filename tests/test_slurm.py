"""The Slurm executor against a real Slurm (`.ci/slurm-up` starts a single-node one): the same jobs
and metrics as the local executor, a job that raised fails alone with its log kept, and a Slurm
job cancelled under the run is submitted again. Each Slurm submission costs a second or more, so
the tests are few and each covers several behaviours."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dsl.commands.run import run
from engine.store import Store

import fake_kinds

TESTS = Path(__file__).resolve().parent

# Quickstart's shape (datasets -> small_cnn training -> features -> linear probe) at a size that
# runs in seconds.
TINY_SPEC = """
[spec]
title = "Tiny quickstart"
seeds = 1
[draw]
objs = { objects = 4 }
[task.src]
data = { kind = "transforms2d", objects = "objs", transforms = ["rotate"], resolution = 16 }
n_train = 64
n_val = 16
n_test = 16
[task.tgt]
data = { kind = "transforms2d", objects = "objs", transforms = ["hue"], resolution = 16 }
n_train = 64
n_val = 16
n_test = 16
[train]
task = "src"
arch = "small_cnn"
epochs = 1
batch_size = 32
[[probe]]
kind = "linear"
task = "tgt"
epochs = 2
"""


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


def test_a_failed_job_s_traceback_and_slurm_output_show_in_dsl_logs(tmp_path, on_slurm, capsys):
    from dsl.cli import main

    plan = fake_kinds.make_plan(None, 1, fail={"s0"})
    s0 = fake_kinds.by_name(plan)["s0"]
    summary = run(plan, store=tmp_path, executor=_slurm(tmp_path), progress=False, echo=False)
    assert list(summary.failed) == [s0] and len(summary.skipped) == 2
    capsys.readouterr()
    assert main(["logs", s0[:14], "--store", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"job {s0} (fsource): failed" in out and "== Slurm job" in out
    assert "Traceback" in out and "ValueError: s0 was told to fail" in out
    assert "Starting with JobEnvironment" in out  # submitit's stdout of that Slurm job


def test_tiny_spec_detached_on_slurm_equals_local(tmp_path, slurm):
    """`dsl run --detach --executor slurm` returns at once; `dsl status --json` follows the run
    to done; the jobs and metrics equal a local run's (one thread per job on both sides: BLAS
    sums in another order would differ in the last bit)."""
    from engine.worker import cpu_cores

    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY_SPEC)
    local = run(spec, store=tmp_path / "local", jobs=cpu_cores(), progress=False, echo=False)
    assert local.ok and local.total == 5
    env = {**os.environ, "PYTHONPATH": str(TESTS.parent), "OMP_NUM_THREADS": "1"}
    dsl = [sys.executable, "-m", "dsl"]
    store = ["--store", str(tmp_path / "slurm")]
    t0 = time.time()
    out = subprocess.run([*dsl, "run", str(spec), "--executor", "slurm", "--detach", *store],
                         env=env, capture_output=True, text=True, timeout=60)
    took = time.time() - t0
    assert out.returncode == 0, out.stderr
    assert took < 10, f"--detach took {took:.1f}s"
    run_id = next(line.split()[1] for line in out.stdout.splitlines() if line.startswith("run "))
    seen = []
    deadline = time.time() + 300
    while time.time() < deadline:
        st = subprocess.run([*dsl, "status", run_id, "--json", *store], env=env,
                            capture_output=True, text=True, timeout=60)
        assert st.returncode == 0, st.stderr
        (state,) = json.loads(st.stdout)
        seen.append((state["status"], state["jobs"]["done"]))
        if state["status"] != "running":
            break
        time.sleep(1.0)
    assert seen[-1] == ("done", 5) and seen[0][0] == "running", seen
    assert any(0 < done < 5 for _, done in seen), seen  # seen part-way, not only before/after
    assert [done for _, done in seen] == sorted(done for _, done in seen)
    assert state["driver"]["slurm_job"], state
    a, b = Store(tmp_path / "local"), Store(tmp_path / "slurm")
    assert set(b.finished(local.ran)) == set(local.ran)
    assert a.metrics().equals(b.metrics()) and a.metrics().height > 0


def test_bad_slurm_input_is_one_line_and_submits_nothing(tmp_path, slurm, monkeypatch, capsys):
    from dsl.cli import main

    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY_SPEC)
    store = tmp_path / "store"
    before = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True).stdout
    cases = [(["--partition", "debgu"], "no such Slurm partition"),
             (["--slurm-extra", "constraint"], "expected KEY=VALUE"),
             (["--slurm-extra", "time=5"], "use --time"),
             (["--time", "soon"], "expected a Slurm time limit")]
    for extra, words in cases:
        assert main(["run", str(spec), "--executor", "slurm", "--store", str(store),
                     *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert words in err and "\n" not in err and "Traceback" not in err
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch, no sinfo
    assert main(["run", str(spec), "--executor", "slurm", "--store", str(store)]) == 2
    err = capsys.readouterr().err.strip()
    assert "no Slurm here" in err and "\n" not in err
    assert not store.exists()
    after = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True,
                           env={**os.environ, "PATH": "/usr/bin:/bin"}).stdout
    assert set(after.split()) <= set(before.split())  # earlier tests' jobs may have ended


def test_a_new_driver_adopts_the_slurm_job_of_a_dead_one(tmp_path, on_slurm):
    """The driver died with a job running in Slurm; the driver that takes the claim over waits
    for that Slurm job instead of running the job a second time."""
    from engine import runfiles
    from engine.runner import _task

    hold = tmp_path / "hold"
    hold.write_text("")
    ledger = tmp_path / "ledger"
    plan = fake_kinds.make_plan(ledger, 1, hold={"s0": hold})
    s0 = fake_kinds.by_name(plan)["s0"]
    store = Store(tmp_path / "store")
    task = _task(plan.jobs[s0], plan.jobs, store, data_root=None, compile=False, verbose=False)
    dead = _slurm(store.root)
    dead.submit(task)
    assert dead.wait(timeout=0.1) == []  # submitted; then this driver "dies" (never cancels)
    first = runfiles.slurm_job(store.root, s0)["slurm_job"]
    taker = _slurm(store.root)
    taker.submit(task)
    assert taker.wait(timeout=0.1) == [] and taker.in_flight == 1
    hold.unlink()
    results = fake_kinds.drain(taker, 1, timeout=60)
    assert results[s0].ok and results[s0].metrics
    assert runfiles.slurm_job(store.root, s0)["slurm_job"] == first  # nothing submitted again
    assert fake_kinds.ledger_counts(ledger) == {"s0": 1}
    taker.submit(task)  # asked again (a rerun): the saved result, no Slurm job at all
    assert [r.job_id for r in taker.wait(timeout=5)] == [s0]


def test_dsl_cancel_scancels_a_detached_driver_and_a_rerun_finishes(tmp_path, slurm, monkeypatch,
                                                                   capsys):
    """A driver running as a Slurm job (as `--detach` submits it): `dsl cancel` scancels it, the
    driver gives every claim back before Slurm kills it, and a rerun finishes the work."""
    import shlex

    from dsl.cli import main
    from engine import runfiles

    fake_kinds.install(monkeypatch)
    hold, ledger, root = tmp_path / "hold", tmp_path / "ledger", tmp_path / "store"
    hold.write_text("")
    plan = fake_kinds.make_plan(ledger, 2, hold={"c0": hold})
    names = fake_kinds.by_name(plan)
    driver = [sys.executable, "-c", "import sys, fake_kinds; sys.exit(fake_kinds.main())",
              str(root), str(ledger), "2", "0", f"c0={hold}"]
    env = {**os.environ, runfiles.DETACHED: "slurm",
           "PYTHONPATH": os.pathsep.join([str(TESTS), str(TESTS.parent)])}
    out = subprocess.run(["sbatch", "--parsable", "--output", str(tmp_path / "driver.log"),
                          "--wrap", "exec " + shlex.join(driver)],
                         env=env, capture_output=True, text=True, check=True)
    slurm_job = out.stdout.strip()
    store = Store(root)
    deadline = time.time() + 120
    while True:
        recs = store.jobs([names["c0"], names["c1"]]) if store.exists() else {}
        if len(recs) == 2 and recs[names["c0"]].status == "running" and \
                recs[names["c1"]].status == "done":
            break
        assert time.time() < deadline, "the driver never got c0 running"
        time.sleep(0.3)
    (rec,) = store.runs("fake")
    assert runfiles.driver(root, rec.run_id)["slurm_job"] == slurm_job
    assert main(["cancel", rec.run_id, "--store", str(root)]) == 0
    assert "cancelled" in capsys.readouterr().out
    assert store.run(rec.run_id).status == "interrupted"  # the driver recorded it itself
    assert not [j for j, r in store.jobs(plan.jobs).items() if r.status == "running"]
    hold.unlink()
    again = run(plan, store=root, progress=False, echo=False)
    assert again.ok and names["c0"] in again.ran and names["c1"] in again.cached
    assert fake_kinds.ledger_counts(ledger)["c1"] == 1
