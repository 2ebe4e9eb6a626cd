"""What made each stored result, and which cached results today's code would not make.

A finished job is recorded with its kind's code fingerprint (engine.fingerprint) and the
environment of the worker that ran it (engine.environment); a run with its driver's environment.
`stale` compares the recorded fingerprints of cached jobs with today's and names the files that
changed. Staleness never changes a JobId: the kind's version stays the explicit "results changed,
rerun everything" switch, and a stale job is rerun only when asked (`dsl run --rerun stale`).

The tables live in the store's database (engine.store, provenance block); only drivers write them.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from engine import fingerprint as fp_mod
from engine.environment import env_id


@dataclass(frozen=True)
class JobProvenance:
    job_id: str
    fingerprint: str | None
    files: Mapping[str, str]  # relative path -> content hash, as the job ran
    environment: Mapping[str, Any] | None
    recorded: float | None


@dataclass(frozen=True)
class Staleness:
    """Cached jobs whose recorded code differs from today's, per kind with the files changed;
    `unrecorded` counts cached jobs finished before fingerprints were recorded."""

    jobs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # job id -> changed files
    kinds: Mapping[str, tuple[int, tuple[str, ...]]] = field(default_factory=dict)
    unrecorded: Mapping[str, int] = field(default_factory=dict)  # kind -> count

    def __bool__(self) -> bool:
        return bool(self.jobs)


# -- writing ---------------------------------------------------------------------------------------

def code_snapshot(kinds: Iterable[str]) -> dict[str, fp_mod.CodeFingerprint]:
    """Today's fingerprint of each kind (taken when a run starts: the code its workers load)."""
    from engine.kinds import KINDS

    return {k: fp_mod.default().of_impl(KINDS[k].impl) for k in sorted(set(kinds))
            if k in KINDS}  # a kind not registered here cannot run here either


def _put_env(con: sqlite3.Connection, env: Mapping[str, Any] | None) -> str | None:
    if not env:
        return None
    eid = env_id(dict(env))
    con.execute("INSERT OR IGNORE INTO environments (env_id, data) VALUES (?, ?)",
                (eid, json.dumps(env, sort_keys=True, default=str)))
    return eid


def record_job(store: Any, job_id: str, code: fp_mod.CodeFingerprint | None,
               env: Mapping[str, Any] | None) -> None:
    """Record what a job that just finished ran with (replacing an earlier record)."""
    with store._write() as con:  # the store's own short write transaction
        if code is not None:
            con.execute("INSERT OR IGNORE INTO code_snapshots (fingerprint, files) VALUES (?, ?)",
                        (code.digest, json.dumps(dict(code.files), sort_keys=True)))
        eid = _put_env(con, env)
        con.execute("INSERT OR REPLACE INTO job_provenance (job_id, fingerprint, env_id, "
                    "recorded) VALUES (?,?,?,?)",
                    (str(job_id), code.digest if code else None, eid, time.time()))


def record_run(store: Any, run_id: str, env: Mapping[str, Any]) -> None:
    with store._write() as con:
        eid = _put_env(con, env)
        con.execute("INSERT OR REPLACE INTO run_environments (run_id, env_id) VALUES (?, ?)",
                    (run_id, eid))


# -- reading ---------------------------------------------------------------------------------------

def _rows(store: Any, sql: str, ids: list[str]) -> list[sqlite3.Row]:
    """`sql` (with one IN (...) placeholder list) over `ids` in chunks; none on a store that
    predates the provenance tables."""
    out: list[sqlite3.Row] = []
    with store._read() as con:
        if con is None:
            return out
        try:
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                out += con.execute(sql.format(marks=",".join("?" * len(chunk))), chunk).fetchall()
        except sqlite3.OperationalError as err:
            if "no such table" not in str(err):
                raise
    return out


def jobs(store: Any, job_ids: Iterable[str]) -> dict[str, JobProvenance]:
    """The provenance recorded for each of `job_ids` that has one."""
    rows = _rows(store, "SELECT p.job_id, p.fingerprint, p.recorded, c.files, e.data "
                        "FROM job_provenance p LEFT JOIN code_snapshots c "
                        "ON c.fingerprint = p.fingerprint LEFT JOIN environments e "
                        "ON e.env_id = p.env_id WHERE p.job_id IN ({marks})",
                 [str(j) for j in job_ids])
    return {r["job_id"]: JobProvenance(r["job_id"], r["fingerprint"],
                                       json.loads(r["files"]) if r["files"] else {},
                                       json.loads(r["data"]) if r["data"] else None,
                                       r["recorded"]) for r in rows}


def run_environments(store: Any, run_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    rows = _rows(store, "SELECT r.run_id, e.data FROM run_environments r JOIN environments e "
                        "ON e.env_id = r.env_id WHERE r.run_id IN ({marks})",
                 [str(r) for r in run_ids])
    return {r["run_id"]: json.loads(r["data"]) for r in rows}


def stale(store: Any, kinds_of: Mapping[str, str], finished: Iterable[str] | None = None,
          today: Mapping[str, fp_mod.CodeFingerprint] | None = None) -> Staleness:
    """Which of the cached jobs (`kinds_of`: job id -> kind, restricted to `finished` when given)
    were made by code other than today's, and which files differ."""
    ids = [str(j) for j in (finished if finished is not None else kinds_of)]
    if not ids:
        return Staleness()
    today = dict(today) if today is not None else code_snapshot({kinds_of[j] for j in ids})
    recorded = jobs(store, ids)
    out: dict[str, tuple[str, ...]] = {}
    by_kind: dict[str, list] = defaultdict(lambda: [0, set()])
    unrecorded: dict[str, int] = defaultdict(int)
    for jid in ids:
        kind = kinds_of[jid]
        rec = recorded.get(jid)
        if rec is None or rec.fingerprint is None:
            unrecorded[kind] += 1
            continue
        now = today.get(kind)
        if now is None or rec.fingerprint == now.digest:
            continue
        changed = tuple(now.changed(rec.files)) if rec.files else ("(files not recorded)",)
        out[jid] = changed
        by_kind[kind][0] += 1
        by_kind[kind][1].update(changed)
    return Staleness(out, {k: (n, tuple(sorted(files))) for k, (n, files) in by_kind.items()},
                     dict(unrecorded))


def with_recorded_inputs(store: Any, ids: Iterable[str], known: dict | None = None) -> set[str]:
    """`ids` and every job they read, through the inputs the store recorded; `known` (job id ->
    JobRecord) is used and filled as a cache."""
    known = {} if known is None else known
    out: set[str] = set()
    frontier = {str(j) for j in ids}
    while frontier:
        out |= frontier
        known.update(store.jobs([j for j in frontier if j not in known]))
        frontier = {str(d) for j in frontier if j in known
                    for d in known[j].inputs.values()} - out
    return out


def downstream(jobs_graph: Mapping[str, Any], roots: Iterable[str]) -> set[str]:
    """`roots` and every job of the graph that reads one of them, directly or not (a result
    resting on a rerun artifact changes with it)."""
    readers: dict[str, list[str]] = defaultdict(list)
    for jid, job in jobs_graph.items():
        for dep in job.inputs.values():
            readers[str(dep)].append(str(jid))
    out: set[str] = set()
    stack = [str(r) for r in roots]
    while stack:
        jid = stack.pop()
        if jid in out:
            continue
        out.add(jid)
        stack.extend(readers.get(jid, ()))
    return out


def files_text(files: Iterable[str], limit: int = 4) -> str:
    files = list(files)
    shown = ", ".join(files[:limit])
    return shown + (f" and {len(files) - limit} more" if len(files) > limit else "")
