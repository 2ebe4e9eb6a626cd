"""`dsl gc`: remove the jobs nothing can reach any more, with their artifacts.

A job is kept when a spec in the given folders plans it (under `--profile`, or with
`all_profiles` under every profile a recorded run used), when a run recorded in the last
`keep_runs_days` named it, when a live run named it, or when a live driver holds its claim; the
inputs of every kept job are kept with it. Everything else goes: its database rows (job, metrics,
provenance) and its artifact folder, plus artifact folders no row describes.

Deleting is crash-safe: a batch's rows go in one transaction (which re-reads the live runs and
claims under the write lock, so a run that started meanwhile keeps what it uses), and only then
are its folders renamed out of place and removed. Interrupted between the two, the store holds
folders without rows: never read as results (a job is finished only by its row), and removed by
the next gc.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from engine.provenance import with_recorded_inputs

DAY_S = 86400.0
BATCH = 200


@dataclass
class GcPlan:
    """What gc found: jobs to delete (with their bytes) and why the rest stays."""

    delete: dict[str, int] = field(default_factory=dict)  # job id -> bytes of its artifact
    orphans: dict[str, int] = field(default_factory=dict)  # artifact folders without a row
    debris: dict[str, int] = field(default_factory=dict)  # leftovers under tmp/ -> bytes
    kept: Counter = field(default_factory=Counter)  # reason -> jobs
    profiles: list[str | None] = field(default_factory=list)  # the profiles planned
    specs: int = 0

    @property
    def bytes(self) -> int:
        return sum(self.delete.values()) + sum(self.orphans.values()) + \
            sum(self.debris.values())

    def by_kind(self) -> Counter:
        return Counter(jid.rsplit("-", 1)[0] for jid in [*self.delete, *self.orphans])


def folder_bytes(folder: Path) -> int:
    total = 0
    for top, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += (Path(top) / name).lstat().st_size
            except OSError:
                pass
    return total


def _planned(plan: Callable[..., Any], paths: Sequence[str], store: Any,
             profiles: Iterable[str | None], overrides: Sequence[str],
             data_root: Any) -> tuple[set[str], int]:
    from engine.store import recorded_lookup

    jobs: set[str] = set()
    specs = 0
    for profile in profiles:
        p = plan(list(paths), profile=profile, overrides=tuple(overrides),
                 recorded=recorded_lookup(store), data_root=data_root)
        jobs |= set(p.jobs)
        specs = max(specs, len(p.specs))
    return jobs, specs


def _live(store: Any, records: dict) -> set[str]:
    """Jobs a live driver holds or a live run names (with their inputs)."""
    held = {j for j, r in records.items() if r.status == "running" and
            not store.abandoned(r.owner, r.heartbeat)}
    named = {j for r in store.runs() if r.status == "running" for j in r.job_ids()}
    return held | with_recorded_inputs(store, named, records)


def collect(store: Any, paths: Sequence[str], *, planner: Callable[..., Any],
            profile: str | None = None,
            overrides: Sequence[str] = (), all_profiles: bool = False,
            keep_runs_days: float = 30.0, data_root: Any = None,
            now: float | None = None) -> GcPlan:
    """What `dsl gc` would delete from `store` and why it keeps the rest; deletes nothing.
    `planner` is `dsl.planner.plan` (handed in from above: the engine does not plan)."""
    now = time.time() if now is None else now
    out = GcPlan()
    if not store.exists():
        return out
    records = store.jobs()
    runs = store.runs()
    out.profiles = [profile]
    if all_profiles:
        out.profiles += sorted({r.profile for r in runs if r.profile != profile}, key=str)
    planned, out.specs = _planned(planner, paths, store, out.profiles, overrides, data_root)
    recent = {j for r in runs if (r.started or 0) >= now - keep_runs_days * DAY_S
              for j in r.job_ids()}
    recent = with_recorded_inputs(store, recent, records)
    live = _live(store, records)
    keep = planned | recent | live
    out.kept = Counter({"planned by the specs": len(planned & set(records)),
                        "named by a recent run only": len((recent - planned) & set(records)),
                        "in use by a live run only": len((live - planned - recent) &
                                                         set(records))})
    for jid in sorted(set(records) - keep):
        out.delete[jid] = folder_bytes(store.paths.artifact(jid))
    root = store.paths.artifacts
    if root.is_dir():
        for kind_dir in sorted(root.iterdir()):
            for folder in sorted(kind_dir.iterdir()) if kind_dir.is_dir() else ():
                if folder.name not in records and folder.name not in keep:
                    out.orphans[folder.name] = folder_bytes(folder)
    out.debris = _debris(store, records)
    return out


def _moved_out(name: str) -> bool:
    """A tmp/ entry that `ArtifactPaths.withdraw` renamed out of place: nobody reads it."""
    tail = name.partition(".")[2]
    return any(tail.startswith(w + "-") for w in ("damaged", "replaced", "gc"))


def _in_use(store: Any, rec: Any) -> bool:
    return rec is not None and rec.status == "running" and \
        not store.abandoned(rec.owner, rec.heartbeat)


def _debris(store: Any, records: dict) -> dict[str, int]:
    """Leftovers under tmp/: folders already moved out of place (their removal was cut short)
    and staging folders of jobs nobody is running any more (a killed worker's)."""
    out: dict[str, int] = {}
    tmp = store.paths.tmp
    for entry in sorted(tmp.iterdir()) if tmp.is_dir() else ():
        if _moved_out(entry.name) or not _in_use(store, records.get(entry.name.partition(".")[0])):
            out[entry.name] = folder_bytes(entry) if entry.is_dir() else entry.stat().st_size
    return out


def delete(store: Any, gc_plan: GcPlan) -> tuple[int, int]:
    """Remove what `gc_plan` lists, batch by batch; returns (jobs removed, bytes freed). A job a
    live run took up since the plan was made is left alone."""
    removed = freed = 0
    ids = list(gc_plan.delete)
    for i in range(0, len(ids), BATCH):
        batch = _remove_rows(store, ids[i:i + BATCH])
        for jid in batch:
            store.paths.withdraw(jid, "gc")
            freed += gc_plan.delete[jid]
        removed += len(batch)
    for jid, size in gc_plan.orphans.items():
        if not store.jobs([jid]):  # still no row: nobody published it meanwhile
            store.paths.withdraw(jid, "gc")
            freed += size
    freed += _remove_debris(store, gc_plan.debris)
    _drop_unused_provenance(store)
    return removed, freed


def _remove_debris(store: Any, debris: dict[str, int]) -> int:
    import shutil

    freed = 0
    for name, size in debris.items():
        jid = name.partition(".")[0]
        if not _moved_out(name) and _in_use(store, store.jobs([jid]).get(jid)):
            continue  # a staging folder whose job a live driver took up since
        path = store.paths.tmp / name
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        freed += size
    return freed


def _remove_rows(store: Any, ids: list[str]) -> list[str]:
    """Delete the rows of `ids` in one transaction, except those live runs use now."""
    with store._write() as con:  # the store's own IMMEDIATE transaction: writers wait
        marks = ",".join("?" * len(ids))
        rows = con.execute(f"SELECT job_id, status, owner, heartbeat FROM jobs "
                           f"WHERE job_id IN ({marks})", ids).fetchall()
        busy = {r["job_id"] for r in rows if r["status"] == "running" and
                not store.abandoned(r["owner"], r["heartbeat"])}
        named = set()
        for run in con.execute("SELECT cells, owner, heartbeat FROM runs "
                               "WHERE status='running'").fetchall():
            if not store.abandoned(run["owner"], run["heartbeat"]):
                for cell in json.loads(run["cells"] or "[]"):
                    named.add(cell["train"])
                    named.update(p["job"] for p in cell["probes"])
        gone = [j for j in ids if j not in busy and j not in named]
        if gone:
            marks = ",".join("?" * len(gone))
            for table in ("metrics", "job_provenance", "jobs"):
                try:
                    con.execute(f"DELETE FROM {table} WHERE job_id IN ({marks})", gone)
                except Exception as err:  # noqa: BLE001 - a store without provenance tables
                    if "no such table" not in str(err):
                        raise
    return gone


def _drop_unused_provenance(store: Any) -> None:
    with store._write() as con:
        con.execute("DELETE FROM code_snapshots WHERE fingerprint NOT IN "
                    "(SELECT fingerprint FROM job_provenance WHERE fingerprint IS NOT NULL)")
        con.execute("DELETE FROM environments WHERE env_id NOT IN (SELECT env_id FROM "
                    "job_provenance WHERE env_id IS NOT NULL) AND env_id NOT IN "
                    "(SELECT env_id FROM run_environments)")


def size_text(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"
