"""`dsl report SPEC_OR_DIR... -o DIR`: one self-contained HTML page per spec.

A page holds the spec's title and text, plan counts (jobs, shared, cached, failed), every table
and chart of its [[report]]s (each table cell linked to the jobs behind it), and provenance:
spec hash, git revision, engine versions, recorded runs. index.html links the pages and says
per spec whether it has results, its last run, that run's options and status.

The plan counts (each page says the same):
{glossary}
"""

from __future__ import annotations

import argparse

from dsl.commands._common import add_plan_options, note_missing_store
from dsl.counts import glossary
from dsl.commands._last_run import read_plans

__doc__ = __doc__.replace("{glossary}", glossary(("cells", "jobs", "uses", "shared", "cached",
                                                  "failed")))


def register(sub):
    p = sub.add_parser("report", help="write one self-contained HTML page per spec",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_plan_options(p, read=True)
    p.add_argument("-o", "--output", metavar="DIR", required=True, help="folder to write into")
    p.set_defaults(func=_run)


def _run(args):
    from engine.results.report import report

    note_missing_store(args)
    for path in report(read_plans(args), args.output, store=args.store):
        print(path)
    return 0
