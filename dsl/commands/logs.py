"""`dsl logs JOB`: a job's log, its Slurm stdout/stderr, and for a failed job its traceback.

JOB is a job id or a unique prefix of one (`dsl status` and the run summary name failed jobs).
A finished job's log is `log.txt` in its artifact; a failed job's is kept under `logs/` in the
store (its staging folder is discarded).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dsl.commands._common import add_store_option, existing_store
from dsl.errors import DslError

TAIL_LINES = 200  # of each Slurm output file: a long training log is mostly progress lines


def register(sub) -> None:
    p = sub.add_parser("logs", help="a job's log, Slurm output and traceback",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("job", metavar="JOB", help="a job id or a unique prefix of one")
    p.add_argument("--all", action="store_true",
                   help=f"whole Slurm output files (default: their last {TAIL_LINES} lines)")
    add_store_option(p)
    p.set_defaults(func=_run)


def find_job(store, text: str):
    """The job record whose id is `text` or starts with it (unique)."""
    text = text.strip()
    jobs = store.jobs()
    if text in jobs:
        return jobs[text]
    found = sorted(j for j in jobs if j.startswith(text))
    if len(found) == 1:
        return jobs[found[0]]
    if not found:
        raise DslError(f"no job {text!r} in the store at {store.root} (`dsl status` names the "
                       "failed ones)")
    more = f" and {len(found) - 5} more" if len(found) > 5 else ""
    raise DslError(f"job {text!r} is ambiguous: {', '.join(found[:5])}{more}; give more of the id")


def _section(title: str, text: str) -> None:
    print(f"== {title}")
    print(text.rstrip() if text.strip() else "(empty)")


def _file(path: Path, whole: bool) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError as err:
        return f"(cannot read {path}: {err.strerror or err})"
    if whole or len(lines) <= TAIL_LINES:
        return "\n".join(lines)
    return f"(last {TAIL_LINES} of {len(lines)} lines; --all shows all)\n" + \
        "\n".join(lines[-TAIL_LINES:])


def _run(args) -> int:
    from engine import runfiles

    store = existing_store(args)
    rec = find_job(store, args.job)
    where = f" on {rec.host}" if rec.host else ""
    print(f"job {rec.job_id} ({rec.kind}): {rec.status}{where}")
    log = runfiles.kept_log(store.root, rec.job_id) if rec.status == "failed" else \
        store.paths.artifact(rec.job_id) / "log.txt"
    if log.is_file():
        _section(f"job log {log}", _file(log, True))
    slurm = runfiles.slurm_job(store.root, rec.job_id)
    if slurm:
        shared = f", shared with {slurm['packed_with'] - 1} other job(s) of its pack" \
            if slurm.get("packed_with", 1) > 1 else ""
        print(f"== Slurm job {slurm['slurm_job']} (attempt {slurm.get('attempt', 1)}{shared})")
        for name in ("stdout", "stderr"):
            path = Path(slurm[name])
            if path.is_file():
                _section(f"{name} {path}", _file(path, args.all))
    if rec.status in ("failed", "skipped") and rec.error:
        _section("traceback" if "Traceback" in rec.error else "error", rec.error)
    return 0
