"""`dsl run SPEC_OR_DIR...`: run every unfinished job of the specs, then print their tables.

Exit status: 0 when every job finished, 1 when any job failed (each named with its error in one
line: a DslError's message, else `Class: message`; the store keeps the whole traceback), 130 on
Ctrl-C (finished jobs are kept; run again to continue).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

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
    p.add_argument("--resources", action="append", default=[], metavar="KIND[:ARCH]=gpu:F,cpu:N",
                   help="what each Ray task of a kind (and architecture) asks for, e.g. "
                        "train:resnet50=gpu:1,cpu:4 or linear=cpu:2; repeatable, the most "
                        "specific rule wins (default: engine/resources.py, scaled by --per-gpu)")
    p.add_argument("--retries", type=int, default=None, metavar="N",
                   help="re-runs of a job whose worker process or node died (default: 3 with "
                        "--executor ray, 0 locally); a job that raised is never re-run")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the models with CUDA graphs (GPU only; pays for itself "
                        "in long trainings: ResNet-18 took 15-20 s to compile)")
    p.add_argument("--verbose", "-v", action="store_true", help="one line per job event")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no live progress display")
    p.set_defaults(func=_run)


def run(plan_or_paths, *, store=None, profile: str | None = None, overrides=(),
        data_root=None, **options):
    """`engine.runner.run` handed what the engine does not do itself, as `dsl run` does: the
    planner for spec paths (against the same store and data) and the printing of each spec's
    report tables. What `dsl.run` is; `options` go to engine.runner.run."""
    from dsl.commands.plan import plan
    from engine.results.tables import print_spec_tables
    from engine.runner import run as execute

    data_root = Path(data_root or os.environ.get("DSL_DATA", "data"))

    def planner(paths: list[str]):
        return plan(paths, profile, tuple(overrides), store, data_root)

    return execute(plan_or_paths, store=store, profile=profile, overrides=overrides,
                   data_root=data_root, tables=print_spec_tables, planner=planner, **options)


def _run(args: argparse.Namespace) -> int:
    from dsl.errors import DslError
    from engine.resources import ResourcePolicy

    # Checked before planning or starting Ray, so a typo costs nothing.
    ResourcePolicy.from_options(args.resources, per_gpu=max(args.per_gpu, 1))
    if args.retries is not None and args.retries < 0:
        raise DslError(f"--retries must be 0 or more, not {args.retries}")
    summary = run(args.paths, store=args.store, executor=args.executor, jobs=args.jobs,
                  per_gpu=args.per_gpu, profile=args.profile, overrides=tuple(args.overrides),
                  data_root=args.data_root, address=args.address, verbose=args.verbose,
                  progress=args.progress, compile=args.compile,
                  executor_options={"resources": tuple(args.resources),
                                    "retries": args.retries})
    return 0 if summary.ok else 1
