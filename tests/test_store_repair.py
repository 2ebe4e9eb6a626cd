"""`dsl store repair`: whatever happened to the database, the finished work comes back."""

from __future__ import annotations

import json
import sqlite3

import pytest

from dsl.cli import main
from engine.integrity import MANIFEST
from engine.runner import run
from engine.store import Store

import fake_kinds


@pytest.fixture(autouse=True)
def _fake_kinds(monkeypatch):
    fake_kinds.install(monkeypatch)


def _finished_store(tmp_path):
    ledger, root = tmp_path / "ledger", tmp_path / "store"
    plan = fake_kinds.make_plan(ledger, 3)
    assert run(plan, store=root, progress=False, echo=False).ok
    store = Store(root)
    return plan, ledger, root, store, store.metrics(plan.jobs)


def _checkpoint(db) -> None:
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def _garbage(db) -> None:
    for suffix in ("-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    db.write_bytes(b"hello, not a database\n" * 100)


def _lost_rows(db) -> None:
    con = sqlite3.connect(db)
    con.execute("DELETE FROM jobs WHERE kind='fcombine'")
    con.execute("DELETE FROM metrics")
    con.commit()
    con.close()


def _bad_page(db) -> None:
    """Overwrite the page holding the jobs table (its root: the table is small)."""
    _checkpoint(db)
    con = sqlite3.connect(db)
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name='jobs'").fetchone()[0]
    page = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    data = bytearray(db.read_bytes())
    data[(root - 1) * page:root * page] = b"\xa5" * page
    db.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [None, _garbage, _lost_rows, _bad_page],
                         ids=["intact", "garbage", "lost-rows", "bad-page"])
def test_after_repair_a_rerun_runs_nothing_and_the_numbers_are_the_same(tmp_path, damage, capsys):
    plan, ledger, root, store, before = _finished_store(tmp_path)
    db = store.paths.db
    if damage is not None:
        damage(db)
    assert main(["store", "repair", "--store", str(root)]) == 0
    out = capsys.readouterr().out
    assert "kept the old database as" in out
    kept = sorted(root.glob("dsl.sqlite.before-repair-*"))
    assert kept and not any(p.name.endswith(".new") for p in root.iterdir())
    again = run(plan, store=root, progress=False, echo=False)
    assert again.ok and again.ran == [] and sorted(again.cached) == sorted(plan.jobs)
    assert set(fake_kinds.ledger_counts(ledger).values()) == {1}  # nothing ran twice
    assert Store(root).metrics(plan.jobs).equals(before)


def test_repair_keeps_the_runs_it_can_read(tmp_path, capsys):
    _plan, _ledger, root, store, _ = _finished_store(tmp_path)
    runs = [r.run_id for r in store.runs()]
    assert main(["store", "repair", "--store", str(root)]) == 0
    assert "salvaged 1 runs, 7 jobs, 14 metrics" in capsys.readouterr().out
    assert [r.run_id for r in Store(root).runs()] == runs


def test_artifacts_whose_manifest_does_not_name_their_job_are_left_in_place(tmp_path, capsys):
    plan, ledger, root, store, _ = _finished_store(tmp_path)
    names = fake_kinds.by_name(plan)
    manifest = store.paths.artifact(names["s0"]) / MANIFEST
    manifest.write_text(json.dumps({"files": json.loads(manifest.read_text())["files"]}))
    _garbage(store.paths.db)
    assert main(["store", "repair", "--store", str(root)]) == 0
    out = capsys.readouterr().out
    assert "re-adopted 6 finished job(s)" in out
    assert "1 artifact(s) from before manifests named their job were left in place" in out
    assert store.paths.artifact(names["s0"]).is_dir()
    again = run(plan, store=root, progress=False, echo=False)
    assert again.ok and again.ran == [names["s0"]]


def test_a_damaged_artifact_is_not_adopted(tmp_path, capsys):
    plan, _ledger, root, store, _ = _finished_store(tmp_path)
    names = fake_kinds.by_name(plan)
    value = store.paths.artifact(names["c1"]) / "value.json"
    value.write_text(value.read_text().replace("2", "7"))
    _garbage(store.paths.db)
    assert main(["store", "repair", "--store", str(root)]) == 0
    assert f"not adopted {names['c1']}: " in capsys.readouterr().out
    assert Store(root).job(names["s1"]).status == "done"
    assert names["c1"] not in Store(root).finished(plan.jobs)


@pytest.mark.parametrize("where", ["this host", "another host"])
def test_repair_refuses_while_a_live_run_uses_the_store(tmp_path, capsys, where):
    import time

    _plan, _ledger, root, store, _ = _finished_store(tmp_path)
    owner = fake_kinds_owner() if where == "this host" else "elsewhere-node:4242"
    con = sqlite3.connect(store.paths.db)
    con.execute("UPDATE runs SET status='running', owner=?, heartbeat=?", (owner, time.time()))
    con.commit()
    con.close()
    assert main(["store", "repair", "--store", str(root)]) == 2
    assert "is using this store" in capsys.readouterr().err
    assert not list(root.glob("dsl.sqlite.before-repair-*"))


def fake_kinds_owner() -> str:
    from engine.store import owner_id

    return owner_id()  # this test process: alive


def test_a_job_published_but_never_recorded_is_adopted_not_run_again(tmp_path):
    """A driver that stopped between a worker's publish and its record (a full disk under the
    database, a kill): the next run records the artifact's own metrics instead of redoing it."""
    plan, ledger, root, store, before = _finished_store(tmp_path)
    names = fake_kinds.by_name(plan)
    con = sqlite3.connect(store.paths.db)
    con.execute("UPDATE jobs SET status='running', owner='gone-host:1', heartbeat=0 "
                "WHERE job_id IN (?, ?)", (names["c1"], names["total"]))
    con.execute("DELETE FROM metrics WHERE job_id IN (?, ?)", (names["c1"], names["total"]))
    con.commit()
    con.close()
    again = run(plan, store=root, progress=False, echo=False)
    assert again.ok and again.ran == [] and sorted(again.cached) == sorted(plan.jobs)
    assert set(fake_kinds.ledger_counts(ledger).values()) == {1}
    assert Store(root).metrics(plan.jobs).equals(before)
    assert Store(root).job(names["c1"]).status == "done"
