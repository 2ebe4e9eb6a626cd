"""`dsl status` of a `--rerun`: a finished job the run computes again is queued until it is
computed anew, not "done" because of its old result (a rerun of 2,000 jobs read "2,000/2,000
done, about 1s left" a minute in)."""

from __future__ import annotations

import time

import fake_kinds
from engine import run_status, runfiles
from engine.runner import run
from engine.store import Store


def test_a_rerun_counts_its_jobs_as_queued_until_they_are_computed_again(tmp_path,
                                                                         monkeypatch):
    fake_kinds.install(monkeypatch)
    plan = fake_kinds.make_plan(None, 2)
    names = fake_kinds.by_name(plan)
    root = tmp_path / "store"
    assert run(plan, store=root, progress=False, echo=False).ok
    store = Store(root)

    # a second run that recomputes c0 and total, seen before it has finished either
    time.sleep(0.01)
    spec = plan.specs[0]
    run_id = store.record_run(spec)
    redo = {names["c0"], names["total"]}
    runfiles.note_driver(root, {run_id: {j: plan.jobs[j].kind for j in plan.jobs}},
                         rerun=redo)
    state = run_status.status(store, store.run(run_id))
    assert state["jobs"]["queued"] == 2 and state["jobs"]["done"] == len(plan.jobs) - 2
    # c0, c1 and total are fcombine jobs: c1 is not rerun
    assert state["by_kind"]["fcombine"] == {"done": 1, "running": 0, "queued": 2,
                                           "failed": 0, "skipped": 0}

    # c0 computed again by this run: done; total still waits
    job = plan.jobs[names["c0"]]
    assert store.claim(job, force=True)
    state = run_status.status(store, store.run(run_id))
    assert state["jobs"]["running"] == 1 and state["jobs"]["queued"] == 1
    store.complete(job.id, [], 0.1)
    state = run_status.status(store, store.run(run_id))
    assert state["jobs"]["queued"] == 1 and state["by_kind"]["fcombine"]["done"] == 2


def test_the_driver_records_which_jobs_a_rerun_computes_again(tmp_path, monkeypatch):
    fake_kinds.install(monkeypatch)
    plan = fake_kinds.make_plan(None, 2)
    names = fake_kinds.by_name(plan)
    root = tmp_path / "store"
    assert run(plan, store=root, progress=False, echo=False).ok
    again = run(plan, store=root, progress=False, echo=False, rerun=["fcombine"])
    assert again.ok
    info = runfiles.driver(root, again.run_ids["fake"])
    # the combines and what reads them
    assert set(info["rerun"]) == {names["c0"], names["c1"], names["total"]}
    state = run_status.status(Store(root), Store(root).run(again.run_ids["fake"]))
    assert state["jobs"]["done"] == len(plan.jobs) and state["jobs"]["queued"] == 0
