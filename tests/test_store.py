"""The store: read-only probing, claims (and taking over dead or stale ones), metrics, runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dsl.errors import DslError
from dsl.graph import Job
from engine.jobs import Metric
from engine.paths import ArtifactPaths
from engine.store import Store, hostname, resolve_root

import fake_kinds


def _job(name="a", value=1):
    return Job.make("fsource", "1", {"name": name, "value": value})


def _publish(store: Store, job_id: str) -> None:
    staging = store.paths.staging(job_id)
    (staging / "value.json").write_text("{}")
    store.paths.publish(staging, job_id)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_resolve_root_order(tmp_path, monkeypatch):
    monkeypatch.setenv("DSL_STORE", str(tmp_path / "env"))
    assert resolve_root(str(tmp_path / "cli")) == tmp_path / "cli"
    assert resolve_root(None) == tmp_path / "env"
    monkeypatch.delenv("DSL_STORE")
    monkeypatch.chdir(tmp_path)
    assert resolve_root(None) == tmp_path / ".dsl"


def test_reading_a_missing_store_creates_nothing(tmp_path):
    store = Store(tmp_path / "nowhere")
    assert store.finished(["fsource-0000000000000000"]) == set()
    assert store.runs() == []
    assert store.metrics().is_empty()
    with pytest.raises(DslError):
        store.job("fsource-0000000000000000")
    assert not (tmp_path / "nowhere").exists()


def test_claim_complete_and_metrics(tmp_path):
    store = Store(tmp_path)
    job = _job()
    assert store.claim(job, "me:1")
    assert store.job(job.id).status == "running"
    _publish(store, job.id)
    store.complete(job.id, [Metric("accuracy", "test", 0.5), Metric("sensitivity", None, 0.25)],
                   1.5, "h")
    rec = store.job(job.id)
    assert (rec.status, rec.seconds, rec.host, rec.config) == ("done", 1.5, "h", dict(job.config))
    assert store.finished([job.id, "fsource-ffffffffffffffff"]) == {job.id}
    df = store.metrics([job.id])
    assert df.columns == ["job_id", "name", "split", "value"]
    rows = {(r["name"], r["split"]): r["value"] for r in df.iter_rows(named=True)}
    assert rows == {("accuracy", "test"): 0.5, ("sensitivity", None): 0.25}
    # A done job is not claimed again, by anyone.
    assert not store.claim(job, "me:1")
    assert not store.claim(job, "other:2")


def test_done_without_artifact_is_not_finished(tmp_path):
    store = Store(tmp_path)
    job = _job()
    store.claim(job, "me:1")
    store.complete(job.id, [], 0.1, "h")
    assert store.finished([job.id]) == set()
    assert store.claim(job, "me:1")  # its artifact was lost: it must be computed again


def test_live_claim_blocks_dead_claim_is_taken_over(tmp_path):
    store = Store(tmp_path)
    job = _job()
    assert store.claim(job, f"{hostname()}:{os.getpid()}")  # alive: this test process
    assert not store.claim(job, "someone:else")
    dead = _job("b")
    assert store.claim(dead, f"{hostname()}:{_dead_pid()}")
    assert store.claim(dead, "me:1")
    assert store.job(dead.id).owner == "me:1"


def test_stale_heartbeat_on_another_host_is_taken_over(tmp_path):
    store = Store(tmp_path, stale_after=0.5)
    job = _job()
    assert store.claim(job, "far-away-node:123")  # other host: liveness unknown, heartbeat counts
    assert not store.claim(job, "me:1")
    time.sleep(0.3)
    store.heartbeat("far-away-node:123")
    time.sleep(0.3)
    assert not store.claim(job, "me:1")  # the heartbeat kept it fresh
    time.sleep(0.6)
    assert store.claim(job, "me:1")


def test_failed_and_released_jobs_are_claimable(tmp_path):
    store = Store(tmp_path)
    job = _job()
    store.claim(job, "me:1")
    store.fail(job.id, "Traceback...\nValueError: boom\n", 0.2, "h")
    rec = store.job(job.id)
    assert (rec.status, rec.error_line) == ("failed", "ValueError: boom")
    assert store.claim(job, "other:2")
    store.release("other:2")
    assert store.job(job.id).status == "pending"
    assert store.claim(job, "me:1")


def test_skip_never_overwrites_done(tmp_path):
    store = Store(tmp_path)
    job = _job()
    store.claim(job, "me:1")
    _publish(store, job.id)
    store.complete(job.id, [], 0.1, "h")
    store.skip(job, "input x failed")
    assert store.job(job.id).status == "done"
    other = _job("b")
    store.skip(other, "input x failed")
    assert (store.job(other.id).status, store.job(other.id).error) == ("skipped", "input x failed")


def test_skip_never_overwrites_a_job_another_driver_is_running(tmp_path):
    """A failure upstream in one driver must not mark skipped a job a live other driver holds
    (its result would then be recorded over a 'skipped' row, or the job run twice)."""
    store = Store(tmp_path)
    job = _job()
    assert store.claim(job, "other-node:7")
    store.skip(job, "input x failed")
    rec = store.job(job.id)
    assert (rec.status, rec.owner, rec.error) == ("running", "other-node:7", None)


def test_an_owner_may_claim_again_a_job_it_holds(tmp_path):
    """A driver re-claiming its own running job (a retry inside the same process) gets it, while
    the same live claim still blocks everyone else."""
    store = Store(tmp_path)
    job = _job()
    assert store.claim(job, "far-node:5")  # another host: liveness unknown, heartbeat is fresh
    assert not store.claim(job, "me:1")
    assert store.claim(job, "far-node:5")
    assert store.job(job.id).owner == "far-node:5"


def test_reopen_puts_a_damaged_job_back_to_pending_and_keeps_its_metrics(tmp_path):
    store = Store(tmp_path)
    job = _job()
    assert store.claim(job, "me:1")
    _publish(store, job.id)
    store.complete(job.id, [Metric("value", None, 1.0)], 0.1)
    store.reopen(job.id, "value.json is missing")
    rec = store.job(job.id)
    assert (rec.status, rec.owner) == ("pending", None)
    assert rec.error == "artifact damaged: value.json is missing"
    assert not store.paths.artifact(job.id).exists() and store.finished([job.id]) == set()
    assert store.metrics([job.id])["value"].to_list() == [1.0]  # kept until it completes again
    assert store.claim(job, "me:1")


def test_a_job_that_runs_again_and_succeeds_forgets_its_old_error(tmp_path):
    store = Store(tmp_path)
    job = _job()
    assert store.claim(job, "me:1")
    store.fail(job.id, "Traceback...\nValueError: boom\n", 0.2, "h")
    assert store.claim(job, "me:1")  # a rerun retries it
    rec = store.job(job.id)
    assert (rec.status, rec.error, rec.finished, rec.seconds) == ("running", None, None, None)
    _publish(store, job.id)
    store.complete(job.id, [], 0.3, "h")
    rec = store.job(job.id)
    assert (rec.status, rec.error, rec.seconds) == ("done", None, 0.3)
    # a late success recorded over a failure (a superseded driver's result) carries no error
    store.fail(job.id, "Traceback...\nValueError: again\n", 0.2, "h")
    store.complete(job.id, [], 0.4, "h")
    assert (store.job(job.id).status, store.job(job.id).error) == ("done", None)


def test_lookups_of_many_jobs_miss_none(tmp_path):
    """finished, jobs and metrics query in chunks of SQL parameters: a plan of thousands of jobs
    must get every one back, the last of each chunk included."""
    import sqlite3

    store = Store(tmp_path)
    store.claim(_job("first"), "me:1")  # creates the database
    ids = [f"fsource-{i:016x}" for i in range(1001)]  # chunks of 500: ..499, ..999, 1000
    con = sqlite3.connect(store.paths.db)
    with con:  # one transaction: rows as complete() writes them
        con.executemany("INSERT INTO jobs (job_id, kind, status) VALUES (?, 'fsource', 'done')",
                        [(i,) for i in ids])
        con.executemany("INSERT INTO metrics VALUES (?, 'value', '', ?)",
                        [(j, float(i)) for i, j in enumerate(ids)])
    con.close()
    for jid in ids:
        store.paths.artifact(jid).mkdir(parents=True)
    assert store.finished(ids) == set(ids)
    assert set(store.jobs(ids)) == set(ids)
    df = store.metrics(ids)
    assert df.height == 1001 and sorted(df["value"].to_list()) == [float(i) for i in range(1001)]


def test_a_run_prefix_must_name_one_run(tmp_path):
    store = Store(tmp_path)
    spec = fake_kinds.make_plan(None, 1).specs[0]
    first, second = store.record_run(spec), store.record_run(spec)
    common = os.path.commonprefix([first, second])
    with pytest.raises(DslError, match="ambiguous"):
        store.run(common)
    assert store.run(first).run_id == first and store.run(second[:len(common) + 1]).run_id == second


def test_record_and_read_runs(tmp_path):
    store = Store(tmp_path)
    plan = fake_kinds.make_plan(None, 2)
    spec = plan.specs[0]
    first = store.record_run(spec, "smoke", ["train.epochs=1"])
    time.sleep(0.01)
    second = store.record_run(spec, None, [])
    store.finish_run(first, "done")
    runs = store.runs("fake")
    assert [r.run_id for r in runs] == [second, first]
    rec = store.run(first[:-2])  # a unique prefix is enough
    assert (rec.status, rec.profile, rec.overrides, rec.spec_text) == (
        "done", "smoke", ["train.epochs=1"], "# fake\n")
    assert rec.host == hostname() and rec.finished is not None
    if (Path(__file__).resolve().parent.parent / ".git").exists():
        assert re.fullmatch("[0-9a-f]{40}", rec.git or "")  # the code's revision
    assert [c["seed"] for c in rec.cells] == [0, 1]
    assert rec.cells[0]["probes"][0]["job"] == str(spec.cells[0].probes[0].job)
    assert rec.job_ids() == {str(c.train) for c in spec.cells} | {
        str(p.job) for c in spec.cells for p in c.probes}
    assert store.runs("other") == []
    with pytest.raises(DslError):
        store.run("nope")


def test_recorded_files_are_those_of_the_newest_run_with_the_same_profile(tmp_path):
    """Without its local data a spec gets the files version its last run under the same
    --profile read (another profile's run may have read other files)."""
    import dataclasses

    from dsl.graph import Cell

    store = Store(tmp_path)
    spec = fake_kinds.make_plan(None, 1).specs[0]
    for name, fp, profile in (("a", "sha256:aaaa", "smoke"), ("b", "sha256:bbbb", None)):
        job = Job.make("fsource", "1", {"name": name, "files": {"cifar10": fp}})
        assert store.claim(job, "me:1")
        store.record_run(dataclasses.replace(spec, cells=(Cell("fake", 0, {}, job.id, ()),)),
                         profile)
        time.sleep(0.01)
    assert store.recorded_files("cifar10", "fake", "smoke") == "sha256:aaaa"
    assert store.recorded_files("cifar10", "fake", None) == "sha256:bbbb"
    assert store.recorded_files("cifar100", "fake", None) is None


def test_publish_is_a_rename_and_replaces_a_leftover(tmp_path):
    paths = ArtifactPaths(tmp_path)
    jid = "fsource-0123456789abcdef"
    leftover = paths.tmp / f"{jid}.99999"
    leftover.mkdir(parents=True)
    (leftover / "half.txt").write_text("x")
    staging = paths.staging(jid)
    assert not leftover.exists()  # an earlier attempt's debris is cleared
    assert staging.parent == paths.tmp
    (staging / "a.txt").write_text("1")
    final = paths.publish(staging, jid)
    assert final == tmp_path / "artifacts" / "fsource" / jid
    assert (final / "a.txt").read_text() == "1" and not staging.exists()
    again = paths.staging(jid)
    (again / "a.txt").write_text("2")
    paths.publish(again, jid)
    assert (final / "a.txt").read_text() == "2"
    assert list(paths.tmp.iterdir()) == []


def test_problem_notices_any_change_of_size_and_trusts_folders_without_a_manifest(tmp_path):
    paths = ArtifactPaths(tmp_path)
    jid = "fsource-0123456789abcdef"
    staging = paths.staging(jid)
    (staging / "sub").mkdir()
    (staging / "sub" / "a.bin").write_bytes(b"12345")
    final = paths.publish(staging, jid)
    assert paths.problem(jid) is None
    (final / "sub" / "a.bin").write_bytes(b"123456")  # grown (appended to, rewritten)
    assert paths.problem(jid) == f"{final / 'sub' / 'a.bin'} has 6 bytes, 5 when it was written"
    (final / "sub" / "a.bin").write_bytes(b"54321")  # same size: not noticed (documented)
    assert paths.problem(jid) is None
    (final / ".manifest.json").unlink()  # published before manifests existed: cannot be checked
    assert paths.problem(jid) is None
    (final / ".manifest.json").write_text("{not json")
    assert "manifest" in paths.problem(jid) and "unreadable" in paths.problem(jid)
    assert "is missing" in paths.problem("fsource-ffffffffffffffff")


def test_a_live_but_silent_owner_loses_its_claim(tmp_path):
    # A hung driver, or a dead driver's pid reused by an unrelated process: alive, never beating.
    store = Store(tmp_path, stale_after=0.3)
    job = _job()
    assert store.claim(job, f"{hostname()}:{os.getpid()}")
    assert not store.claim(job, "me:1")
    time.sleep(0.5)
    assert store.claim(job, "me:1")


def test_a_superseded_owner_cannot_fail_the_job(tmp_path):
    store = Store(tmp_path, stale_after=0.05)
    job = _job()
    assert store.claim(job, "old-node:1")
    time.sleep(0.1)
    assert store.claim(job, "new-node:2")  # the old owner went silent: taken over
    store.fail(job.id, "boom", owner="old-node:1")  # its late report must not count
    assert store.job(job.id).status == "running"
    store.fail(job.id, "boom", owner="new-node:2")
    assert store.job(job.id).status == "failed"


@pytest.mark.parametrize("damage", [b"hello, not a database\n", b"SQLite format 3\x00" + b"\xff" * 4096],
                         ids=["not-sqlite", "bad-header"])
def test_a_damaged_database_is_one_clear_error(tmp_path, damage):
    store = Store(tmp_path / "store")
    job = _job()
    assert store.claim(job, "me:1")
    for extra in ("-wal", "-shm"):
        Path(f"{store.paths.db}{extra}").unlink(missing_ok=True)
    store.paths.db.write_bytes(damage)
    fresh = Store(tmp_path / "store")
    for call in (lambda: fresh.finished([job.id]), lambda: fresh.claim(job, "me:1"),
                 lambda: fresh.runs()):
        with pytest.raises(DslError) as err:
            call()
        assert str(store.paths.db) in str(err.value) and "damaged" in str(err.value)
        assert "dsl store repair" in str(err.value) and ".dump" in str(err.value)


def test_an_empty_database_file_is_an_empty_store(tmp_path):
    store = Store(tmp_path / "store")
    store.root.mkdir(parents=True)
    store.paths.db.write_bytes(b"")  # e.g. `touch`ed, or a disk that filled up
    job = _job()
    assert store.finished([job.id]) == set() and store.runs() == []
    assert store.claim(job, "me:1")  # the first write creates the tables
    assert store.job(job.id).status == "running"


def test_a_store_path_that_is_a_file_is_one_clear_error(tmp_path):
    (tmp_path / "afile").write_text("not a folder")
    for root in (tmp_path / "afile", tmp_path / "afile" / "store"):
        store = Store(root)
        assert store.finished([_job().id]) == set()  # reading creates nothing, fails nothing
        with pytest.raises(DslError, match="is a file; pass --store DIR") as err:
            store.claim(_job(), "me:1")
        assert str(root) in str(err.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders anyway")
def test_a_read_only_store_is_readable_and_says_why_it_cannot_be_written(tmp_path):
    store = Store(tmp_path / "store")
    job = _job()
    assert store.claim(job, "me:1")
    _publish(store, job.id)
    store.complete(job.id, [Metric("value", None, 1.0)], 0.1)
    store.root.chmod(0o555)  # an archived store, or a colleague's
    try:
        ro = Store(tmp_path / "store")
        assert ro.finished([job.id]) == {job.id} and ro.job(job.id).status == "done"
        with pytest.raises(DslError, match="cannot write the store") as err:
            ro.claim(_job("b"), "me:1")
        assert str(store.root) in str(err.value)
    finally:
        store.root.chmod(0o755)


def _set_run_owner(store: Store, run_id: str, owner: str) -> None:
    import sqlite3

    con = sqlite3.connect(store.paths.db)
    with con:
        con.execute("UPDATE runs SET owner=? WHERE run_id=?", (owner, run_id))
    con.close()


def test_a_run_whose_driver_died_on_this_host_shows_and_is_recorded_as_died(tmp_path):
    store = Store(tmp_path)
    spec = fake_kinds.make_plan(None, 1).specs[0]
    dead = f"{hostname()}:{_dead_pid()}"
    killed = store.record_run(spec)
    _set_run_owner(store, killed, dead)
    assert store.claim(_job("a"), owner=dead) and store.claim(_job("b"), owner=dead)
    store.complete(str(_job("a").id), [], 1.0)
    last = time.time()
    store.heartbeat(dead, [str(_job("b").id)])
    live = store.record_run(spec)  # this process: alive
    elsewhere = store.record_run(spec)
    _set_run_owner(store, elsewhere, "some-other-host:1")  # cannot be checked from here

    # Reading shows it as died (with when it was last seen alive) without writing anything.
    reader = Store(tmp_path)
    shown = {r.run_id: r for r in reader.runs("fake")}
    assert shown[killed].status == "died" and shown[killed].owner == dead
    assert last - 1 < shown[killed].finished <= time.time()
    assert reader.run(killed).status == "died"
    assert (shown[live].status, shown[live].finished) == ("running", None)
    assert shown[elsewhere].status == "running"

    # The next store opened for writing settles it in the database.
    import sqlite3

    def stored():
        con = sqlite3.connect(store.paths.db)
        rows = dict(con.execute("SELECT run_id, status FROM runs").fetchall())
        con.close()
        return rows

    assert stored()[killed] == "running"
    writer = Store(tmp_path)
    writer.heartbeat()
    assert stored() == {killed: "died", live: "running", elsewhere: "running"}
    assert writer.run(killed).finished == shown[killed].finished


def test_a_store_made_before_runs_had_an_owner_still_works(tmp_path):
    """An old store: its runs table lacks the owner column. It is read as it is and gains the
    column (ALTER TABLE) when first opened for writing; its runs are kept."""
    import sqlite3

    tmp_path.mkdir(exist_ok=True)
    con = sqlite3.connect(tmp_path / "dsl.sqlite")
    con.execute("PRAGMA journal_mode = WAL")
    con.executescript("""
        CREATE TABLE runs (run_id TEXT PRIMARY KEY, spec TEXT NOT NULL, spec_path TEXT,
            spec_text TEXT, spec_hash TEXT, resolved TEXT, profile TEXT, overrides TEXT,
            git TEXT, host TEXT, started REAL, finished REAL, status TEXT, cells TEXT);
        INSERT INTO runs (run_id, spec, started, status, cells)
            VALUES ('old-1', 'fake', 1.0, 'running', '[]');
    """)
    con.close()
    store = Store(tmp_path)
    (old,) = store.runs("fake")
    assert (old.run_id, old.status, old.owner) == ("old-1", "running", None)  # unknown: kept
    new = store.record_run(fake_kinds.make_plan(None, 1).specs[0])
    runs = {r.run_id: r for r in Store(tmp_path).runs("fake")}
    assert runs["old-1"].status == "running" and runs[new].owner.endswith(f":{os.getpid()}")


def test_a_killed_but_unreaped_driver_counts_as_dead(tmp_path):
    """A driver killed while its parent has not reaped it yet (a zombie) has ended: its claims
    and runs are settled like any dead driver's."""
    from engine.store import owner_alive

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert owner_alive(f"{hostname()}:{proc.pid}") is True
        proc.kill()
        deadline = time.time() + 10
        while owner_alive(f"{hostname()}:{proc.pid}") is not False:  # a zombie until wait()
            assert time.time() < deadline
            time.sleep(0.05)
        assert os.path.exists(f"/proc/{proc.pid}")  # not reaped: still in the process table
    finally:
        proc.wait()


def test_a_statement_error_is_not_reported_as_a_damaged_store(tmp_path):
    """A constraint a write breaks (a job returning one metric twice) is a bug in what was
    written, not damage to the database: it must not tell the user to set their store aside."""
    import sqlite3

    store = Store(tmp_path)
    job = _job()
    assert store.claim(job, "me:1")
    _publish(store, job.id)
    with pytest.raises(sqlite3.IntegrityError):
        store.complete(job.id, [Metric("value", None, 1.0), Metric("value", None, 2.0)], 0.1)
    assert store.job(job.id).status == "running"  # rolled back; the store is fine
