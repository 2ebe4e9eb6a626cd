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
from dsl.commands._last_run import CHOOSE, default_options, explicit, given, note, spec_name
from dsl.errors import DslError
from dsl.profiles import options_text
from dsl.outputs import output_file, write_output


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
    p.add_argument("--profile", default=None,
                   help="plan both spec files under this profile (default: the options of the "
                        "spec's last run; 'none' for full size)")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="PATH=VALUE", help="override a field on both sides")
    add_store_option(p)
    add_data_option(p)
    p.set_defaults(func=_run)


def _run(args):
    from engine.results.diff import diff_many

    if args.chart and Path(args.chart).suffix not in (".png", ".svg", ".html"):
        raise DslError(f"--chart {args.chart}: use a .png, .svg or .html name")
    if args.chart and len(args.others) > 1:
        raise DslError("--chart draws one comparison: give A and one B")
    profile, overrides = given(args) if explicit(args) else _last_options(args)
    results = diff_many([args.a, *args.others], store=args.store, profile=profile,
                        overrides=overrides, data_root=args.data_root, ci=args.ci,
                        test=args.test, correction=args.correction)
    result = results[0]
    if len(results) == 1:
        text = json.dumps(result.to_json(), indent=2, default=str) + "\n" \
            if args.format == "json" else result.to_csv() if args.format == "csv" \
            else result.to_markdown()
    else:
        text = _several(results, args.format)
    if args.output:
        write_output(output_file(args.output), text)
    else:
        sys.stdout.write(text)
    if args.chart:
        _save_chart(result.chart(), Path(args.chart))
    return 0


def _last_options(args) -> tuple[str | None, tuple[str, ...]]:
    """The options to plan spec-file sides with: those of a run given as the other side, else
    those of the last run of the spec a file side names; said in one line. None without."""
    from engine.store import Store, resolve_root

    store = Store(resolve_root(args.store))
    files = [Path(str(s).split("@")[0]) for s in (args.a, *args.others) if s]
    files = [f for f in files if f.is_file()]
    if not files or not store.exists():
        return None, ()
    for side in (args.a, *args.others):
        if side and not Path(str(side).split("@")[0]).exists():
            try:
                run = store.run(str(side))  # a run id: compare the file like with like
            except DslError:
                continue
            if run.profile or run.overrides:
                print(f"note: options of run {run.run_id}: "
                      f"{options_text(run.profile, run.overrides)} {CHOOSE}", file=sys.stderr)
            return run.profile, tuple(run.overrides or ())
    name = spec_name(files[0])
    profile, overrides, run = default_options(store, name)
    if run is not None and (profile or overrides):
        print(note([name], [run], profile, overrides), file=sys.stderr)
    return profile, overrides


def _save_chart(chart, path: Path) -> None:
    from engine.results.charts import to_html, to_png, to_svg

    if path.suffix == ".png":
        content: str | bytes = to_png(chart)
    elif path.suffix == ".svg":
        content = to_svg(chart)
    else:  # .html (the suffix was checked before the diff was computed)
        content = to_html(chart)
    write_output(output_file(path), content)


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
