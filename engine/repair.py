"""`dsl store repair`: rebuild a damaged store database and re-adopt the artifacts it lost.

1. Salvage: every readable row of runs, jobs and metrics is copied out of (a copy of) the old
   database, table by table; where a table cannot be read whole, it is read in rowid ranges,
   narrowed down to single rows, so one bad page costs only the rows on it. This is what
   `sqlite3 OLD .dump | sqlite3 NEW` does; `.recover` is not used (it failed even on intact
   databases with the sqlite3 3.40 that common systems ship).
2. The salvaged rows go into a new database, which replaces the old one by a rename; the old
   file (and its -wal, -shm) is kept beside it as `dsl.sqlite.before-repair-<time>`.
3. Re-adopt: every artifact folder whose manifest names the job that made it (engine.integrity)
   and whose content is intact, but which the database does not know as finished, is recorded
   as done with the metrics its manifest holds. Artifacts published before manifests named
   their job cannot be re-adopted: they are counted and left in place (their jobs run again).

Run it while no `dsl run` uses the store; it refuses when it sees one alive.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from dsl.errors import DslError
from engine.integrity import check, read_manifest
from engine.paths import ArtifactPaths

TABLES = ("runs", "jobs", "metrics")


@dataclass
class Repaired:
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows salvaged
    lost: dict[str, int] = field(default_factory=dict)  # table -> rowid ranges unreadable
    kept_as: Path | None = None  # the old database, renamed
    adopted: list[str] = field(default_factory=list)
    damaged: dict[str, str] = field(default_factory=dict)  # artifacts not adopted: job -> why
    anonymous: int = 0  # artifacts whose manifest does not name their job


def _read_table(con: sqlite3.Connection, table: str) -> tuple[list[str], list[tuple], int]:
    """(columns, rows, unreadable ranges) of one table of a possibly damaged database."""
    try:
        columns = [r[1] for r in con.execute(f"PRAGMA table_info({table})").fetchall()]
    except sqlite3.DatabaseError:
        return [], [], 1
    if not columns:
        return [], [], 0
    cols = ", ".join(columns)
    try:
        return columns, con.execute(f"SELECT {cols} FROM {table}").fetchall(), 0
    except sqlite3.DatabaseError:
        pass
    try:
        top = con.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0] or 0
    except sqlite3.DatabaseError:
        return columns, [], 1  # not even its extent can be read: the table is lost
    rows: list[tuple] = []
    lost = 0
    stack = [(1, top)]
    while stack:
        lo, hi = stack.pop()
        try:
            rows += con.execute(f"SELECT {cols} FROM {table} WHERE rowid BETWEEN ? AND ?",
                                (lo, hi)).fetchall()
        except sqlite3.DatabaseError:
            if lo == hi:
                lost += 1
            else:
                mid = (lo + hi) // 2
                stack += [(mid + 1, hi), (lo, mid)]
    return columns, rows, lost


def _salvage(db: Path) -> tuple[dict[str, tuple[list[str], list[tuple]]], dict[str, int]]:
    """Every readable row of the store's tables, read from a copy (the old file stays as it is)."""
    out: dict[str, tuple[list[str], list[tuple]]] = {}
    lost: dict[str, int] = {}
    if not db.exists():
        return out, lost
    with tempfile.TemporaryDirectory(dir=db.parent) as tmp:
        copy = Path(tmp) / db.name
        for suffix in ("", "-wal"):  # the log holds the latest commits: it must come along
            if Path(f"{db}{suffix}").exists():
                shutil.copyfile(f"{db}{suffix}", f"{copy}{suffix}")
        try:
            con = sqlite3.connect(copy)
        except sqlite3.DatabaseError as err:
            raise DslError(f"{db} cannot be opened at all ({err}): move it away and run "
                           "`dsl store repair` again to re-adopt the artifacts alone") from None
        try:
            for table in TABLES:
                columns, rows, bad = _read_table(con, table)
                out[table] = (columns, rows)
                lost[table] = bad
        finally:
            con.close()
    return out, lost


def _refuse_if_in_use(runs: tuple[list[str], list[tuple]] | None) -> None:
    """Raise when a run the salvaged rows call running has a live driver: its process is alive
    on this host, or (another host) its heartbeat is fresh."""
    from engine.store import STALE_AFTER_S, owner_alive

    if not runs or "owner" not in runs[0]:
        return
    col = {name: i for i, name in enumerate(runs[0])}
    for row in runs[1]:
        if row[col["status"]] != "running":
            continue
        alive = owner_alive(row[col["owner"]])
        beat = row[col["heartbeat"]] if "heartbeat" in col else None
        if alive or (alive is None and beat and beat > time.time() - STALE_AFTER_S):
            raise DslError(f"a `dsl run` ({row[col['owner']]}) is using this store: let it "
                           "finish or stop it, then repair")


def _write(new: Path, salvaged: dict[str, tuple[list[str], list[tuple]]]) -> dict[str, int]:
    from engine.store import _SCHEMA, _migrate

    con = sqlite3.connect(new, isolation_level=None)
    counts = {}
    try:
        con.executescript(_SCHEMA)
        _migrate(con)
        con.execute("BEGIN")
        for table, (columns, rows) in salvaged.items():
            known = {r[1] for r in con.execute(f"PRAGMA table_info({table})").fetchall()}
            keep = [i for i, c in enumerate(columns) if c in known]
            counts[table] = len(rows)
            if not keep or not rows:
                continue
            names = ", ".join(columns[i] for i in keep)
            marks = ", ".join("?" * len(keep))
            con.executemany(f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({marks})",
                            [tuple(r[i] for i in keep) for r in rows])
        con.execute("COMMIT")
        con.execute("PRAGMA journal_mode = WAL")
    finally:
        con.close()
    return counts


def _adopt(paths: ArtifactPaths, found: Repaired) -> None:
    """Record as done every intact artifact whose manifest names its job and that the new
    database does not know as done (or knows without the metrics its manifest holds)."""
    con = sqlite3.connect(paths.db, isolation_level=None)
    try:
        done = {r[0] for r in con.execute("SELECT job_id FROM jobs WHERE status='done'")}
        measured = {r[0] for r in con.execute("SELECT DISTINCT job_id FROM metrics")}
        if not paths.artifacts.is_dir():
            return
        con.execute("BEGIN")
        for kind_dir in sorted(p for p in paths.artifacts.iterdir() if p.is_dir()):
            for folder in sorted(p for p in kind_dir.iterdir() if p.is_dir()):
                if folder.name in done and folder.name in measured:
                    continue
                try:
                    manifest = read_manifest(folder) or {}
                except (OSError, ValueError) as err:
                    found.damaged[folder.name] = f"its manifest is unreadable ({err})"
                    continue
                job = manifest.get("job")
                if not job or job.get("id") != folder.name:
                    found.anonymous += 1
                    continue
                if folder.name in done and not manifest.get("metrics"):
                    continue  # done, and its manifest has no metrics to give back
                verdict = check(folder)
                if verdict.status != "intact":
                    found.damaged[folder.name] = verdict.problem or verdict.status
                    continue
                now = time.time()
                con.execute(
                    "INSERT INTO jobs (job_id, kind, version, config, inputs, status, finished, "
                    "host, error) VALUES (?,?,?,?,?,'done',?,?,NULL) ON CONFLICT(job_id) DO "
                    "UPDATE SET status='done', owner=NULL, finished=excluded.finished, error=NULL",
                    (job["id"], job["kind"], job.get("version"),
                     json.dumps(job.get("config", {}), sort_keys=True),
                     json.dumps(job.get("inputs", {}), sort_keys=True), now, "re-adopted"))
                con.execute("DELETE FROM metrics WHERE job_id=?", (job["id"],))
                con.executemany(
                    "INSERT INTO metrics (job_id, name, split, value) VALUES (?,?,?,?)",
                    [(job["id"], n, "" if s is None else s, v)
                     for n, s, v in manifest.get("metrics", [])])
                found.adopted.append(job["id"])
        con.execute("COMMIT")
    finally:
        con.close()


def published_metrics(paths: ArtifactPaths, job_id: str) -> list[tuple] | None:
    """The metrics of a job whose artifact is published and intact and whose manifest names it,
    though the database never recorded it (its driver died, or lost its database, between the
    publish and the record); None when there is no such artifact."""
    folder = paths.artifact(job_id)
    if not folder.is_dir():
        return None
    try:
        manifest = read_manifest(folder) or {}
    except (OSError, ValueError):
        return None
    if (manifest.get("job") or {}).get("id") != str(job_id) or check(folder).status != "intact":
        return None
    return [(n, s, float(v)) for n, s, v in manifest.get("metrics", [])]


def repair(root: str | os.PathLike) -> Repaired:
    """Rebuild the store database at `root` (see the module doc); the old file is kept."""
    paths = ArtifactPaths(root)
    if not paths.root.is_dir():
        raise DslError(f"no store at {paths.root}")
    found = Repaired()
    salvaged, found.lost = _salvage(paths.db)
    _refuse_if_in_use(salvaged.get("runs"))
    new = paths.db.with_name(f"{paths.db.name}.repair-{os.getpid()}")
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{new}{suffix}").unlink(missing_ok=True)
    found.rows = _write(new, salvaged)
    if paths.db.exists():
        stamp = time.strftime("%Y%m%d-%H%M%S")
        found.kept_as = paths.db.with_name(f"{paths.db.name}.before-repair-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            old = Path(f"{paths.db}{suffix}")
            if old.exists():
                os.rename(old, f"{found.kept_as}{suffix}")
    os.rename(new, paths.db)
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{new}{suffix}").unlink(missing_ok=True)
    _adopt(paths, found)
    return found
