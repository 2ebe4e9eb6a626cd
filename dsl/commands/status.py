"""`dsl status [RUN|SPEC...]`: where runs stand, from any shell that sees the store.

Per run: its state, jobs done/running/queued/failed/skipped by kind, the Slurm jobs running now,
an ETA from measured job durations, the last failures (one line each; `dsl logs JOB` shows the
whole log) and its driver. Without arguments: the runs still running, else the newest run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from dsl.commands._common import add_store_option, existing_store
from dsl.errors import DslError


def register(sub) -> None:
    p = sub.add_parser("status", help="where runs stand: jobs by state, Slurm jobs, ETA, failures",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("targets", nargs="*", metavar="RUN|SPEC",
                   help="run ids (a unique prefix is enough) or spec names/files")
    p.add_argument("--json", action="store_true", help="one JSON list of runs")
    p.add_argument("--watch", action="store_true",
                   help="refresh until the runs end (Ctrl-C stops watching, not the run)")
    p.add_argument("--every", type=float, default=5.0, metavar="SECONDS",
                   help="seconds between refreshes with --watch (default 5)")
    add_store_option(p)
    p.set_defaults(func=_run)


def select_runs(store, targets: list[str]):
    """The runs named by id prefix or spec (the newest run of a spec); without targets the
    running runs, else the newest one."""
    runs = store.runs()
    if not targets:
        live = [r for r in runs if r.status == "running"]
        return live or runs[:1]
    out = []
    for text in targets:
        name = Path(text).stem if text.endswith(".toml") else text
        of_spec = [r for r in runs if r.spec == name]
        if of_spec:
            out.append(of_spec[0])
            continue
        try:
            out.append(store.run(text))
        except DslError as err:
            known = sorted({r.spec for r in runs})
            raise DslError(f"{err} and no spec {name!r} has runs"
                           + (f" (specs with runs: {', '.join(known)})" if known else "")) from None
    return out


def _run(args) -> int:
    from engine.run_status import render, status

    store = existing_store(args)
    while True:
        runs = select_runs(store, args.targets)
        if not runs:
            raise DslError(f"no runs in the store at {store.root}")
        states = [status(store, r) for r in runs]
        if args.json:
            sys.stdout.write(json.dumps(states, indent=1) + "\n")
        else:
            if args.watch:
                sys.stdout.write("\x1b[2J\x1b[H" if sys.stdout.isatty() else "\n")
            print("\n\n".join(render(s) for s in states))
        sys.stdout.flush()
        if not args.watch or all(s["status"] != "running" for s in states):
            return 0
        args.targets = args.targets or [s["run"] for s in states]  # follow these runs to the end
        time.sleep(max(args.every, 0.5))
