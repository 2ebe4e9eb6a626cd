"""--rerun and --only, shared by `dsl run` and `dsl plan` (the plan shows what they select)."""

from __future__ import annotations

import argparse


def add_selector_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rerun", action="append", default=[], metavar="failed|stale|KIND|JOBID",
                        help="compute exactly these jobs again, finished or not, and every job "
                             "that reads them: failed jobs, stale ones (made by other code), a "
                             "job kind, or a job id (a unique prefix is enough); repeatable, or "
                             "comma-separated")
    parser.add_argument("--only", action="append", default=[], metavar="FACTOR=VALUE,...",
                        help="only the cells with these factor values (seed too), e.g. "
                             "--only seed=0,invariance=other_transforms; repeat a factor for "
                             "any of several values")
