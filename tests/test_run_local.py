"""The runner on one store: reuse, failure isolation, records, and taking over stale claims."""

from __future__ import annotations

import pytest

from engine.runner import run
from engine.store import Store, hostname

import fake_kinds


@pytest.fixture(autouse=True)
def _fake_kinds(monkeypatch):
    fake_kinds.install(monkeypatch)


def _values(store: Store, ids) -> dict[str, float]:
    df = store.metrics(ids)
    return {r["job_id"]: r["value"] for r in df.iter_rows(named=True) if r["name"] == "value"}


def test_run_then_rerun_runs_zero_jobs(tmp_path):
    ledger = tmp_path / "ledger"
    plan = fake_kinds.make_plan(ledger, 3)
    names = fake_kinds.by_name(plan)
    first = run(plan, store=tmp_path / "store", jobs=2, progress=False, echo=False)
    assert first.ok and sorted(first.ran) == sorted(plan.jobs) and first.cached == []
    store = Store(tmp_path / "store")
    values = _values(store, plan.jobs)
    # c_i = s_i + 10 (i+1) with s_i = i+1; total = sum of c_i: inputs really reached each job.
    assert [values[names[f"c{i}"]] for i in range(3)] == [11.0, 22.0, 33.0]
    assert values[names["total"]] == 66.0
    second = run(plan, store=store, jobs=2, progress=False, echo=False)
    assert second.ok and second.ran == [] and sorted(second.cached) == sorted(plan.jobs)
    assert set(fake_kinds.ledger_counts(ledger).values()) == {1}
    runs = store.runs("fake")
    assert len(runs) == 2 and {r.status for r in runs} == {"done"}
    assert runs[0].run_id == second.run_ids["fake"]
    assert runs[0].job_ids() <= set(plan.jobs)


def test_a_failed_job_fails_alone(tmp_path, capsys):
    plan = fake_kinds.make_plan(tmp_path / "ledger", 3, fail={"s1"})
    names = fake_kinds.by_name(plan)
    summary = run(plan, store=tmp_path / "store", progress=False)
    assert not summary.ok
    assert summary.failed == {names["s1"]: "ValueError: s1 was told to fail"}
    assert set(summary.skipped) == {names["c1"], names["total"]}
    assert sorted(summary.ran) == sorted(names[n] for n in ("s0", "s2", "c0", "c2"))
    store = Store(tmp_path / "store")
    assert store.job(names["s1"]).status == "failed"
    assert "Traceback" in store.job(names["s1"]).error
    assert store.job(names["c1"]).status == "skipped"
    assert names["s1"] in store.job(names["c1"]).error
    assert store.run(summary.run_ids["fake"]).status == "failed"
    out = capsys.readouterr().out
    assert f"failed {names['s1']}: ValueError: s1 was told to fail" in out
    assert "skipped 2 job(s)" in out and "Traceback" not in out


def test_dsl_run_exits_nonzero_when_a_job_fails(tmp_path, monkeypatch):
    """The command's exit status follows the summary (planner replaced by a fixed plan)."""
    from dsl.cli import main
    import engine.runner

    plan = fake_kinds.make_plan(None, 1, fail={"c0"})
    monkeypatch.setattr(engine.runner, "_plan", lambda *a, **k: plan)
    assert main(["run", "x.toml", "--store", str(tmp_path), "--no-progress"]) == 1
    ok_plan = fake_kinds.make_plan(None, 1)
    monkeypatch.setattr(engine.runner, "_plan", lambda *a, **k: ok_plan)
    assert main(["run", "x.toml", "--store", str(tmp_path), "--no-progress", "-j", "2"]) == 0


def test_stale_claim_of_a_vanished_driver_is_taken_over(tmp_path):
    plan = fake_kinds.make_plan(tmp_path / "ledger", 1)
    names = fake_kinds.by_name(plan)
    store = Store(tmp_path / "store", stale_after=1.0)
    # A driver on another node claimed s0, then vanished without a trace (no heartbeat since).
    assert store.claim(plan.jobs[names["s0"]], "lost-node:4242")
    store.heartbeat("lost-node:4242")
    summary = run(plan, store=store, progress=False, echo=False)
    assert summary.ok and names["s0"] in summary.ran
    assert store.job(names["s0"]).owner != "lost-node:4242"


def test_missing_data_skips_only_that_spec(tmp_path, monkeypatch):
    import dataclasses

    import engine.runner
    from dsl.graph import Plan

    a = fake_kinds.make_plan(None, 1, name="a").specs[0]
    b = fake_kinds.make_plan(None, 2, name="b").specs[0]
    b = dataclasses.replace(b, requires=frozenset({"cifar10"}))
    plan = Plan(specs=(a, b), jobs={**a.jobs, **b.jobs})
    monkeypatch.setattr(engine.runner, "_missing_data",
                        lambda name, root: f"{name} is not in {root}: see docs/data.md")
    summary = run(plan, store=tmp_path / "store", progress=False, echo=False)
    assert summary.skipped_specs == {"b": "cifar10 is not in data: see docs/data.md"}
    assert sorted(summary.ran) == sorted(a.jobs) and summary.ok
    assert list(summary.run_ids) == ["a"]


def test_ctrl_c_between_a_claim_and_its_submission_gives_the_claim_back(tmp_path):
    """A signal that lands inside `_launch`, after the store claim but before the job is in the
    driver's books, must not leave the job 'running' under a driver that is gone."""
    from engine.executors.local import LocalExecutor

    class InterruptedOnSecondSubmit(LocalExecutor):
        submitted = 0

        def submit(self, task):
            self.submitted += 1
            if self.submitted == 2:
                raise KeyboardInterrupt  # Ctrl-C right after the second claim
            return super().submit(task)

    plan = fake_kinds.make_plan(tmp_path / "ledger", 2)
    store = Store(tmp_path / "store")
    with pytest.raises(KeyboardInterrupt):
        run(plan, store=store, executor=InterruptedOnSecondSubmit(jobs=2), progress=False,
            echo=False)
    statuses = {rec.status for rec in store.jobs(plan.jobs).values()}
    assert statuses == {"pending"}, statuses
    assert store.runs("fake")[0].status == "interrupted"
    again = run(plan, store=store, jobs=2, progress=False, echo=False)
    assert again.ok and sorted(again.ran) == sorted(plan.jobs)


@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_a_damaged_input_artifact_is_run_again_before_it_is_read(tmp_path, capsys, damage):
    """A finished artifact that lost or cut a file (full disk, stray rm) is noticed from its
    manifest when a job is about to read it: the input runs again, the results come out right,
    and the summary says what happened."""
    import shutil

    ledger = tmp_path / "ledger"
    plan = fake_kinds.make_plan(ledger, 1)
    names = fake_kinds.by_name(plan)
    store = Store(tmp_path / "store")
    assert run(plan, store=store, progress=False, echo=False).ok
    value = store.paths.artifact(names["s0"]) / "value.json"
    if damage == "truncate":
        value.write_text(value.read_text()[:3])
    else:
        value.unlink()
    shutil.rmtree(store.paths.artifact(names["c0"]))  # c0 must run again and read s0
    summary = run(plan, store=store, progress=False)
    assert summary.ok, summary.failed
    assert sorted(summary.ran) == sorted([names["s0"], names["c0"]])
    assert list(summary.recomputed) == [names["s0"]] and "value.json" in summary.recomputed[names["s0"]]
    assert names["s0"] not in summary.cached
    assert _values(store, [names["c0"]]) == {names["c0"]: 11.0}
    assert fake_kinds.ledger_counts(ledger) == {"s0": 2, "c0": 2, "total": 1}
    assert f"ran again {names['s0']}" in capsys.readouterr().out
    again = run(plan, store=store, progress=False, echo=False)
    assert again.ran == [] and again.recomputed == {}


def test_a_worker_killed_under_its_job_fails_it_and_leaves_no_debris(tmp_path, monkeypatch):
    import engine.kinds
    from engine.kinds import Kind

    monkeypatch.setitem(engine.kinds.KINDS, "fsource",
                        Kind("fsource", "1", f"{fake_kinds.MODULE}:die", False, "killed"))
    plan = fake_kinds.make_plan(None, 1)
    names = fake_kinds.by_name(plan)
    store = Store(tmp_path / "store")
    summary = run(plan, store=store, progress=False, echo=False)
    assert "worker process died" in summary.failed[names["s0"]]
    from engine.executors.local import _exit_cause

    assert _exit_cause(-9).startswith("killed by SIGKILL: out of memory?")
    assert _exit_cause(-15) == "killed by SIGTERM" and _exit_cause(1) == "exit code 1"
    assert store.job(names["s0"]).status == "failed"
    assert list(store.paths.tmp.iterdir()) == []  # its half-written staging folder is gone


def test_a_second_ctrl_c_during_the_cleanup_does_not_cut_it_short(tmp_path):
    """An impatient user presses Ctrl-C again while the workers are being stopped: the claims
    are still given back and the run is still recorded as interrupted."""
    import os
    import signal

    from engine.executors.local import LocalExecutor

    class Impatient(LocalExecutor):
        def submit(self, task):
            super().submit(task)
            raise KeyboardInterrupt  # the first Ctrl-C, once a job is running

        def cancel(self):
            os.kill(os.getpid(), signal.SIGINT)  # the second one, while cleaning up
            super().cancel()

    plan = fake_kinds.make_plan(tmp_path / "ledger", 1, sleep=2.0)
    store = Store(tmp_path / "store")
    with pytest.raises(KeyboardInterrupt):
        run(plan, store=store, executor=Impatient(jobs=1), progress=False, echo=False)
    assert {rec.status for rec in store.jobs(plan.jobs).values()} == {"pending"}
    assert store.runs("fake")[0].status == "interrupted"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_killed_driver_s_run_is_recorded_as_died_by_the_next_run(tmp_path):
    """`kill -9` of `dsl run`: its run must not read as running forever. Reading the store shows
    it as died at once; the next run records it so, with when it was last seen alive."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    tests = Path(__file__).resolve().parent
    hold = tmp_path / "hold"
    hold.write_text("")
    plan = fake_kinds.make_plan(tmp_path / "ledger", 1, hold={"c0": hold})
    store = Store(tmp_path / "store")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests), str(tests.parent)])}
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys, fake_kinds; sys.exit(fake_kinds.main())",
         str(tmp_path / "store"), str(tmp_path / "ledger"), "1", "0", f"c0={hold}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    c0 = fake_kinds.by_name(plan)["c0"]
    deadline = time.time() + 60
    while not (store.exists() and c0 in store.jobs([c0]) and store.job(c0).status == "running"):
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.1)
    proc.kill()
    proc.wait(timeout=30)
    (killed,) = store.runs("fake")
    assert killed.status == "died" and killed.owner == f"{hostname()}:{proc.pid}"
    assert killed.started <= killed.finished <= time.time()
    hold.unlink()
    again = run(plan, store=store, progress=False, echo=False)
    assert again.ok
    runs = {r.run_id: r for r in store.runs("fake")}
    assert runs[killed.run_id].status == "died" and runs[again.run_ids["fake"]].status == "done"


def refuses(config, inputs, out_dir, ctx):
    """A job whose data cannot serve it: a user-facing error, written for people."""
    from dsl.errors import DslError

    raise DslError(f"val split of 128 leaves nothing to train on ({config['name']})")


def test_a_job_s_user_error_shows_as_its_message_and_its_traceback_is_kept(tmp_path, capsys,
                                                                            monkeypatch):
    import engine.kinds
    from engine.kinds import Kind

    monkeypatch.setitem(engine.kinds.KINDS, "fsource",
                        Kind("fsource", "1", f"{__name__}:refuses", False, "refuses"))
    plan = fake_kinds.make_plan(None, 1)
    s0 = fake_kinds.by_name(plan)["s0"]
    store = Store(tmp_path / "store")
    summary = run(plan, store=store, progress=False)
    assert summary.failed == {s0: "val split of 128 leaves nothing to train on (s0)"}
    out = capsys.readouterr().out
    assert f"failed {s0}: val split of 128 leaves nothing" in out
    assert "dsl.errors" not in out and "DslError" not in out
    error = store.job(s0).error  # the whole traceback, for whoever looks into it
    assert error.startswith("Traceback (most recent call last):") and "in refuses" in error
    assert "dsl.errors.DslError: val split of 128 leaves nothing to train on (s0)" in error


def test_the_driver_claims_no_more_jobs_than_its_workers_can_run(tmp_path):
    """Ready jobs beyond the executor's capacity stay unclaimed (pending), so that another
    driver on the same store can take them instead of waiting for this one's queue."""
    from engine.executors.local import LocalExecutor

    class Counting(LocalExecutor):
        most = 0

        def submit(self, task):
            Counting.most = max(Counting.most, self.in_flight + 1)
            return super().submit(task)

    plan = fake_kinds.make_plan(tmp_path / "ledger", 3, sleep=0.2)  # s0..s2 are ready at once
    summary = run(plan, store=tmp_path / "store", executor=Counting(jobs=1), progress=False,
                  echo=False)
    assert summary.ok and len(summary.ran) == 7
    assert Counting.most == 1


def test_the_summary_line_counts_every_outcome():
    import io

    from rich.console import Console

    from engine.runner import RunSummary, print_summary

    s = RunSummary(total=9, ran=["a", "b"], cached=["c"], elsewhere=["d", "e"],
                   failed={"f": "ValueError: boom"}, skipped={"g": "input f failed",
                                                             "h": "input f failed"},
                   skipped_specs={"x": "cifar10 is missing"}, recomputed={"a": "a.npy is missing"},
                   seconds=1.25)
    buf = io.StringIO()
    print_summary(s, Console(file=buf, width=200, highlight=False))
    lines = buf.getvalue().splitlines()
    assert lines[0] == ("9 jobs: 2 ran, 1 cached, 2 done by another run, 1 failed, "
                        "2 skipped after a failure, 1 spec(s) skipped for missing data in 1.2s")
    assert lines[1:] == ["ran again a: its artifact was damaged (a.npy is missing)",
                         "failed f: ValueError: boom", "skipped 2 job(s): input f failed"]
    assert not s.ok
    assert not RunSummary(skipped={"g": "input f failed"}).ok
    assert not RunSummary(skipped_specs={"x": "missing"}).ok  # every spec lacked its data
    assert RunSummary(skipped_specs={"x": "missing"}, run_ids={"a": "r"}).ok
    assert RunSummary(ran=["a"]).ok


def test_a_failure_does_not_mark_skipped_what_already_finished_downstream(tmp_path, monkeypatch):
    """s0's artifact is damaged and its rerun fails: c0 (to be made again from it) is skipped,
    but `total`, finished from the earlier c0, stays a finished job of this run."""
    import shutil

    import engine.kinds
    from engine.kinds import Kind

    plan = fake_kinds.make_plan(tmp_path / "ledger", 1)
    names = fake_kinds.by_name(plan)
    store = Store(tmp_path / "store")
    assert run(plan, store=store, progress=False, echo=False).ok
    (store.paths.artifact(names["s0"]) / "value.json").unlink()
    shutil.rmtree(store.paths.artifact(names["c0"]))
    monkeypatch.setitem(engine.kinds.KINDS, "fsource",
                        Kind("fsource", "1", f"{__name__}:refuses", False, "refuses"))
    summary = run(plan, store=store, progress=False, echo=False)
    assert list(summary.failed) == [names["s0"]]
    assert summary.skipped == {names["c0"]: f"input {names['s0']} failed"}
    assert summary.cached == [names["total"]] and store.job(names["total"]).status == "done"
