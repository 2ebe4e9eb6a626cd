"""`dsl run`'s options for `--executor slurm` and `--detach`, kept apart from the other options."""

from __future__ import annotations

import argparse


def add_slurm_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("Slurm (--executor slurm)")
    g.add_argument("--partition", default=None, help="Slurm partition (default: the cluster's)")
    g.add_argument("--time", default=None, metavar="LIMIT",
                   help="time limit of each Slurm job, e.g. 90 (minutes) or 4:00:00 (default 60 "
                        "minutes); a Slurm job cancelled, preempted or timed out is submitted "
                        "again up to --retries times (default 3)")
    g.add_argument("--gpus-per-job", type=int, default=None, metavar="N",
                   help="GPUs of each GPU job (default: 1; 0 on a cluster without GPUs)")
    g.add_argument("--cpus-per-job", type=int, default=None, metavar="N",
                   help="CPUs of each Slurm job (default: from --resources, 1)")
    g.add_argument("--account", default=None, help="Slurm account to charge")
    g.add_argument("--qos", default=None, help="Slurm quality of service")
    g.add_argument("--slurm-extra", action="append", default=[], metavar="KEY=VALUE",
                   help="any other sbatch option without its dashes, e.g. constraint=a100; "
                        "repeatable")
    # --retries (the common option) also counts Slurm jobs cancelled, preempted or timed out
    # under the run; its default is 3 with --executor slurm.
    g.add_argument("--max-submitted", type=int, default=None, metavar="N",
                   help="at most N jobs submitted at a time (default 64; packs and job arrays "
                        "make Slurm's queue shorter still)")
    g.add_argument("--pack", type=int, default=None, metavar="N",
                   help="dataset, linear and sensitivity jobs run up to N in sequence per Slurm "
                        "job (default 8; 1: one Slurm job each)")
    d = parser.add_argument_group("detached runs")
    d.add_argument("--detach", action="store_true",
                   help="start the driver in the background (with --executor slurm: as a small "
                        "CPU Slurm job) and return at once; watch it with `dsl status`")
    d.add_argument("--driver-time", default=None, metavar="LIMIT",
                   help="time limit of the detached driver's Slurm job (default: the "
                        "partition's); `dsl resume RUN` continues a driver that ran out")


def slurm_options(args: argparse.Namespace):
    """The SlurmOptions of the command line; DslError for a malformed one (nothing submitted)."""
    from engine.executors.slurm_options import SlurmOptions, parse_time

    if args.driver_time:
        parse_time(args.driver_time)
    return SlurmOptions.from_cli(
        partition=args.partition, time=args.time, gpus_per_job=args.gpus_per_job,
        cpus_per_job=args.cpus_per_job, account=args.account, qos=args.qos,
        extra=args.slurm_extra, max_submitted=args.max_submitted, retries=args.retries,
        pack=args.pack)


def slurm_flags_used(args: argparse.Namespace) -> list[str]:
    """Slurm-only flags given without --executor slurm (they would be silently ignored)."""
    used = [("--partition", args.partition), ("--time", args.time),
            ("--gpus-per-job", args.gpus_per_job), ("--cpus-per-job", args.cpus_per_job),
            ("--account", args.account), ("--qos", args.qos), ("--slurm-extra", args.slurm_extra),
            ("--max-submitted", args.max_submitted), ("--pack", args.pack),
            ("--driver-time", args.driver_time)]
    return [flag for flag, value in used if value not in (None, [])]
