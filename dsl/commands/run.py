"""`dsl run SPEC_OR_DIR...`: run every unfinished job of the specs, then print their tables.

Before anything starts it prints what the run will cost: the jobs to run by kind, and the
hours on this machine and GPU-hours, an order of magnitude estimated from
  {assumptions}.
On a terminal, a run estimated at more than an hour on a machine without a GPU asks first (--yes
does not ask); without a terminal (a batch job, CI) it never asks and goes on, so the cost line
is the record of what was started. Without a terminal, one line per finished job takes the place
of the live display.

Exit status: 0 when every job finished, 1 when any job failed (each named with its error in one
line: a DslError's message, else `Class: message`; the store keeps the whole traceback) or the
cost was declined, 2 when nothing could run because every spec lacks its local data (each named,
with where to put it and the command for a stand-in), 130 on Ctrl-C (finished jobs are kept; run
again to continue).

The summary line ("N jobs: N ran, N cached ...") counts:
{glossary}
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from dsl.commands._common import add_plan_options
from dsl.commands._selectors import add_selector_options
from dsl.commands._slurm_args import add_slurm_options, slurm_flags_used, slurm_options
from dsl.counts import glossary
from engine.cost import ASSUMPTIONS

__doc__ = __doc__.replace("{glossary}", glossary(("jobs", "ran", "cached", "failed"))).replace(
    "{assumptions}", ASSUMPTIONS)

ASK_ABOVE_HOURS = 1.0  # on a CPU-only machine, a run estimated longer asks first (on a terminal)


def register(sub) -> None:
    p = sub.add_parser(
        "run", help="run the specs' jobs (finished ones are reused) and print their tables",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_plan_options(p)
    add_selector_options(p)
    p.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                   help="worker processes (local executor; default 1)")
    p.add_argument("--per-gpu", type=int, default=1, metavar="K",
                   help="jobs sharing each GPU at once (default 1)")
    p.add_argument("--executor", choices=("local", "ray", "slurm"), default="local",
                   help="where jobs run: worker processes here, a Ray cluster, or Slurm jobs")
    p.add_argument("--address", default=None,
                   help="Ray cluster address (e.g. 'auto' inside a Slurm allocation)")
    p.add_argument("--resources", action="append", default=[], metavar="KIND[:ARCH]=gpu:F,cpu:N",
                   help="what each Ray task of a kind (and architecture) asks for, e.g. "
                        "train:resnet50=gpu:1,cpu:4 or linear=cpu:2; repeatable, the most "
                        "specific rule wins (default: engine/resources.py, scaled by --per-gpu)")
    p.add_argument("--retries", type=int, default=None, metavar="N",
                   help="re-runs of a job whose worker process or node died (default: 3 with "
                        "--executor ray, 0 locally); a job that raised is never re-run")
    p.add_argument("--compile", dest="compile", action="store_const", const=True,
                   default="auto",
                   help="torch.compile every training with CUDA graphs (GPU only). Default: "
                        "only trainings of >= 2.5M images (epochs x samples) on a GPU, where it "
                        "pays for its 15-20 s; a worker reuses what it compiled for later jobs "
                        "of the same shape")
    p.add_argument("--no-compile", dest="compile", action="store_const", const=False,
                   help="never torch.compile")
    p.add_argument("--verbose", "-v", action="store_true", help="one line per job event")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no live progress display (nor, without a terminal, a line per job)")
    p.add_argument("--yes", "-y", action="store_true",
                   help=f"do not ask before a run estimated at more than {ASK_ABOVE_HOURS:g} "
                        "hour on a machine without a GPU")
    add_slurm_options(p)
    p.set_defaults(func=_run, run_parser=p)


def run(plan_or_paths, *, store=None, profile: str | None = None, overrides=(),
        data_root=None, **options):
    """`engine.runner.run` handed what the engine does not do itself, as `dsl run` does: the
    planner for spec paths (against the same store and data) and the printing of each spec's
    report tables. What `dsl.run` is; `options` go to engine.runner.run."""
    from dsl.commands.plan import plan
    from engine.results.claims import print_spec_claims
    from engine.results.tables import print_spec_tables
    from engine.runner import run as execute

    def tables(spec, st) -> None:  # each spec's report tables, then its claims' verdicts
        print_spec_tables(spec, st)
        print_spec_claims(spec, st)

    data_root = Path(data_root or os.environ.get("DSL_DATA", "data"))

    def planner(paths: list[str]):
        return plan(paths, profile, tuple(overrides), store, data_root)

    return execute(plan_or_paths, store=store, profile=profile, overrides=overrides,
                   data_root=data_root, tables=tables, planner=planner, **options)


def _run(args: argparse.Namespace) -> int:
    from dsl.errors import DslError
    from engine.resources import ResourcePolicy

    # Checked before planning or starting Ray, so a typo costs nothing.
    ResourcePolicy.from_options(args.resources, per_gpu=max(args.per_gpu, 1))
    if args.retries is not None and args.retries < 0:
        raise DslError(f"--retries must be 0 or more, not {args.retries}")
    # -- Slurm and --detach (dsl/commands/_slurm_args.py, engine/detach.py) -----------------
    slurm = None
    if args.executor == "slurm":
        slurm = slurm_options(args)
        from engine.executors.slurm_options import check_partition, probe_cluster

        check_partition(probe_cluster(), slurm.partition)  # before planning: nothing submitted
    elif slurm_flags_used(args):
        raise DslError(f"{', '.join(slurm_flags_used(args))}: only for --executor slurm; add it "
                       "or drop them")
    if args.detach:
        from engine.detach import argv_of, detach
        from engine.store import resolve_root

        argv = argv_of(args.run_parser, args, drop={"detach", "driver_time", "store", "progress"})
        return detach(argv, resolve_root(args.store), slurm=slurm is not None,
                      slurm_opts=slurm, driver_time=args.driver_time)
    # ------------------------------------------------------------------------------------------
    summary = run(args.paths, store=args.store, executor=args.executor, jobs=args.jobs,
                  per_gpu=args.per_gpu, profile=args.profile, overrides=tuple(args.overrides),
                  data_root=args.data_root, address=args.address, verbose=args.verbose,
                  progress=args.progress, compile=args.compile,
                  executor_options={"resources": tuple(args.resources),
                                    "retries": args.retries, "slurm": slurm},
                  rerun=tuple(args.rerun), only=tuple(args.only),
                  confirm=None if args.yes or args.executor != "local" else _ask)
    if summary.all_lacked_data:
        raise DslError(nothing_ran(summary, args.data_root))
    return 0 if summary.ok else 1


def _ask(cost) -> bool:
    """Ask on a terminal before a long CPU-only run; never without one (see the module doc)."""
    if cost.gpus or cost.cpu_hours <= ASK_ABOVE_HOURS or not sys.stdin.isatty():
        return True
    try:
        answer = input(f"this is estimated at {cost.cpu_hours:.3g} hours on this machine's CPU "
                       "(--profile smoke runs any spec in minutes). Run it? [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() in ("y", "yes"):
        return True
    print("nothing started", file=sys.stderr)
    return False


def nothing_ran(summary, data_option) -> str:
    """Every spec lacked its data: name it, where it goes, and how to try with a stand-in."""
    from dsl.commands.data import CIFAR, data_root, stand_in_hint

    lines = ["nothing ran: every spec asked for needs local data that is not here"]
    lines += [f"  {spec}: {why}" for spec, why in summary.skipped_specs.items()]
    if any(why.startswith(CIFAR) for why in summary.skipped_specs.values()):
        hint = stand_in_hint(data_root(data_option))
        lines.append(f"  to try the spec without the real data: {hint}")
    lines.append("  `dsl data check SPEC` says what a spec reads and whether it is there")
    return "\n".join(lines)
