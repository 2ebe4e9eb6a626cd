"""`dsl diff A [B]`: what changed between two versions of a spec, and what it did to results.

A and B are each a spec file, PATH@GITREV (e.g. specs/x.toml@HEAD~1) or a recorded run id (a
unique prefix is enough). With only A (a file), it is compared with the newest recorded run of
that spec. Sections: spec (changed fields), plan (jobs only in A / only in B / shared, and the
config field behind each changed job), results (per cell: mean A, mean B, delta with 95% CI,
paired by seed; changed or within noise). --format csv writes the results rows only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dsl.commands._common import add_data_option, add_store_option
from dsl.errors import DslError


def register(sub):
    p = sub.add_parser("diff", help="spec, plan and results differences between two versions",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", metavar="A", help="spec file, PATH@GITREV or run id")
    p.add_argument("b", metavar="B", nargs="?", help="the same (default: A vs its last run)")
    p.add_argument("--format", "-f", choices=("md", "json", "csv"), default="md")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.add_argument("--chart", metavar="FILE", help="also draw the deltas (.png, .svg or .html)")
    p.add_argument("--profile", default=None, help="plan both spec files under this profile")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="PATH=VALUE", help="override a field on both sides")
    add_store_option(p)
    add_data_option(p)
    p.set_defaults(func=_run)


def _run(args):
    from engine.results.diff import diff

    if args.chart and Path(args.chart).suffix not in (".png", ".svg", ".html"):
        raise DslError(f"--chart {args.chart}: use a .png, .svg or .html name")
    result = diff(args.a, args.b, store=args.store, profile=args.profile,
                  overrides=tuple(args.overrides), data_root=args.data_root)
    if args.format == "json":
        text = json.dumps(result.to_json(), indent=2, default=str) + "\n"
    elif args.format == "csv":
        text = result.to_csv()
    else:
        text = result.to_markdown()
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    if args.chart:
        _save_chart(result.chart(), Path(args.chart))
    return 0


def _save_chart(chart, path: Path) -> None:
    from engine.results.charts import to_html, to_png, to_svg

    if path.suffix == ".png":
        path.write_bytes(to_png(chart))
    elif path.suffix == ".svg":
        path.write_text(to_svg(chart))
    else:  # .html (the suffix was checked before the diff was computed)
        path.write_text(to_html(chart))
