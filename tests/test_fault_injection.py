"""A disk that fills mid-run: said as a full disk, and once space is freed the run finishes with
nothing lost. For real in a small tmpfs where the test can mount one (a user and mount namespace:
`unshare -rm`), and with a simulated ENOSPC everywhere."""

from __future__ import annotations

import errno
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from engine import diskfull
from engine.runner import run
from engine.store import Store
from engine.worker import Task, execute

import disk_fill
import fake_kinds

HERE = Path(__file__).resolve().parent
EXPECTED = {**{f"b{i}": float(i + 1) for i in range(6)},
            **{f"c{i}": float(i + 1 + 10 * i) for i in range(6)}}


@pytest.fixture(autouse=True)
def _kinds(monkeypatch):
    fake_kinds.install(monkeypatch)
    import engine.kinds

    for name, kind in disk_fill.KINDS.items():
        monkeypatch.setitem(engine.kinds.KINDS, name, kind)


def _namespace_prefix() -> list[str] | None:
    """A command prefix that runs its command in a private mount namespace, or None."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    for prefix in ([unshare, "--user", "--map-root-user", "--mount"], [unshare, "--mount"]):
        probe = subprocess.run([*prefix, "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt "
                                "2>/dev/null || mount -t tmpfs -o size=64k tmpfs /tmp"],
                               capture_output=True, timeout=30)
        if probe.returncode == 0:
            return prefix
    return None


def test_a_tmpfs_that_fills_mid_run_loses_nothing_once_space_is_freed(tmp_path):
    prefix = _namespace_prefix()
    if prefix is None:
        pytest.skip("cannot mount a tmpfs here (no user or mount namespaces); the simulated "
                    "ENOSPC test below covers the same path")
    mount = tmp_path / "disk"
    mount.mkdir()
    # 6 blobs of 300 kB and their combines in 4 MiB; each scenario leaves that many bytes free
    # after the store is made: the workers' writes hit the full disk, or the driver's database.
    leaves = ["100000", "700000", "1300000"]
    script = (f"mount -t tmpfs -o size=4m tmpfs {mount} && exec {sys.executable} "
              f"{HERE / 'disk_fill.py'} {mount} {tmp_path} 6 300000 {' '.join(leaves)}")
    done = subprocess.run([*prefix, "sh", "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert [r["leave"] for r in results] == [int(x) for x in leaves]
    for r in results:
        first, second = r["first"], r["second"]
        said = [first["error"]] if first["error"] else list(first["failed"].values())
        assert not first["ok"] and said, r  # the disk did fill
        for message in said:
            assert "is full" in message and "free" in message, message
            assert "is damaged" not in message and "Traceback" not in message
        assert second["ok"] and second["error"] is None, r
        assert r["values"] == EXPECTED  # every result, and the right one
        assert all(r["runs"][name] == 1 for name in r["done_after_first"]), r  # none redone
        assert r["debris"] == []  # no half-made database files beside the store's


def test_a_simulated_enospc_mid_run_fails_those_jobs_and_a_rerun_finishes(tmp_path, capsys):
    full, ledger = tmp_path / "full", tmp_path / "ledger"
    plan = disk_fill.make_plan(str(ledger), 6, 1000, kind="fenospc",
                               extra=lambda i: {"full": str(full), "fill": i == 3})
    summary = run(plan, store=tmp_path / "store", jobs=1, progress=False)
    assert not summary.ok and summary.failed
    for line in summary.failed.values():
        assert line.startswith(f"the disk holding the store {tmp_path / 'store'} is full (")
        assert "bytes free" in line or "iB free" in line
        assert "while writing the artifact of fenospc-" in line
        assert "No space left on device" in line
    out = capsys.readouterr().out
    assert "Traceback" not in out and "is full" in out
    store = Store(tmp_path / "store")
    done_before = store.finished(plan.jobs)
    assert done_before  # the jobs before the disk filled are kept
    full.unlink()  # space is freed
    again = run(plan, store=store, jobs=1, progress=False, echo=False)
    assert again.ok and set(again.cached) == done_before
    counts = fake_kinds.ledger_counts(ledger)
    names = {j.id: j.config["name"] for j in plan.jobs.values()}
    assert all(counts[names[j]] == 1 for j in done_before)  # nothing finished ran twice
    metrics = store.metrics(plan.jobs)
    values = {names[r["job_id"]]: r["value"] for r in metrics.iter_rows(named=True)
              if r["name"] == "value"}
    assert values == EXPECTED


def _task(tmp_path, impl: str) -> Task:
    return Task("fsource-0000000000000001", "fsource", impl, {}, {}, str(tmp_path / "store"))


def _raise(exc):
    def job(config, inputs, out_dir, ctx):
        (out_dir / "half.npy").write_bytes(b"x" * 10)
        raise exc
    return job


def test_numpy_s_short_write_on_a_full_disk_is_named_a_full_disk(tmp_path, monkeypatch):
    """The dataset job's np.save on a full disk: "N requested and M written", no errno."""
    import engine.worker

    monkeypatch.setattr(engine.worker, "resolve",
                        lambda impl: _raise(OSError("12288000 requested and 10440576 written")))
    monkeypatch.setattr(diskfull, "free_bytes", lambda path: 4096)
    result = execute(_task(tmp_path, "x:y"))
    assert not result.ok
    assert result.error_line.startswith(f"the disk holding the store {tmp_path / 'store'} is "
                                        "full (4.0 KiB free) while writing the artifact of ")
    assert "12288000 requested and 10440576 written" in result.error_line
    assert list((tmp_path / "store" / "tmp").iterdir()) == []  # the half-written staging is gone
    # The same words with space to spare are some other failure: not called a full disk.
    monkeypatch.setattr(diskfull, "free_bytes", lambda path: 10 << 30)
    result = execute(_task(tmp_path, "x:y"))
    assert result.error_line == "OSError: 12288000 requested and 10440576 written"


def test_enospc_is_a_full_disk_whatever_the_free_space_says(tmp_path, monkeypatch):
    import engine.worker

    err = OSError(errno.ENOSPC, "No space left on device", "x.npy")
    monkeypatch.setattr(engine.worker, "resolve", lambda impl: _raise(err))
    assert "is full" in execute(_task(tmp_path, "x:y")).error_line


def test_a_full_disk_under_the_database_is_not_called_damaged(tmp_path, monkeypatch):
    store = Store(tmp_path / "store")
    monkeypatch.setattr(diskfull, "free_bytes", lambda path: 0)
    for text in ("database or disk is full", "disk I/O error"):
        msg = str(store._db_error(sqlite3.OperationalError(text)))
        assert msg.startswith(f"the disk holding the store {store.root} is full (0 bytes free) "
                              f"while writing the database {store.paths.db} ({text})")
        assert "is damaged" not in msg and "rename it" not in msg
    monkeypatch.setattr(diskfull, "free_bytes", lambda path: 10 << 30)
    assert "cannot write the store" in str(store._db_error(sqlite3.OperationalError(
        "disk I/O error")))  # with space left, an I/O error is not a full disk
