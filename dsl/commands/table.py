"""`dsl table SPEC...`: each spec's [[report]] tables from the store, aggregated over seeds.

Cells read "mean ± std" over seeds; "[have/planned]" when some jobs have no result yet;
"missing (why)" when none has; "-" where no cell was planned. csv, json and parquet hold the
numbers (mean, std, n, 95% CI, job ids) in long form (docs/results.md).
"""

from __future__ import annotations

import argparse
import sys
from dsl.commands._common import add_plan_options, note_missing_store
from dsl.commands._last_run import read_plans
from dsl.errors import DslError
from dsl.outputs import output_file, write_output

FORMATS = ("terminal", "csv", "md", "json", "parquet")


def register(sub):
    p = sub.add_parser("table", help="print the specs' report tables (mean ± std over seeds)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_plan_options(p, read=True)
    p.add_argument("--format", "-f", choices=FORMATS, default="terminal")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(func=_run)


def _run(args):
    from engine.results.tables import render, table

    note_missing_store(args)
    if args.format == "parquet" and not args.output:
        raise DslError("--format parquet needs -o FILE")
    tables = table(read_plans(args), store=args.store)
    if not tables:
        print("no table reports in these specs", file=sys.stderr)
    out = render(tables, args.format)
    if args.output:
        write_output(output_file(args.output), out)
    else:
        sys.stdout.write(out)
    return 0
