"""The local executor: runs tasks in worker processes, survives a dying worker, pins GPUs."""

from __future__ import annotations

import json
import time

import pytest

from engine.executors.local import LocalExecutor
from engine.paths import ArtifactPaths
from engine.worker import Task, TaskInput, execute

import fake_kinds

M = fake_kinds.MODULE


def _task(store, job_id, fn, config, inputs=None, device="cpu"):
    return Task(job_id, job_id.rsplit("-", 1)[0], f"{M}:{fn}", config, inputs or {}, str(store),
                device=device)


def _drain(ex, n, timeout=60.0):
    return fake_kinds.drain(ex, n, timeout)


def test_execute_publishes_and_reports_failures_without_raising(tmp_path):
    ok = execute(_task(tmp_path, "fsource-aaaaaaaaaaaaaaaa", "source", {"name": "s", "value": 3}))
    assert ok.ok and ok.metrics == (("value", None, 3.0), ("double", "test", 6.0))
    art = ArtifactPaths(tmp_path).artifact("fsource-aaaaaaaaaaaaaaaa")
    assert json.loads((art / "value.json").read_text()) == {"value": 3.0}
    down = execute(_task(tmp_path, "fcombine-bbbbbbbbbbbbbbbb", "combine", {"name": "c", "add": 1},
                         {"a": TaskInput("fsource-aaaaaaaaaaaaaaaa", "fsource", {}, str(art))}))
    assert down.ok and dict((n, v) for n, _, v in down.metrics)["value"] == 4.0
    bad = execute(_task(tmp_path, "fsource-cccccccccccccccc", "source",
                        {"name": "x", "value": 1, "fail": True}))
    assert not bad.ok and bad.error_line == "ValueError: x was told to fail"
    assert "Traceback" in bad.error
    # A failed job publishes nothing and leaves no staging folder behind.
    assert not ArtifactPaths(tmp_path).artifact("fsource-cccccccccccccccc").exists()
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_job_returning_a_metric_twice_fails_alone(tmp_path, monkeypatch):
    """The store keeps one value per (name, split): a job that returns two must fail with a
    clear line, not reach the store and stop the whole run there."""
    from engine import jobs
    from engine.jobs import Metric

    monkeypatch.setattr(fake_kinds, "twice", lambda config, inputs, out_dir, ctx: [
        Metric("value", "test", 1.0), Metric("value", "test", 2.0)], raising=False)
    twice = execute(_task(tmp_path, "fsource-eeeeeeeeeeeeeeee", "twice", {}))
    assert not twice.ok
    assert "metric 'value' on split 'test' returned twice" in jobs.error_line(twice.error)
    assert not ArtifactPaths(tmp_path).artifact("fsource-eeeeeeeeeeeeeeee").exists()


def test_local_executor_runs_in_parallel_and_replaces_a_dead_worker(tmp_path):
    ex = LocalExecutor(jobs=2, gpus=[])
    try:
        assert ex.capacity == 2
        ex.submit(_task(tmp_path, "fsource-0000000000000001", "die", {}))
        for i in range(2, 5):
            ex.submit(_task(tmp_path, f"fsource-000000000000000{i}", "source",
                            {"name": f"s{i}", "value": i, "sleep": 0.3}))
        assert ex.in_flight == 4
        results = _drain(ex, 4)
        assert ex.in_flight == 0
    finally:
        ex.shutdown()
    dead = results.pop("fsource-0000000000000001")
    assert not dead.ok and "worker process died" in dead.error_line
    assert "(exit code 9); run again to retry it, or pass --retries N" in dead.error_line
    assert all(r.ok for r in results.values()) and len(results) == 3
    assert not ArtifactPaths(tmp_path).artifact("fsource-0000000000000001").exists()


def test_workers_are_pinned_round_robin_to_gpus(tmp_path):
    # No real GPU here: only the pinning (CUDA_VISIBLE_DEVICES per worker) is checked.
    ex = LocalExecutor(jobs=1, per_gpu=2, gpus=[3, 5])
    try:
        assert ex.capacity == 4 and "2 per GPU" in ex.describe()
        for i in range(4):
            # Submitted while every slot is idle: each task lands on its own worker.
            ex.submit(_task(tmp_path, f"fenv-{i:016x}", "environment", {"i": i}))
        results = _drain(ex, 4)
    finally:
        ex.shutdown()
    metrics = [dict((n, v) for n, _, v in r.metrics) for r in results.values()]
    assert sorted(m["gpu"] for m in metrics) == [3.0, 3.0, 5.0, 5.0]
    assert len({m["pid"] for m in metrics}) == 4


def test_cancel_stops_running_tasks(tmp_path):
    ex = LocalExecutor(jobs=1, gpus=[])
    ex.submit(_task(tmp_path, "fsource-00000000000000aa", "source",
                    {"name": "slow", "value": 1, "sleep": 30}))
    time.sleep(1.0)
    t0 = time.time()
    ex.cancel()
    assert time.time() - t0 < 10 and ex.in_flight == 0 and ex.wait(0.1) == []


def test_progress_eta_uses_each_kinds_mean_duration():
    from collections import Counter

    from engine.progress import Progress

    bar = Progress(live=False, parallel=2)
    bar.start(Counter({"train": 4, "linear": 10}), Counter())
    assert bar.eta() is None
    bar.job_finished("t1", "train", 100.0, True)
    bar.job_finished("l1", "linear", 1.0, True)
    bar.job_finished("l2", "linear", 3.0, False)  # a failure says nothing about duration
    # 3 trains x 100 s + 8 linears x 1 s, over 2 parallel workers.
    assert bar.eta() == (3 * 100.0 + 8 * 1.0) / 2
    bar.job_skipped("train")
    assert bar.eta() == (2 * 100.0 + 8 * 1.0) / 2


def test_workers_share_the_cores_instead_of_oversubscribing(tmp_path, monkeypatch):
    from engine.worker import cpu_cores, worker_env

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert worker_env(None, 3) == {"OMP_NUM_THREADS": "3"}
    assert worker_env(1, 2) == {"CUDA_VISIBLE_DEVICES": "1", "OMP_NUM_THREADS": "2"}
    ex = LocalExecutor(jobs=2)
    try:
        ex.submit(_task(tmp_path, "fthreads-aaaaaaaaaaaaaaaa", "threads", {"name": "t"}))
        (result,) = _drain(ex, 1).values()
    finally:
        ex.shutdown()
    assert result.ok, result.error
    assert result.metrics == (("omp_threads", None, float(max(1, cpu_cores() // 2))),)
    monkeypatch.setenv("OMP_NUM_THREADS", "7")  # the user's own setting wins
    assert worker_env(None, 3) == {}


def test_a_worker_whose_driver_is_gone_ends_quietly(tmp_path, monkeypatch):
    """kill -9 of `dsl run`: a worker finishing its job cannot send the result; it must exit
    without printing a BrokenPipeError traceback over the user's terminal."""
    import multiprocessing as mp
    import os
    import signal

    import engine.executors.local
    from engine.executors.local import _worker_main

    # Run in the test process itself: no parent watcher, whose thread would outlive the test and
    # end the whole pytest process (os._exit) if pytest's parent went away.
    monkeypatch.setattr(engine.executors.local, "_watch_parent", lambda parent: None)

    ours, theirs = mp.Pipe()
    ours.send(_task(tmp_path, "fsource-dddddddddddddddd", "source", {"name": "s", "value": 1}))
    ours.close()  # the driver died after handing out the task
    old = signal.getsignal(signal.SIGINT)
    try:
        _worker_main(theirs, {}, os.getppid())  # returns instead of raising BrokenPipeError
    finally:
        signal.signal(signal.SIGINT, old)
    assert ArtifactPaths(tmp_path).artifact("fsource-dddddddddddddddd").is_dir()


def test_error_lines_are_short_and_keep_user_messages_as_written():
    import sqlite3
    import traceback

    from dsl.errors import DataMissing, DslError, Problem, SpecError
    from engine.jobs import error_line

    def traced(exc, cause=None):
        try:
            try:
                raise cause or ValueError("first")
            except Exception as inner:
                if cause is None:
                    raise exc from None
                raise exc from inner
        except Exception as err:
            return "".join(traceback.format_exception(err))

    # Our own errors are written for people: just the message (the first line of several).
    assert error_line(traced(DslError("val split of 128 leaves nothing to train on"))) == \
        "val split of 128 leaves nothing to train on"
    assert error_line(traced(DataMissing("cifar10 is not in data"))) == "cifar10 is not in data"
    problems = [Problem("a.toml", 3, "train.epochs", "must be positive"), Problem("a.toml", 4,
                                                                                  "x", "unknown")]
    assert error_line(traced(SpecError(problems))) == "a.toml:3 (train.epochs): must be positive"
    # Others keep a short class name, whatever module defines them; a chain shows its last.
    assert error_line(traced(ValueError("bad value"))) == "ValueError: bad value"
    assert error_line(traced(sqlite3.OperationalError("database is locked"))) == \
        "OperationalError: database is locked"
    assert error_line(traced(RuntimeError("outer"), cause=KeyError("k"))) == "RuntimeError: outer"
    assert error_line(traced(DslError("told"), cause=OSError("disk"))) == "told"
    assert error_line(traced(StopIteration())) == "StopIteration"
    assert error_line(traced(ValueError("two\nlines"))) == "ValueError: two"
    # Text that is not a traceback: its last line, as it was.
    assert error_line("worker process died while running the job (exit code 9)") == \
        "worker process died while running the job (exit code 9)"
    assert error_line("Traceback...\nValueError: boom\n") == "ValueError: boom"
    assert error_line("") is None and error_line(None) is None


def test_progress_eta_counts_unseen_kinds_at_the_overall_mean_and_running_work_as_done():
    import time as _time
    from collections import Counter

    from engine.progress import Progress

    bar = Progress(live=False, parallel=1)
    bar.start(Counter({"train": 2, "linear": 3}), Counter({"linear": 1}))
    bar.job_finished("l1", "linear", 4.0, True)
    # no train has finished: each is estimated at the mean of every finished job (4 s)
    assert bar.eta() == (2 * 4.0 + 1 * 4.0)
    bar.job_started("t1", "train")
    bar.running["t1"] = ("train", _time.time() - 3.0)  # started 3 s ago: 3 s of it are done
    assert bar.eta() == pytest.approx(2 * 4.0 + 4.0 - 3.0, abs=0.1)
    bar.running["t1"] = ("train", _time.time() - 100.0)  # overdue: counts as its whole mean
    assert bar.eta() == pytest.approx(2 * 4.0 + 4.0 - 4.0, abs=0.1)
    bar.job_reopened("linear")  # a finished linear found damaged runs again
    assert bar.eta() == pytest.approx(2 * 4.0 + 2 * 4.0 - 4.0, abs=0.1)


def test_a_job_whose_input_artifact_is_gone_fails_before_it_runs(tmp_path):
    ledger = tmp_path / "ledger"
    gone = str(ArtifactPaths(tmp_path).artifact("fsource-aaaaaaaaaaaaaaaa"))
    res = execute(_task(tmp_path, "fcombine-bbbbbbbbbbbbbbbb", "combine",
                        {"name": "c", "add": 1, "ledger": str(ledger)},
                        {"a": TaskInput("fsource-aaaaaaaaaaaaaaaa", "fsource", {}, gone)}))
    assert not res.ok
    assert res.error_line == (f"FileNotFoundError: input 'a' (fsource-aaaaaaaaaaaaaaaa) has no "
                              f"artifact at {gone}")
    assert not ledger.exists()  # the job function never ran
    assert not (tmp_path / "tmp").exists() or not any((tmp_path / "tmp").iterdir())
