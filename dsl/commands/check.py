"""`dsl check SPEC...`: judge each spec's [[claim]]s on the results in the store.

Each claim is supported, contradicted or inconclusive, with its effect (the mean over seeds of
the paired difference), a 95% interval (t over seeds; --ci bootstrap for scipy's percentile
bootstrap) and the number of paired seeds; docs/claims.md says how the verdict is decided.
A claim whose planned results are not all in the store (a run not finished, failed jobs) is
judged on those that are, and says so: "partial: judged on 2,052 of 6,156 results; 4,104 not
run". Exit status: 1 when any claim is contradicted (with --strict, also when any is
inconclusive or partial), else 0. Without --profile or --set, each spec is judged with the
options of its last run.
"""

from __future__ import annotations

import argparse
import json
import sys

from dsl.commands._common import add_plan_options, note_missing_store


def register(sub):
    p = sub.add_parser("check", help="judge the specs' claims on their results (exit 1 when "
                                     "one is contradicted)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_plan_options(p, read=True)
    p.add_argument("--ci", choices=("t", "bootstrap"), default="t",
                   help="interval of the effect over seeds: t (default) or percentile bootstrap "
                        "(which covers less than 95%% below ~10 seeds)")
    p.add_argument("--format", "-f", choices=("terminal", "md", "json"), default="terminal")
    p.add_argument("--details", action="store_true",
                   help="every part of a claim (each level of for_every, each ordered pair)")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 on inconclusive claims and on claims judged on partial results too")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from dsl.commands._last_run import read_plans
    from engine.results.claims import check, print_claims, to_markdown

    note_missing_store(args)
    judged = list(check(read_plans(args), store=args.store, ci=args.ci).items())
    if args.format == "json":
        sys.stdout.write(json.dumps({"format": "dsl.claims/1", "specs": [
            {"spec": name, "claims": [v.to_json() for v in verdicts]}
            for name, verdicts in judged]}, indent=2, default=str) + "\n")
    elif args.format == "md":
        sys.stdout.write("\n".join(to_markdown(n, v) for n, v in judged if v))
    else:
        for name, verdicts in judged:
            if verdicts:
                print_claims(name, verdicts, details=args.details)
    all_verdicts = [v.verdict for _, vs in judged for v in vs]
    partial = sum(v.partial for _, vs in judged for v in vs)
    if not all_verdicts:
        print("no claims in these specs ([[claim]] states a finding: docs/claims.md)",
              file=sys.stderr)
    counts = {s: all_verdicts.count(s) for s in ("supported", "contradicted", "inconclusive")}
    print(", ".join(f"{n} {s}" for s, n in counts.items())
          + (f"; {partial} judged on partial results (`dsl status SPEC` says what is missing)"
             if partial else ""), file=sys.stderr)
    failed = counts["contradicted"] or (args.strict and (counts["inconclusive"] or partial))
    return 1 if failed else 0
