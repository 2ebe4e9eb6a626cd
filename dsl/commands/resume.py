"""`dsl resume RUN`: continue a run that stopped (cancelled, interrupted, or its driver died).

Runs the run's `dsl run` command line again (the same specs, profile, overrides, executor and
options); finished jobs are reused, the claims of a dead driver are taken over. `--detach` starts
it in the background (or as a Slurm job) as `dsl run --detach` does.
"""

from __future__ import annotations

import argparse

from dsl.commands._common import add_store_option, existing_store


def register(sub) -> None:
    p = sub.add_parser("resume", help="continue a stopped run with the command line it had",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", metavar="RUN", help="run id (a unique prefix is enough)")
    p.add_argument("--detach", action="store_true", help="continue in the background")
    add_store_option(p)
    p.set_defaults(func=_run)


def _run(args) -> int:
    from dsl.cli import main
    from engine.run_control import resume_argv

    store = existing_store(args)
    argv = resume_argv(store, store.run(args.run))
    if args.detach and "--detach" not in argv:
        argv.append("--detach")
    print("dsl " + " ".join(argv), flush=True)
    return main(argv)
