"""`dsl run SPEC_OR_DIR...`: run every unfinished job of the specs, then print their tables.

Exit status: 0 when every job finished, 1 when any job failed (each named with its error's last
line), 130 on Ctrl-C (finished jobs are kept; run again to continue).
"""

from __future__ import annotations

import argparse

from dsl.commands._common import add_plan_options


def register(sub) -> None:
    p = sub.add_parser(
        "run", help="run the specs' jobs (finished ones are reused) and print their tables",
        description="Run every job of the specs that is not finished in the store yet, "
                    "in dependency order, then print each spec's report tables.")
    add_plan_options(p)
    p.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                   help="worker processes (local executor; default 1)")
    p.add_argument("--per-gpu", type=int, default=1, metavar="K",
                   help="jobs sharing each GPU at once (default 1)")
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="where jobs run: worker processes here, or a Ray cluster")
    p.add_argument("--address", default=None,
                   help="Ray cluster address (e.g. 'auto' inside a Slurm allocation)")
    p.add_argument("--data", dest="data_root", default=None, metavar="DIR",
                   help="local datasets such as CIFAR (default: $DSL_DATA, else ./data)")
    p.add_argument("--compile", action="store_true", help="torch.compile the models")
    p.add_argument("--verbose", "-v", action="store_true", help="one line per job event")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no live progress display")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from engine.runner import run

    summary = run(args.paths, store=args.store, executor=args.executor, jobs=args.jobs,
                  per_gpu=args.per_gpu, profile=args.profile, overrides=tuple(args.overrides),
                  data_root=args.data_root, address=args.address, verbose=args.verbose,
                  progress=args.progress, compile=args.compile)
    return 0 if summary.ok else 1
