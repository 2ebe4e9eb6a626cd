"""`dsl diff A [B C ...]`: what changed between versions of a spec, and what it did to results.

A, B, ... are each a spec file, PATH@GITREV (e.g. specs/x.toml@HEAD~1) or a recorded run id (a
unique prefix is enough). With only A (a file), it is compared with the newest recorded run of
that spec; with several, each of B, C, ... is compared with A. Sections: spec (changed fields),
plan (jobs only in A / only in B / shared, and the config field behind each changed job),
results (per cell: mean A, mean B, delta B - A with its 95% CI, paired by seed; P(B>A), the
probability of improvement; a p-value adjusted across every value tested, by Benjamini-Hochberg
(--correction bh, default) or Holm; "changed" when the adjusted p < 0.05, else "within noise").
--format csv writes the results rows only.
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
    p.add_argument("others", metavar="B", nargs="*",
                   help="the same, each compared with A (default: A vs its last run)")
    p.add_argument("--format", "-f", choices=("md", "json", "csv"), default="md")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.add_argument("--chart", metavar="FILE", help="also draw the deltas (.png, .svg or .html)")
    p.add_argument("--ci", choices=("bootstrap", "t"), default="bootstrap",
                   help="95%% interval of each delta (default: percentile bootstrap over seeds)")
    p.add_argument("--test", choices=("t", "permutation"), default="t",
                   help="p-value of each delta: t test (default) or exact permutation test")
    p.add_argument("--correction", choices=("bh", "holm", "none"), default="bh",
                   help="across the values tested: Benjamini-Hochberg (FDR, default) or Holm "
                        "(family-wise error)")
    p.add_argument("--profile", default=None, help="plan both spec files under this profile")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="PATH=VALUE", help="override a field on both sides")
    add_store_option(p)
    add_data_option(p)
    p.set_defaults(func=_run)


def _run(args):
    from dsl.diff import diff_many

    if args.chart and Path(args.chart).suffix not in (".png", ".svg", ".html"):
        raise DslError(f"--chart {args.chart}: use a .png, .svg or .html name")
    if args.chart and len(args.others) > 1:
        raise DslError("--chart draws one comparison: give A and one B")
    results = diff_many([args.a, *args.others], store=args.store, profile=args.profile,
                        overrides=tuple(args.overrides), data_root=args.data_root, ci=args.ci,
                        test=args.test, correction=args.correction)
    result = results[0]
    if len(results) == 1:
        text = json.dumps(result.to_json(), indent=2, default=str) + "\n" \
            if args.format == "json" else result.to_csv() if args.format == "csv" \
            else result.to_markdown()
    else:
        text = _several(results, args.format)
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


def _several(results, fmt: str) -> str:
    """B, C, ... against A: one section (md), one object (json) or rows labelled by B (csv)."""
    import polars as pl

    if fmt == "json":
        return json.dumps({"format": "dsl.diff-many/1", "a": results[0].a.info(),
                           "diffs": [r.to_json() for r in results]}, indent=2,
                          default=str) + "\n"
    if fmt == "csv":
        return pl.concat([r.results.with_columns(b=pl.lit(r.b.label)).select(
            "b", *r.results.columns) for r in results]).write_csv()
    head = (f"# {len(results)} comparisons with {results[0].a.label}\n\n"
            "_p-values are corrected across all of them together._\n\n")
    return head + "\n".join(r.to_markdown() for r in results)
