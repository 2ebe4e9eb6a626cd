"""Run heartbeats: a `dsl run` whose driver is gone reads as died on any host, not only its own."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time

from engine import scheduler
from engine.runner import run
from engine.store import Store, hostname

import fake_kinds


def _set(store: Store, run_id: str, **columns) -> None:
    con = sqlite3.connect(store.paths.db)
    with con:
        for column, value in columns.items():
            con.execute(f"UPDATE runs SET {column}=? WHERE run_id=?", (value, run_id))
    con.close()


def _column(store: Store, run_id: str, column: str):
    con = sqlite3.connect(store.paths.db)
    try:
        return con.execute(f"SELECT {column} FROM runs WHERE run_id=?", (run_id,)).fetchone()[0]
    finally:
        con.close()


def test_a_run_of_another_host_that_stopped_beating_reads_and_is_recorded_as_died(tmp_path):
    store = Store(tmp_path, stale_after=60.0)
    spec = fake_kinds.make_plan(None, 1).specs[0]
    now = time.time()
    silent, beating, old = (store.record_run(spec) for _ in range(3))
    _set(store, silent, owner="other-host:1", started=now - 100.0, heartbeat=now - 90.0)
    _set(store, beating, owner="other-host:2", heartbeat=now - 5.0)
    _set(store, old, owner="other-host:3", heartbeat=None)  # recorded before run heartbeats

    shown = {r.run_id: r for r in Store(tmp_path, stale_after=60.0).runs("fake")}
    assert shown[silent].status == "died" and shown[silent].finished == now - 90.0
    assert (shown[beating].status, shown[beating].finished) == ("running", None)
    assert shown[old].status == "running"
    assert _column(store, silent, "status") == "running"  # reading wrote nothing

    Store(tmp_path, stale_after=60.0).heartbeat()  # opened for writing: settled
    assert [_column(store, r, "status") for r in (silent, beating, old)] == \
        ["died", "running", "running"]


def test_a_live_driver_that_stopped_beating_reads_as_died_until_it_beats_again(tmp_path):
    """As with job claims: a driver stopped (Ctrl-Z) past the limit reads as died, and its next
    beat makes the run running again."""
    store = Store(tmp_path, stale_after=60.0)
    mine = store.record_run(fake_kinds.make_plan(None, 1).specs[0])
    _set(store, mine, heartbeat=time.time() - 90.0)
    Store(tmp_path, stale_after=60.0).heartbeat()
    assert store.run(mine).status == "died" and store.run(mine).finished is not None
    store.heartbeat(runs=[mine])
    assert (store.run(mine).status, store.run(mine).finished) == ("running", None)
    assert _column(store, mine, "heartbeat") > time.time() - 5.0


def test_a_driver_beats_its_run_while_it_only_waits_on_another_driver(tmp_path, monkeypatch):
    """The driver's run must keep beating when none of its own jobs run (it waits on a job
    another live driver holds); otherwise a live run of another host would read as died."""
    monkeypatch.setattr(scheduler, "HEARTBEAT_EVERY_S", 0.05)
    monkeypatch.setattr(scheduler, "POLL_OTHERS_EVERY_S", 0.05)
    plan = fake_kinds.make_plan(tmp_path / "ledger", 1)
    store = Store(tmp_path / "store")
    other = subprocess.Popen(["sleep", "60"])  # a live driver process holding every job
    owner = f"{hostname()}:{other.pid}"
    try:
        for job in plan.jobs.values():
            assert store.claim(job, owner=owner)
        seen = {}

        def watch():
            deadline = time.time() + 20.0
            while time.time() < deadline and "beat" not in seen:
                ids = [r.run_id for r in store.runs("fake")]
                if ids:
                    started = _column(store, ids[0], "started")
                    beat = _column(store, ids[0], "heartbeat")
                    if beat > started + 0.3:
                        seen["beat"] = beat - started
                time.sleep(0.05)
            s0 = fake_kinds.by_name(plan)["s0"]
            store.fail(s0, "stopped by the test", owner=owner)  # lets the waiting run end

        watcher = threading.Thread(target=watch)
        watcher.start()
        summary = run(plan, store=store, progress=False, echo=False)
        watcher.join()
    finally:
        other.kill()
        other.wait()
    assert "beat" in seen, "the waiting driver never refreshed its run's heartbeat"
    assert not summary.ran and not summary.ok
