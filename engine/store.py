"""The store: SQLite for runs, jobs and metrics; artifact folders beside it (see engine.paths).

Only driver processes (`dsl run`) write the database, in short transactions; workers return
results instead. A job is claimed by a row update inside an IMMEDIATE transaction before it runs,
which is what lets two drivers share one store without running a job twice. A claim held by a
process that is gone (dead pid on this host, or a heartbeat gone stale) is taken over.

Torch-free and cheap to import: `dsl plan` asks `finished()`, and planning is handed
`recorded_lookup`. Longer than 400 lines: every SQL statement of the store is here, so the schema
and its transactions are read in one place.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from dsl.errors import DslError
from engine.diskfull import describe as disk_full, is_disk_full
from dsl.kinds import reads_files
from engine.jobs import error_line
from engine.paths import ArtifactPaths

if TYPE_CHECKING:  # pragma: no cover
    import polars
    from dsl.graph import Job, SpecPlan
    from engine.jobs import Metric

DEFAULT_ROOT = ".dsl"
# A claim whose heartbeat is older than this is considered abandoned (drivers beat every ~10 s).
STALE_AFTER_S = 120.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, spec TEXT NOT NULL, spec_path TEXT, spec_text TEXT, spec_hash TEXT,
    resolved TEXT, profile TEXT, overrides TEXT, git TEXT, host TEXT,
    started REAL, finished REAL, status TEXT, cells TEXT, owner TEXT, heartbeat REAL
);
CREATE INDEX IF NOT EXISTS runs_spec ON runs (spec, started);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY, kind TEXT NOT NULL, version TEXT, config TEXT, inputs TEXT,
    status TEXT NOT NULL, owner TEXT, claimed_at REAL, heartbeat REAL,
    started REAL, finished REAL, seconds REAL, host TEXT, error TEXT
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);
CREATE TABLE IF NOT EXISTS metrics (
    job_id TEXT NOT NULL, name TEXT NOT NULL, split TEXT NOT NULL, value REAL,
    PRIMARY KEY (job_id, name, split)
);
"""

# -- provenance (engine/provenance.py, docs/provenance.md) --------------------------------------
# What each finished job ran with: its kind's code fingerprint (the per-file hashes are kept once
# per fingerprint) and its worker's environment; the driver's environment per run. Tables only, so
# a store made before them gets them on its first write; reads treat them missing as "not
# recorded".
_SCHEMA += """
CREATE TABLE IF NOT EXISTS code_snapshots (fingerprint TEXT PRIMARY KEY, files TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS environments (env_id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS job_provenance (
    job_id TEXT PRIMARY KEY, fingerprint TEXT, env_id TEXT, recorded REAL
);
CREATE TABLE IF NOT EXISTS run_environments (run_id TEXT PRIMARY KEY, env_id TEXT NOT NULL);
"""
# -- end of provenance ---------------------------------------------------------------------------

# Columns added after the first release: (table, column, type). A store made before them gets them
# (ALTER TABLE) when it is first opened for writing; reads of an old store treat them as NULL.
_ADDED_COLUMNS = (("runs", "owner", "TEXT"), ("runs", "heartbeat", "REAL"))

# A run whose driver process is gone without finishing it (kill -9, a crash, a machine reboot):
# its pid is gone from this host, or (any host) its run heartbeat is older than STALE_AFTER_S.
# Settled to this status when the store is opened for writing, and shown so when runs are read.
DIED = "died"

# SQLite treats NULLs as distinct in a primary key, so "no split" is stored as '' and read as None.
_NO_SPLIT = ""

# Errors of what we asked (a duplicate key, a wrong binding), not of the database file: they keep
# their traceback instead of being reported as a damaged or unwritable store.
_STATEMENT_ERRORS = (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)


def resolve_root(cli_value: str | os.PathLike | None = None) -> Path:
    """--store DIR, else $DSL_STORE, else ./.dsl (one rule for every command)."""
    value = cli_value or os.environ.get("DSL_STORE") or DEFAULT_ROOT
    return Path(value).expanduser().absolute()


def recorded_lookup(store: "Store | str | os.PathLike | None" = None
                    ) -> Callable[[str, str | None, str | None], str | None]:
    """The fingerprint lookup planning is handed (dsl.local_files.LocalFiles): what the store at
    `store` (a Store, a folder, or None for the default) last ran a local source with. The store
    is opened at the first question, and only if it exists: planning never creates one."""
    opened: list[Store | None] = []

    def lookup(source: str, spec: str | None, profile: str | None) -> str | None:
        if not opened:
            root = None if isinstance(store, Store) else resolve_root(store)
            opened.append(store if root is None else Store(root) if root.exists() else None)
        return opened[0].recorded_files(source, spec, profile) if opened[0] else None

    return lookup


def hostname() -> str:
    return socket.gethostname()


def owner_id() -> str:
    """This process as a claim owner: `host:pid`."""
    return f"{hostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        pass
    try:  # a zombie (killed, not yet reaped by its parent) has ended all the same
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def owner_alive(owner: str | None) -> bool | None:
    """True/False when the owner runs on this host (checkable), None when it is elsewhere."""
    if not owner or ":" not in owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != hostname():
        return None
    try:
        return _pid_alive(int(pid))
    except ValueError:
        return False


def git_revision(cwd: str | os.PathLike | None = None) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


@dataclass(frozen=True)
class JobRecord:
    job_id: str
    kind: str
    version: str | None
    config: dict
    inputs: dict
    status: str  # pending | running | done | failed | skipped
    owner: str | None
    claimed_at: float | None
    heartbeat: float | None
    started: float | None
    finished: float | None
    seconds: float | None
    host: str | None
    error: str | None

    @property
    def error_line(self) -> str | None:
        return error_line(self.error)


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    spec: str
    spec_path: str | None
    spec_text: str | None
    spec_hash: str | None
    resolved: dict
    profile: str | None
    overrides: list
    git: str | None
    host: str | None
    started: float | None
    finished: float | None
    status: str | None  # running | done | incomplete | failed | interrupted | error | died
    cells: list  # [{seed, factors, train, probes: [{name, kind, job, derived}], derived}]
    owner: str | None = None  # the driver process, `host:pid` (None in stores made before it)

    def job_ids(self) -> set[str]:
        """Every job a cell of this run names (train and probe jobs)."""
        out: set[str] = set()
        for cell in self.cells:
            out.add(cell["train"])
            out.update(p["job"] for p in cell["probes"])
        return out


def _loads(text: str | None, default: Any) -> Any:
    return json.loads(text) if text else default


def _job_record(row: sqlite3.Row) -> JobRecord:
    return JobRecord(row["job_id"], row["kind"], row["version"], _loads(row["config"], {}),
                     _loads(row["inputs"], {}), row["status"], row["owner"], row["claimed_at"],
                     row["heartbeat"], row["started"], row["finished"], row["seconds"],
                     row["host"], row["error"])


def _run_record(row: sqlite3.Row) -> RunRecord:
    return RunRecord(row["run_id"], row["spec"], row["spec_path"], row["spec_text"],
                     row["spec_hash"], _loads(row["resolved"], {}), row["profile"],
                     _loads(row["overrides"], []), row["git"], row["host"], row["started"],
                     row["finished"], row["status"], _loads(row["cells"], []),
                     row["owner"] if "owner" in row.keys() else None)


def _chunks(items: list, n: int = 500) -> Iterator[list]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def cells_json(spec_plan: "SpecPlan") -> list[dict]:
    from dsl.identity import normalise

    return [normalise({
        "seed": c.seed, "factors": dict(c.factors), "train": str(c.train),
        "probes": [{"name": p.name, "kind": p.kind, "job": str(p.job), "derived": dict(p.derived)}
                   for p in c.probes],
        "derived": dict(c.derived),
    }) for c in spec_plan.cells]


class Store:
    """One store folder. Creating the object touches nothing; the first write creates the files."""

    def __init__(self, root: str | os.PathLike | None = None, *, stale_after: float = STALE_AFTER_S):
        self.paths = ArtifactPaths(resolve_root(root) if root is None else root)
        self.root = self.paths.root
        self.stale_after = stale_after
        self._ready = False

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    # -- connections -------------------------------------------------------------------------

    def exists(self) -> bool:
        return self.paths.db.exists()

    def _db_error(self, err: sqlite3.Error) -> DslError:
        """A database that cannot be used, as one line naming the file and what to do."""
        db, text = self.paths.db, str(err)
        if is_disk_full(err, self.root):  # SQLite says "disk is full" or "disk I/O error"
            return disk_full(self.root, f"the database {db}", err)
        low = text.lower()
        if "readonly" in low or "read-only" in low or "unable to open" in low or \
                "disk i/o" in low or "permission" in low:
            return DslError(f"cannot write the store {self.root} ({text}): make it writable, or "
                            "pass --store DIR (or set DSL_STORE) for another store")
        if "locked" in low or "busy" in low:
            return DslError(f"the store database {db} stayed locked ({text}): another process "
                            "holds a write transaction on it (a sqlite3 shell?); end it and run "
                            "again")
        return DslError(f"the store database {db} is damaged ({text}): `dsl store repair "
                        f"--store {self.root}` rebuilds it from what can still be read, keeps "
                        "the old file beside it and re-adopts finished artifacts from their "
                        "manifests (by hand: `sqlite3 OLD .dump | sqlite3 NEW`)")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A short IMMEDIATE transaction: the write lock is taken up front, so a read-then-update
        (a claim) cannot interleave with another driver's."""
        try:
            con = self._connect()
        except sqlite3.Error as err:
            raise self._db_error(err) from None
        try:
            con.execute("BEGIN IMMEDIATE")
            yield con
            con.execute("COMMIT")
        except BaseException as exc:
            if con.in_transaction:
                try:
                    con.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            if isinstance(exc, sqlite3.Error) and not isinstance(exc, _STATEMENT_ERRORS):
                raise self._db_error(exc) from None
            raise
        finally:
            con.close()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection | None]:
        """A read-only connection, or None when there is no store yet (nothing is created)."""
        if not self._ready and not self.exists():
            yield None
            return
        if not self._ready and self.paths.db.is_file() and self.paths.db.stat().st_size == 0:
            yield None  # an empty file is an empty SQLite database: no tables, nothing stored
            return
        uri = f"file:{self.paths.db}?mode=ro"
        try:
            con = sqlite3.connect(uri, uri=True, timeout=30.0)
            try:
                con.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
            except sqlite3.OperationalError:
                con.close()
                if not self._read_only_at_rest():
                    raise
                # A store on a read-only medium (an archive, a colleague's folder): SQLite cannot
                # make the WAL index beside it, but with no WAL file the database file is whole.
                con = sqlite3.connect(f"{uri}&immutable=1", uri=True, timeout=30.0)
        except sqlite3.Error as err:
            raise self._db_error(err) from None
        con.row_factory = sqlite3.Row
        try:
            yield con
        except _STATEMENT_ERRORS:
            raise
        except sqlite3.Error as err:
            raise self._db_error(err) from None
        finally:
            con.close()

    def _read_only_at_rest(self) -> bool:
        """The store's folder cannot be written and holds no write-ahead log to replay."""
        wal = self.paths.db.with_name(self.paths.db.name + "-wal")
        return not os.access(self.root, os.W_OK) and not (wal.exists() and wal.stat().st_size)

    def _create(self) -> None:
        """Create the database with its schema under a temporary name, then link it into place:
        a reader never sees a database file without its tables, even with two drivers starting
        at once on a new store."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise DslError(f"the store folder {self.root} cannot be made: it or a folder above "
                           "it is a file; pass --store DIR (or set DSL_STORE) to put the store "
                           "elsewhere, or move the file") from None
        except PermissionError as err:
            raise DslError(f"cannot create the store folder {self.root} ({err.strerror}): pass "
                           "--store DIR (or set DSL_STORE) for a folder you can write") from None
        tmp = self.paths.db.with_name(f"{self.paths.db.name}.{os.getpid()}.new")
        try:
            con = sqlite3.connect(tmp, isolation_level=None)
            try:
                # The tables first, with a rollback journal: committed into the file itself. (In
                # WAL mode they would sit in tmp's -wal until a checkpoint at close, which fails
                # silently on a full disk, and the file linked into place would lack them.)
                con.executescript(_SCHEMA)
                con.execute("PRAGMA journal_mode = WAL")  # persistent: stored in the file
            finally:
                con.close()
            os.link(tmp, self.paths.db)  # fails if another driver created it first: fine
        except FileExistsError:
            pass
        except sqlite3.Error as err:
            raise self._db_error(err) from None
        finally:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{tmp}{suffix}").unlink(missing_ok=True)

    def _connect(self) -> sqlite3.Connection:
        if not self._ready and not self.exists():
            self._create()
        # Autocommit mode: transactions are explicit (BEGIN IMMEDIATE) and short.
        con = sqlite3.connect(self.paths.db, timeout=30.0, isolation_level=None)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA busy_timeout = 30000")
        if not self._ready:
            con.execute("PRAGMA journal_mode = WAL")
            con.executescript(_SCHEMA)
            _migrate(con)
            self._settle_dead_runs(con)
            self._ready = True
        con.execute("PRAGMA synchronous = NORMAL")
        return con

    # -- jobs --------------------------------------------------------------------------------

    def finished(self, ids: Iterable[str]) -> set[str]:
        """The ids among `ids` that are done and whose artifact folder is in place.

        Read-only: it never creates a store (the planner calls it before anything runs).
        """
        ids = [str(i) for i in ids]
        done: set[str] = set()
        with self._read() as con:
            if con is None:
                return done
            for chunk in _chunks(ids):
                marks = ",".join("?" * len(chunk))
                rows = con.execute(
                    f"SELECT job_id FROM jobs WHERE status='done' AND job_id IN ({marks})", chunk)
                done.update(r[0] for r in rows)
        return {i for i in done if self.paths.artifact(i).is_dir()}

    def job(self, job_id: str) -> JobRecord:
        with self._read() as con:
            row = None if con is None else con.execute(
                "SELECT * FROM jobs WHERE job_id=?", (str(job_id),)).fetchone()
        if row is None:
            raise DslError(f"no job {job_id!r} in the store at {self.root}")
        return _job_record(row)

    def jobs(self, job_ids: Iterable[str] | None = None) -> dict[str, JobRecord]:
        """Records of the given jobs (those the store knows), or of every job."""
        out: dict[str, JobRecord] = {}
        with self._read() as con:
            if con is None:
                return out
            if job_ids is None:
                rows: Iterable = con.execute("SELECT * FROM jobs").fetchall()
            else:
                rows = []
                for chunk in _chunks([str(i) for i in job_ids]):
                    marks = ",".join("?" * len(chunk))
                    rows += con.execute(f"SELECT * FROM jobs WHERE job_id IN ({marks})",
                                        chunk).fetchall()
            for row in rows:
                out[row["job_id"]] = _job_record(row)
        return out

    def recorded_files(self, source: str, spec: str | None = None,
                       profile: str | None = None) -> str | None:
        """The fingerprint of local data `source` (dsl.local_files) that the newest run
        of `spec` under `profile` read, else that the newest finished job reading it ran with;
        None when no job ever read it."""
        if spec is not None:
            for run in self.runs(spec):
                if run.profile == profile:
                    found = self._files_of_run(run, source)
                    if found:
                        return found
        with self._read() as con:
            if con is None:
                return None
            readers = reads_files()  # the kinds whose configs carry fingerprints (dsl.kinds)
            rows = con.execute(
                f"SELECT config FROM jobs WHERE status='done' AND kind IN "
                f"({', '.join('?' * len(readers))}) AND config LIKE '%\"files\"%' "
                "ORDER BY finished DESC", readers).fetchall()
        for row in rows:
            found = (json.loads(row["config"]).get("files") or {}).get(source)
            if found:
                return found
        return None

    def _files_of_run(self, run: "RunRecord", source: str) -> str | None:
        """The fingerprint of `source` that a run's dataset and sensitivity jobs carry (found
        through the inputs of its cells' jobs: probe -> features -> dataset)."""
        seen: set[str] = set()
        frontier = run.job_ids()
        while frontier:
            records = self.jobs(frontier)
            seen |= frontier
            for rec in records.values():
                found = (rec.config.get("files") or {}).get(source)
                if found:
                    return found
            frontier = {i for rec in records.values() for i in rec.inputs.values()} - seen
        return None

    def claim(self, job: "Job", owner: str | None = None, force: bool = False) -> bool:
        """Mark `job` running for `owner`; False if it is done or held by a live other owner.

        A failed, skipped or pending job is claimable (a rerun retries it). A running job is taken
        over when its owner is `owner` itself or has abandoned it (see `abandoned`). `force`
        claims a done job too (`--rerun`): its artifact and metrics stay until the new ones
        replace them.
        """
        owner = owner or owner_id()
        now = time.time()
        with self._write() as con:
            row = con.execute("SELECT status, owner, heartbeat FROM jobs WHERE job_id=?",
                              (str(job.id),)).fetchone()
            if row is not None:
                if row["status"] == "done" and self.paths.artifact(job.id).is_dir() and \
                        not force:
                    return False
                if row["status"] == "running" and row["owner"] != owner and \
                        not self.abandoned(row["owner"], row["heartbeat"], now):
                    return False
            con.execute(
                "INSERT INTO jobs (job_id, kind, version, config, inputs, status, owner, "
                "claimed_at, heartbeat, started) VALUES (?,?,?,?,?,'running',?,?,?,?) "
                "ON CONFLICT(job_id) DO UPDATE SET status='running', owner=excluded.owner, "
                "claimed_at=excluded.claimed_at, heartbeat=excluded.heartbeat, "
                "started=excluded.started, finished=NULL, seconds=NULL, error=NULL, "
                "kind=excluded.kind, version=excluded.version, config=excluded.config, "
                "inputs=excluded.inputs",
                (*_job_columns(job), owner, now, now, now))
        return True

    def abandoned(self, owner: str | None, heartbeat: float | None,
                  now: float | None = None) -> bool:
        """Whether a running claim may be taken over: its owner process is gone from this host,
        or it has not beaten for `stale_after` seconds (another host, a hung driver, or a dead
        driver's pid reused by an unrelated process)."""
        now = time.time() if now is None else now
        return owner_alive(owner) is False or (heartbeat or 0.0) < now - self.stale_after

    def heartbeat(self, owner: str | None = None, job_ids: Iterable[str] | None = None,
                  runs: Iterable[str] = ()) -> None:
        """Refresh the heartbeat of `owner`'s running claims (all of them, or just `job_ids`)
        and of its `runs` (a driver beats its runs all along, also while it only waits)."""
        owner = owner or owner_id()
        now = time.time()
        with self._write() as con:
            # A run settled as died while its driver was stopped (Ctrl-Z) is running again.
            con.executemany("UPDATE runs SET heartbeat=?, status='running', finished=NULL "
                            "WHERE run_id=? AND owner=? AND status IN ('running', ?)",
                            [(now, str(r), owner, DIED) for r in runs])
            if job_ids is None:
                con.execute("UPDATE jobs SET heartbeat=? WHERE owner=? AND status='running'",
                            (now, owner))
            else:
                con.executemany(
                    "UPDATE jobs SET heartbeat=? WHERE job_id=? AND owner=? AND status='running'",
                    [(now, str(j), owner) for j in job_ids])

    def release(self, owner: str | None = None, job_ids: Iterable[str] | None = None) -> None:
        """Give claims back (Ctrl-C): the jobs return to pending so anyone may run them."""
        owner = owner or owner_id()
        with self._write() as con:
            if job_ids is None:
                con.execute("UPDATE jobs SET status='pending', owner=NULL WHERE owner=? "
                            "AND status='running'", (owner,))
            else:
                con.executemany("UPDATE jobs SET status='pending', owner=NULL WHERE job_id=? "
                                "AND owner=? AND status='running'",
                                [(str(j), owner) for j in job_ids])

    def complete(self, job_id: str, metrics: Iterable["Metric"], seconds: float,
                 host: str | None = None) -> None:
        """Record a finished job and its metrics (its artifact is already published)."""
        rows = [(str(job_id), m.name, _NO_SPLIT if m.split is None else m.split, float(m.value))
                for m in metrics]
        with self._write() as con:
            con.execute("UPDATE jobs SET status='done', finished=?, seconds=?, host=?, error=NULL "
                        "WHERE job_id=?", (time.time(), seconds, host, str(job_id)))
            con.execute("DELETE FROM metrics WHERE job_id=?", (str(job_id),))
            con.executemany("INSERT INTO metrics (job_id, name, split, value) VALUES (?,?,?,?)",
                            rows)

    def reopen(self, job_id: str, reason: str) -> None:
        """A finished job whose artifact was found damaged: back to pending (its metrics stay until
        it completes again) and its folder moved out of the way, so that it runs again."""
        with self._write() as con:
            con.execute("UPDATE jobs SET status='pending', owner=NULL, error=? "
                        "WHERE job_id=? AND status='done'", (f"artifact damaged: {reason}",
                                                             str(job_id)))
        self.paths.withdraw(job_id)

    def fail(self, job_id: str, error: str, seconds: float | None = None,
             host: str | None = None, owner: str | None = None) -> None:
        """Record a failure (the full traceback; summaries show its last line).

        With `owner`, only while that owner still holds the claim: a driver whose claim was taken
        over must not mark failed a job its successor is running or has finished. Metrics kept
        from an earlier success (a job reopened for a damaged artifact) go: a failed job shows
        as failed in tables, never with the numbers of an artifact that is gone.
        """
        sql = "UPDATE jobs SET status='failed', finished=?, seconds=?, host=?, error=? WHERE job_id=?"
        args: tuple = (time.time(), seconds, host, error, str(job_id))
        if owner is not None:
            sql += " AND owner=? AND status='running'"
            args += (owner,)
        with self._write() as con:
            if con.execute(sql, args).rowcount:
                con.execute("DELETE FROM metrics WHERE job_id=?", (str(job_id),))

    def skip(self, job: "Job", reason: str) -> None:
        """Record that `job` was not run because an upstream job failed (unless it is done or
        being run by someone)."""
        with self._write() as con:
            con.execute(
                "INSERT INTO jobs (job_id, kind, version, config, inputs, status, error, finished) "
                "VALUES (?,?,?,?,?,'skipped',?,?) ON CONFLICT(job_id) DO UPDATE SET "
                "status='skipped', error=excluded.error, finished=excluded.finished "
                "WHERE jobs.status NOT IN ('done', 'running')",
                (*_job_columns(job), reason, time.time()))

    # -- metrics -----------------------------------------------------------------------------

    def metrics(self, job_ids: Iterable[str] | None = None) -> "polars.DataFrame":
        """Metrics as a polars frame [job_id, name, split, value] (split null where none)."""
        import polars as pl

        rows: list[tuple] = []
        with self._read() as con:
            if con is not None:
                if job_ids is None:
                    rows = con.execute("SELECT job_id, name, split, value FROM metrics").fetchall()
                else:
                    for chunk in _chunks([str(i) for i in job_ids]):
                        marks = ",".join("?" * len(chunk))
                        rows += con.execute("SELECT job_id, name, split, value FROM metrics "
                                            f"WHERE job_id IN ({marks})", chunk).fetchall()
        schema = {"job_id": pl.String, "name": pl.String, "split": pl.String, "value": pl.Float64}
        data = [(r[0], r[1], None if r[2] == _NO_SPLIT else r[2], r[3]) for r in rows]
        return pl.DataFrame(data, schema=schema, orient="row").sort(["job_id", "name", "split"])

    # -- runs --------------------------------------------------------------------------------

    def record_run(self, spec_plan: "SpecPlan", profile: str | None = None,
                   overrides: Iterable[str] = ()) -> str:
        """Store what made a run: spec text, hashes, resolved spec, code version, cells."""
        now = time.time()
        run_id = time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + "-" + uuid.uuid4().hex[:6]
        # The code's version is what made the results; a spec kept in its own repository is the
        # fallback when the code is not a git checkout (an installed package).
        spec_dir = Path(spec_plan.path).parent if spec_plan.path else None
        git = git_revision(Path(__file__).resolve().parent) or (
            git_revision(spec_dir) if spec_dir and spec_dir.is_dir() else None)
        with self._write() as con:
            con.execute(
                "INSERT INTO runs (run_id, spec, spec_path, spec_text, spec_hash, resolved, "
                "profile, overrides, git, host, started, status, cells, owner, heartbeat) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,'running',?,?,?)",
                (run_id, spec_plan.name, spec_plan.path, spec_plan.text, spec_plan.hash,
                 json.dumps(spec_plan.resolved, sort_keys=True, default=str), profile,
                 json.dumps(list(overrides)), git, hostname(), now,
                 json.dumps(cells_json(spec_plan), sort_keys=True), owner_id(), now))
        return run_id

    def finish_run(self, run_id: str, status: str) -> None:
        with self._write() as con:
            con.execute("UPDATE runs SET finished=?, status=? WHERE run_id=?",
                        (time.time(), status, run_id))

    def _dead_runs(self, con: sqlite3.Connection) -> dict[str, float | None]:
        """Runs still marked running whose driver is gone, each with the last moment it is
        known to have been alive (its run's or jobs' last heartbeat, or a job's finish; None
        for a run of an older version that never got that far).

        Gone: its pid is gone from this host, or (any host) the run has not beaten for
        `stale_after` seconds; drivers beat their runs every ~10 s from the moment they are
        recorded until they end, also while they only wait on another driver's jobs. A run of
        another host written by a version before run heartbeats stays as it is.
        """
        columns = _columns(con, "runs")
        if "owner" not in columns:
            return {}
        beat = "heartbeat" if "heartbeat" in columns else "NULL AS heartbeat"
        stale = time.time() - self.stale_after
        dead: dict[str, float | None] = {}
        for row in con.execute(f"SELECT run_id, owner, started, {beat} FROM runs "
                               "WHERE status='running' AND owner IS NOT NULL").fetchall():
            alive = owner_alive(row["owner"])
            if alive is not False and (row["heartbeat"] is None or row["heartbeat"] >= stale):
                continue  # alive (or beating), or on another host without run heartbeats
            last = con.execute("SELECT max(max(coalesce(heartbeat, 0), coalesce(finished, 0))) "
                               "FROM jobs WHERE owner=?", (row["owner"],)).fetchone()[0]
            last = max(last or 0.0, row["heartbeat"] or 0.0)
            dead[row["run_id"]] = max(last, row["started"] or 0.0) if last else None
        return dead

    def _settle_dead_runs(self, con: sqlite3.Connection) -> None:
        """Record as died the runs whose driver is gone (see `_dead_runs`)."""
        for run_id, last in self._dead_runs(con).items():
            con.execute("UPDATE runs SET status=?, finished=? WHERE run_id=? "
                        "AND status='running'", (DIED, last, run_id))

    def _run_records(self, con: sqlite3.Connection, rows: list) -> list[RunRecord]:
        """Records of `rows`, showing a run whose driver died as died even in a store that is
        only read (a read-only one, or before the next `dsl run` settles it)."""
        records = [_run_record(r) for r in rows]
        if not any(r.status == "running" for r in records):
            return records
        dead = self._dead_runs(con)
        return [replace(r, status=DIED, finished=dead[r.run_id]) if r.run_id in dead else r
                for r in records]

    def runs(self, spec: str | None = None) -> list[RunRecord]:
        """Recorded runs, newest first (of one spec if given)."""
        with self._read() as con:
            if con is None:
                return []
            if spec is None:
                rows = con.execute("SELECT * FROM runs ORDER BY started DESC, rowid DESC")
            else:
                rows = con.execute("SELECT * FROM runs WHERE spec=? ORDER BY started DESC, "
                                   "rowid DESC", (spec,))
            return self._run_records(con, rows.fetchall())

    def run(self, run_id: str) -> RunRecord:
        """One run by id (a unique prefix is enough)."""
        with self._read() as con:
            rows = [] if con is None else con.execute(
                "SELECT * FROM runs WHERE substr(run_id, 1, ?) = ? ORDER BY started DESC",
                (len(run_id), run_id)).fetchall()
            exact = [r for r in rows if r["run_id"] == run_id]
            if exact or len(rows) == 1:
                return self._run_records(con, exact[:1] or rows)[0]
        if not rows:
            raise DslError(f"no run {run_id!r} in the store at {self.root}")
        more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
        raise DslError(f"run id {run_id!r} is ambiguous: " +
                       ", ".join(r["run_id"] for r in rows[:5]) + more +
                       " (`dsl runs` lists them; give more of the id)")


def _columns(con: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in con.execute(f"PRAGMA table_info({table})").fetchall()}


def _migrate(con: sqlite3.Connection) -> None:
    """Add the columns a store made by an older version lacks (see `_ADDED_COLUMNS`)."""
    for table, column, kind in _ADDED_COLUMNS:
        if column in _columns(con, table):
            continue
        try:
            con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        except sqlite3.OperationalError as err:
            if "duplicate column" not in str(err).lower():  # another driver added it first
                raise


def _job_columns(job: "Job") -> tuple[str, str, str, str, str]:
    """(job_id, kind, version, config, inputs) as the jobs table stores them."""
    return (str(job.id), job.kind, job.version, json.dumps(dict(job.config), sort_keys=True),
            json.dumps({k: str(v) for k, v in job.inputs.items()}, sort_keys=True))
