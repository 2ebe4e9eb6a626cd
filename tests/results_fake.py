"""Fake results for the results and diff tests: a store filled as if a plan had run.

Running real training is far too slow for tests of tables, charts and diffs, and these tests are
about what happens *after* a run, so jobs are marked done in a real `engine.store.Store` (claim,
artifact folder, metrics) with values from a caller's function: the store, the planner and the
results code are all real; only the numbers are chosen by the test.
"""

from __future__ import annotations

import hashlib
from typing import Callable, Iterable

from dsl.graph import Job, Plan
from engine.jobs import Metric
from engine.store import Store

# The metrics each kind reports (docs/jobs.md) with the splits they carry.
KIND_METRICS = {
    "train": [("accuracy", "test"), ("accuracy", "val"), ("loss", "test")],
    "linear": [("accuracy", "test"), ("accuracy", "val"), ("loss", "test")],
    "finetune": [("accuracy", "test"), ("linear_accuracy", "test")],
    "sensitivity": [("sensitivity", None), ("pair_distance", None)],
    "accuracy": [("accuracy", "test")],
}


def noise(job_id: str) -> float:
    """A deterministic number in [0, 1) from a job id: stable 'seed noise'."""
    return int(hashlib.sha256(job_id.encode()).hexdigest()[:8], 16) / 16 ** 8


def default_value(job: Job, metric: str, split: str | None) -> float:
    return 0.5 + 0.1 * noise(f"{job.id}:{metric}:{split}")


def complete(store: Store, jobs: Iterable[Job],
             value: Callable[[Job, str, str | None], float] = default_value,
             fail: Callable[[Job], bool] = lambda job: False) -> None:
    """Mark every job done (or failed) in the store, with metrics from `value`."""
    for job in jobs:
        store.claim(job)
        if fail(job):
            store.fail(job.id, "ValueError: told to fail", 0.1)
            continue
        store.paths.artifact(job.id).mkdir(parents=True, exist_ok=True)
        metrics = [Metric(name, split, value(job, name, split))
                   for name, split in KIND_METRICS.get(job.kind, [])]
        store.complete(job.id, metrics, 0.1)


def complete_plan(store: Store, plan: Plan, **kw) -> None:
    complete(store, list(plan.topological()), **kw)
