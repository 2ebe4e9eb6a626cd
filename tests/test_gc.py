"""`dsl gc`: what no spec and no recent run reaches goes, with its bytes; nothing else does."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from dsl.cli import main
from dsl.planner import plan
from engine import gc
from engine.store import Store

from test_results_tables import SPEC

sys.path.insert(0, str(Path(__file__).parent))
from results_fake import complete_plan  # noqa: E402


def _spec(folder: Path, name: str, levels: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(SPEC.replace('title = "Tiny"', f'title = "{name}"\nname = "{name}"')
                    .replace('tf = ["rotate", "hue"]', f"tf = {levels}"))
    return path


def _filled(tmp_path):
    """Specs a (rotate, hue) and b (rotate) in one folder, every job done with 1 KB artifacts."""
    specs = tmp_path / "specs"
    a, b = _spec(specs, "a", '["rotate", "hue"]'), _spec(specs, "b", '["rotate"]')
    store = Store(tmp_path / "store")
    pa, pb = plan([a]), plan([b])
    complete_plan(store, pa)
    for jid in pa.jobs:
        (store.paths.artifact(jid) / "blob.bin").write_bytes(b"x" * 1000)
    return specs, a, store, pa, pb


def test_gc_after_removing_a_spec_frees_its_jobs_and_keeps_every_job_another_spec_plans(
        tmp_path, capsys):
    specs, a, store, pa, pb = _filled(tmp_path)
    only_a = set(pa.jobs) - set(pb.jobs)
    assert only_a and set(pb.jobs) < set(pa.jobs)  # b's jobs are all shared with a
    a.unlink()
    assert main(["gc", str(specs), "--store", str(store.root), "--no-dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"deleting {len(only_a)} job(s)" in out
    assert f"freed {gc.size_text(1000 * len(only_a))}" in out
    assert store.finished(pb.jobs) == set(pb.jobs)
    assert not store.jobs(only_a) and store.metrics(only_a).is_empty()
    assert not any(store.paths.artifact(j).exists() for j in only_a)
    assert main(["gc", str(specs), "--store", str(store.root), "--no-dry-run"]) == 0
    assert "deleting 0 job(s)" in capsys.readouterr().out


def test_gc_dry_run_deletes_nothing_and_is_the_default_off_a_terminal(tmp_path, capsys):
    specs, a, store, pa, pb = _filled(tmp_path)
    a.unlink()
    before = sorted(p for p in store.root.rglob("*") if p.is_file() and "dsl.sqlite" not in p.name)
    assert main(["gc", str(specs), "--store", str(store.root)]) == 0  # stdout is not a tty
    out = capsys.readouterr().out
    n = len(set(pa.jobs) - set(pb.jobs))
    assert f"would delete {n} job(s)" in out and "dry run: nothing deleted" in out
    assert main(["gc", str(specs), "--store", str(store.root), "--dry-run", "-v"]) == 0
    assert sorted(p for p in store.root.rglob("*") if p.is_file()
                  and "dsl.sqlite" not in p.name) == before
    assert store.finished(pa.jobs) == set(pa.jobs)


def test_gc_keeps_recent_runs_live_claims_and_other_profiles_when_asked(tmp_path, capsys):
    specs, a, store, pa, pb = _filled(tmp_path)
    run_id = store.record_run(pa.specs[0])
    store.finish_run(run_id, "done")
    a.unlink()
    found = gc.collect(store, [str(specs)], planner=plan)
    assert not found.delete  # a's run is recent: its jobs stay
    old = gc.collect(store, [str(specs)], planner=plan, now=time.time() + 31 * gc.DAY_S)
    assert set(old.delete) == set(pa.jobs) - set(pb.jobs)
    # A job claimed by a live driver stays, however old the run naming it.
    victim = sorted(old.delete)[0]
    assert store.claim(pa.jobs[victim], force=True)
    held = gc.collect(store, [str(specs)], planner=plan, now=time.time() + 31 * gc.DAY_S)
    assert victim not in held.delete
    assert gc.delete(store, old)[0] == len(old.delete) - 1  # re-checked under the write lock
    assert store.job(victim).status == "running"
    # --all-profiles: results of a profile a recorded run used are kept.
    psmoke = plan([specs / "b.toml"], profile="smoke")
    complete_plan(store, psmoke)
    store.finish_run(store.record_run(psmoke.specs[0], profile="smoke"), "done")
    later = time.time() + 31 * gc.DAY_S
    smoke_only = set(psmoke.jobs) - set(pb.jobs)
    assert smoke_only <= set(gc.collect(store, [str(specs)], planner=plan, now=later).delete)
    kept = gc.collect(store, [str(specs)], planner=plan, all_profiles=True, now=later)
    assert not set(psmoke.jobs) & set(kept.delete) and kept.profiles == [None, "smoke"]


def test_an_interrupted_gc_leaves_folders_without_rows_that_the_next_one_removes(tmp_path,
                                                                                  monkeypatch):
    specs, a, store, pa, pb = _filled(tmp_path)
    a.unlink()
    found = gc.collect(store, [str(specs)], planner=plan)
    gone = set(found.delete)

    def crash(*args, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(store.paths, "withdraw", crash)
    try:
        gc.delete(store, found)
    except KeyboardInterrupt:
        pass
    monkeypatch.undo()
    assert store.finished(gone) == set()  # rows gone first: no result without its row
    assert store.finished(pb.jobs) == set(pb.jobs)
    again = gc.collect(store, [str(specs)], planner=plan)
    assert set(again.orphans) == gone and not again.delete
    gc.delete(store, again)
    assert not any(store.paths.artifact(j).exists() for j in gone)


def test_gc_removes_leftovers_under_tmp_but_not_a_live_jobs_staging(tmp_path):
    specs, a, store, pa, pb = _filled(tmp_path)
    jobs = sorted(pb.jobs)
    live, dead = pb.jobs[jobs[0]], jobs[1]
    assert store.claim(live, force=True)  # this process: a live driver
    staging = store.paths.staging(live.id)
    (staging / "part.bin").write_bytes(b"y" * 10)
    killed = store.paths.tmp / f"{dead}.999999"
    killed.mkdir()
    (killed / "part.bin").write_bytes(b"z" * 100)
    cut_short = store.paths.tmp / f"{dead}.gc-0123abcd"
    cut_short.mkdir()
    found = gc.collect(store, [str(specs)], planner=plan)
    assert set(found.debris) == {killed.name, cut_short.name} and found.bytes == 100
    gc.delete(store, found)
    assert staging.is_dir() and not killed.exists() and not cut_short.exists()
