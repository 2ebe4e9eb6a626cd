"""`dsl show JOB`: everything the store knows about one job.

JOB is a job id or a unique prefix of one (`dsl plan --explain`, a report's job lists and
`dsl runs` show them). Printed: status (and error), config, inputs with their status, metrics,
timings and host, the code fingerprint it ran with against today's (and the files that changed),
the environment of the worker that ran it, its artifact folder and log, and the runs that name it.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from dsl.commands._common import add_store_option


def register(sub):
    p = sub.add_parser("show", help="one job: config, inputs, metrics, timings, code, "
                                    "environment, log", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("job", metavar="JOB", help="a job id, or a unique prefix of one")
    add_store_option(p)
    p.add_argument("--json", action="store_true", help="the same as JSON")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from engine.job_view import job_view

    view = job_view(args.job, args.store)
    if args.json:
        print(json.dumps(view, indent=2, default=str))
    else:
        sys.stdout.write(render(view))
    return 0


def _time(t: float | None) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S") if t else "-"


def render(v: dict[str, Any]) -> str:
    from engine.environment import describe

    out = [f"{v['job_id']}  ({v['kind']}, version {v['version']}): {v['status']}"]
    if v["error"]:
        out.append(f"  error: {v['error_line']}")
    out.append("config:")
    out += [f"  {line}" for line in json.dumps(v["config"], indent=2, sort_keys=True).splitlines()]
    if v["inputs"]:
        out.append("inputs:")
        out += [f"  {role}: {i['job_id']} ({i['status']})" for role, i in v["inputs"].items()]
    out.append("metrics:" if v["metrics"] else "metrics: none")
    out += [f"  {m['name']}{'@' + m['split'] if m['split'] else ''} = {m['value']:.6g}"
            for m in v["metrics"]]
    t = v["timings"]
    took = "-" if t["seconds"] is None else f"{t['seconds']:.1f} s"
    out.append(f"timings: claimed {_time(t['claimed_at'])}, started {_time(t['started'])}, "
               f"finished {_time(t['finished'])}, {took} on {t['host'] or '-'}")
    code = v["code"]
    if code["recorded"] is None:
        out.append(f"code: not recorded (finished before fingerprints were kept); today "
                   f"{code['today']}")
    elif code["changed"]:
        out.append(f"code: STALE: ran with {code['recorded']}, today {code['today']}; changed: "
                   + ", ".join(code["changed"]))
    else:
        out.append(f"code: {code['recorded']} (today's), {len(code['files'])} files")
    env = v["environment"]
    out.append("environment:" if env else "environment: not recorded")
    out += [f"  {label}: {text}" for label, text in describe(env or {})]
    out.append(f"artifact: {v['artifact']}{'' if v['artifact_exists'] else ' (absent)'}")
    out.append(f"log: {v['log']}{'' if v['log_exists'] else ' (absent)'}")
    if v["runs"]:
        out.append("runs naming it: " + ", ".join(f"{r['run_id']} ({r['spec']})"
                                                   for r in v["runs"]))
    return "\n".join(out) + "\n"
