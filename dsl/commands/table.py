"""`dsl table SPEC...`: each spec's [[report]] tables from the store, aggregated over seeds.

Cells read "mean ± std" over seeds; "[have/planned]" when some jobs have no result yet;
"missing (why)" when none has; "-" where no cell was planned. csv, json and parquet hold the
numbers (mean, std, n, 95% CI, job ids) in long form (docs/results.md). The 95% CI is scipy's
percentile bootstrap over seeds (--ci t: the t interval), clipped to [0, 1] for accuracies;
--stat iqm shows the interquartile mean instead of the mean (for many seeds). The terminal and md
formats end with the spec's [[claim]] verdicts (dsl check judges them alone).
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
    p.add_argument("--ci", choices=("bootstrap", "t"), default="bootstrap",
                   help="95%% interval over seeds: percentile bootstrap (default) or t")
    p.add_argument("--stat", choices=("mean", "iqm"), default="mean",
                   help="the centre each cell shows: mean (default) or interquartile mean")
    p.set_defaults(func=_run)


def _run(args):
    from engine.results.tables import render, table

    note_missing_store(args)
    if args.format == "parquet" and not args.output:
        raise DslError("--format parquet needs -o FILE")
    if args.stat == "iqm" and args.ci == "t":
        raise DslError("--stat iqm has a bootstrap interval only: drop --ci t")
    plans = read_plans(args)
    tables = table(plans, store=args.store, ci=args.ci, center=args.stat)
    if not tables:
        print("no table reports in these specs", file=sys.stderr)
    out = render(tables, args.format)
    if args.format in ("terminal", "md"):
        out += _claims_text(args, plans)
    if args.output:
        write_output(output_file(args.output), out)
    else:
        sys.stdout.write(out)
    return 0


def _claims_text(args, plans) -> str:
    """The specs' claim verdicts, as the terminal or md output ends with them."""
    import io

    from rich.console import Console

    from engine.results.claims import check, print_claims, to_markdown

    judged = check(plans, store=args.store).items()
    if args.format == "md":
        return "".join("\n" + to_markdown(name, v) for name, v in judged if v)
    buf = io.StringIO()
    console = Console(file=buf, width=200, highlight=False, force_terminal=False)
    for name, verdicts in judged:
        print_claims(name, verdicts, console)
    return buf.getvalue()
