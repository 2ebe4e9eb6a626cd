"""`dsl runs [SPEC...]`: the runs recorded in the store, newest first.

One line per spec per `dsl run`: its id (what `dsl diff RUN_ID ...` takes; a unique prefix is
enough), spec, status (running, done, incomplete, failed, interrupted, error, died), when it
started, how long it took, the options it ran with, its jobs and the spec file it read. SPEC
narrows the list to specs by name or by file (`quickstart` or `specs/quickstart.toml`).

jobs: {jobs} (the number `dsl run` and `dsl plan` give for the spec).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from dsl.commands._common import add_store_option, no_store
from dsl.errors import DslError
from dsl.counts import WORDS
from dsl.profiles import options_text

__doc__ = __doc__.replace("{jobs}", WORDS["jobs"])


def register(sub):
    p = sub.add_parser("runs", help="list the recorded runs (ids for dsl diff), newest first",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("specs", nargs="*", metavar="SPEC", help="spec names or files to list")
    p.add_argument("-n", "--limit", type=int, default=20,
                   help="show at most this many runs (default 20; 0 for all)")
    p.add_argument("--format", "-f", choices=("terminal", "json"), default="terminal")
    add_store_option(p)
    p.set_defaults(func=_run)


def _run(args):
    from engine.store import Store, resolve_root

    store = Store(resolve_root(args.store))
    if not store.exists():
        raise DslError(no_store(store.root))
    names = {Path(s).stem if s.endswith(".toml") else s for s in args.specs}
    runs = [r for r in store.runs() if not names or r.spec in names]
    if not runs:
        known = sorted({r.spec for r in store.runs()})
        raise DslError(f"no runs of {', '.join(sorted(names))} in {store.root}"
                       + (f" (specs with runs: {', '.join(known)})" if known else ""))
    shown = runs if args.limit <= 0 else runs[:args.limit]
    rows = [_row(r, run_jobs(store, r)) for r in shown]
    if args.format == "json":
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return 0
    _print(rows)
    if len(shown) < len(runs):
        print(f"{len(runs) - len(shown)} older run(s) not shown (--limit 0 shows all)",
              file=sys.stderr)
    return 0


def run_jobs(store, run) -> int:
    """The run's jobs: those its cells name and, through the store's records, every input they
    read (datasets, features). An input of a job the run never reached is not known here."""
    seen: set[str] = set()
    frontier = set(run.job_ids())
    while frontier:
        seen |= frontier
        records = store.jobs(frontier)
        frontier = {i for rec in records.values() for i in rec.inputs.values()} - seen
    return len(seen)


def _row(r, jobs: int) -> dict:
    seconds = (r.finished - r.started) if r.finished and r.started else None
    return {"run": r.run_id, "spec": r.spec, "status": r.status or "?",
            "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.started))
            if r.started else "", "seconds": seconds, "took": _duration(seconds),
            "options": options_text(r.profile, r.overrides), "jobs": jobs, "file": r.spec_path or "",
            "code": r.git or ""}


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


COLUMNS = ("run", "spec", "status", "started", "took", "jobs", "options", "file")


def _print(rows: list[dict]) -> None:
    """Aligned plain columns: ids must never be cut short, whatever the terminal's width."""
    rows = [{**r, "started": r["started"][:16]} for r in rows]  # to the minute
    width = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in COLUMNS}
    for row in [dict(zip(COLUMNS, COLUMNS)), *rows]:
        cells = [str(row[c]).rjust(width[c]) if c == "jobs" else str(row[c]).ljust(width[c])
                 for c in COLUMNS]
        print("  ".join(cells).rstrip())
