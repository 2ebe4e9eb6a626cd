"""`dsl cancel RUN`: stop a run from any shell that sees the store.

Its driver is stopped (`scancel` of a detached driver's Slurm job, SIGTERM to a local one) and
cancels its Slurm jobs; every claim is given back and nothing finished is lost, so a later
`dsl run` of the spec (or `dsl resume RUN`) continues. A driver runs every spec of its `dsl run`:
all of its runs stop together.
"""

from __future__ import annotations

import argparse

from dsl.commands._common import add_store_option, existing_store


def register(sub) -> None:
    p = sub.add_parser("cancel", help="stop a run (its driver and Slurm jobs); a rerun continues",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", metavar="RUN", help="run id (a unique prefix is enough)")
    add_store_option(p)
    p.set_defaults(func=_run)


def _run(args) -> int:
    from engine.run_control import cancel

    store = existing_store(args)
    run = store.run(args.run)
    if run.status != "running":
        print(f"run {run.run_id} is not running ({run.status}); nothing to cancel")
        return 0
    done = cancel(store, run)
    slurm = f", {len(done.slurm_jobs)} Slurm job(s) cancelled" if done.slurm_jobs else ""
    released = f", {done.released} claim(s) given back" if done.released else ""
    print(f"cancelled {', '.join(done.runs)}{slurm}{released}; finished jobs are kept; "
          f"`dsl resume {run.run_id}` continues")
    if not done.driver_stopped:
        print("warning: the driver did not stop in time; its claims were released here")
    return 0
