"""`dsl chart SPEC... -o DIR`: each spec's [[report]] charts as files (no browser needed).

Lines carry a 95% CI band over seeds, bars an error bar; heatmaps show the seed mean. Files are
named <spec>-<NN>-<title>.<format>; html pages bundle Vega, so they open offline.
"""

from __future__ import annotations

import argparse
import sys

from dsl.commands._common import add_plan_options, note_missing_store
from dsl.commands._last_run import read_plans
from dsl.errors import DslError


def register(sub):
    p = sub.add_parser("chart", help="write the specs' report charts (html, png, svg)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_plan_options(p, read=True)
    p.add_argument("-o", "--output", metavar="DIR", required=True, help="folder to write into")
    p.add_argument("--format", "-f", default="html,png",
                   help="comma-separated: html, png, svg, json (Vega-Lite); default html,png")
    p.set_defaults(func=_run)


def _run(args):
    from engine.results.charts import EXPORT_FORMATS, chart, save

    note_missing_store(args)
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    bad = [f for f in formats if f not in EXPORT_FORMATS]
    if bad or not formats:
        raise DslError(f"unknown chart format {', '.join(bad) or '(none)'} "
                       f"(formats: {', '.join(EXPORT_FORMATS)})")
    charts = chart(read_plans(args), store=args.store)
    if not charts:
        print("no chart reports in these specs", file=sys.stderr)
    for c in charts:
        for path in save(c, args.output, formats):
            print(path)
    return 0
