"""`dsl verify`: read every finished job's artifact against its manifest, and find old divergences.

Per finished job: intact, unverified (published before content hashes: see engine.integrity),
damaged (a file missing, or of another size or content), or diverged: finished before this
version failed diverged jobs (engine.divergence), with a non-finite metric. `reopen` sends the
damaged and diverged ones (and, for a diverged one, the finished jobs made from it) back to
pending, so the next `dsl run` makes them again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable

from engine.integrity import check


@dataclass
class Findings:
    checked: int = 0
    intact: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    damaged: dict[str, str] = field(default_factory=dict)  # job id -> problem
    diverged: dict[str, str] = field(default_factory=dict)  # job id -> the non-finite metric

    @property
    def ok(self) -> bool:
        return not self.damaged and not self.diverged


def scan(store, job_ids: Iterable[str] | None = None) -> Findings:
    """Check the finished jobs of the store (all, or those among `job_ids`)."""
    records = store.jobs(None if job_ids is None else list(job_ids))
    done = sorted(j for j, rec in records.items() if rec.status == "done")
    found = Findings(checked=len(done))
    metrics = store.metrics(done) if done else None
    if metrics is not None:
        for row in metrics.iter_rows(named=True):
            value = row["value"]  # SQLite stores nan as NULL
            if value is None or not math.isfinite(value):
                where = f"@{row['split']}" if row["split"] else ""
                shown = "nan" if value is None else value
                found.diverged.setdefault(row["job_id"], f"its {row['name']}{where} is {shown}")
    for jid in done:
        verdict = check(store.paths.artifact(jid))
        if verdict.damaged:
            found.damaged[jid] = verdict.problem
        elif verdict.status == "unverified":
            found.unverified.append(jid)
        else:
            found.intact.append(jid)
    return found


def descendants(store, roots: Iterable[str]) -> set[str]:
    """Every job recorded as reading, directly or not, one of `roots`."""
    readers: dict[str, list[str]] = {}
    for jid, rec in store.jobs().items():
        for dep in rec.inputs.values():
            readers.setdefault(str(dep), []).append(jid)
    out: set[str] = set()
    stack = list(roots)
    while stack:
        for reader in readers.get(stack.pop(), ()):
            if reader not in out:
                out.add(reader)
                stack.append(reader)
    return out


def reopen(store, found: Findings) -> list[str]:
    """Send damaged and diverged jobs (and the finished jobs made from a diverged one) back to
    pending; return the ids reopened."""
    reasons = {j: f"verify: {p}" for j, p in found.damaged.items()}
    reasons.update({j: f"verify: diverged ({p})" for j, p in found.diverged.items()})
    for jid in descendants(store, found.diverged):
        reasons.setdefault(jid, "verify: made from a diverged job")
    done = {j for j, rec in store.jobs(list(reasons)).items() if rec.status == "done"}
    for jid in sorted(done):
        store.reopen(jid, reasons[jid])
    return sorted(done)
