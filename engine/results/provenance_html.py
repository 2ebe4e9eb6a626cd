"""The report's provenance additions: the environment results were made in, and stale results."""

from __future__ import annotations

import html
from collections import Counter
from typing import Any, Iterable, Mapping

from engine.environment import describe

# The columns that tell job environments apart in the report (the rest is in `dsl show JOB`).
JOB_COLUMNS = (("hostname", "host"), ("gpu", "GPU"), ("gpu_driver", "driver"), ("cpu", "CPU"),
               ("python", "Python"), ("torch", "torch"), ("cuda", "CUDA"), ("cudnn", "cuDNN"),
               ("numba", "numba"), ("dsl", "dsl"), ("git_commit", "git"),
               ("git_dirty", "dirty"), ("git_diff_hash", "diff hash"))


def _e(x: Any) -> str:
    return html.escape(str(x))


def environments(store: Any, runs: list, job_ids: Iterable[str]) -> dict[str, Any]:
    """{"run": (run id, env) of the newest run that recorded one, "jobs": [(env, jobs)]}."""
    from engine import provenance

    found = provenance.run_environments(store, [r.run_id for r in runs])
    newest = next(((r.run_id, found[r.run_id]) for r in runs if r.run_id in found), None)
    envs: dict[str, dict] = {}
    counts: Counter = Counter()
    for rec in provenance.jobs(store, job_ids).values():
        if rec.environment:
            key = repr(sorted((k, str(rec.environment.get(k))) for k, _ in JOB_COLUMNS))
            envs.setdefault(key, dict(rec.environment))
            counts[key] += 1
    return {"run": newest, "jobs": [(envs[k], n) for k, n in counts.most_common()]}


def _short(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key == "git_commit":
        return str(value)[:12]
    if key == "git_dirty":
        return "yes" if value else "no"
    return str(value)


def environment_html(envs: Mapping[str, Any]) -> str:
    run = envs.get("run")
    out = ["<h3>Environment</h3>"]
    if run:
        run_id, env = run
        rows = "".join(f"<tr><th>{_e(label)}</th><td>{_e(text)}</td></tr>"
                       for label, text in describe(env))
        out.append(f"<p class='sub'>the driver of run <code>{_e(run_id)}</code></p>"
                   f"<table class='kv'>{rows}</table>")
    else:
        out.append("<p>No run of this spec recorded its environment (runs before this version "
                   "did not).</p>")
    jobs = envs.get("jobs") or []
    if jobs:
        head = "".join(f"<th>{_e(label)}</th>" for _, label in JOB_COLUMNS)
        body = "".join("<tr>" + "".join(f"<td>{_e(_short(k, env.get(k)))}</td>"
                                        for k, _ in JOB_COLUMNS) + f"<td>{n}</td></tr>"
                       for env, n in jobs)
        word = "environment" if len(jobs) == 1 else "environments"
        out.append(f"<p class='sub'>the jobs of this spec ran in {len(jobs)} {word} "
                   "(<code>dsl show JOB</code> has one job's)</p>"
                   f"<table class='kv'><tr>{head}<th>jobs</th></tr>{body}</table>")
    return "\n".join(out)


def stale_html(view: Any, spec_path: str) -> str:
    """The stale-results section: per kind, how many jobs and which files changed."""
    from engine.provenance import files_text
    from engine.results.stale import STALE_MARK

    if not view:
        return ""
    items = "".join(f"<li><b>{_e(kind)}</b>: {n} cached job(s) made by other code; changed: "
                    f"<code>{_e(files_text(files, 8))}</code></li>"
                    for kind, (n, files) in sorted(view.staleness.kinds.items()))
    return (f"<h3 class='note'>Stale results {STALE_MARK}</h3><p>Numbers marked {STALE_MARK} "
            "rest on these jobs (or on jobs that read them); their code has changed since they "
            f"ran:</p><ul>{items}</ul><p>Recompute them: <code>dsl run {_e(spec_path)} --rerun "
            "stale</code> (with the same --profile and --set).</p>")
