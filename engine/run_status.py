"""Where a run stands, read from the store and its files (engine.runfiles) by any process.

Jobs by kind and state (done, running, queued, failed, skipped), the Slurm jobs running now, an
ETA from the durations the store measured, the last failures, and the driver (alive or not).
A job a `--rerun` computes again counts as queued, not done, until this run has finished it anew.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from statistics import mean

from engine import runfiles
from engine.store import RunRecord, Store, owner_alive

STATES = ("done", "running", "queued", "failed", "skipped")


def run_jobs(store: Store, run: RunRecord, info: dict | None = None) -> dict[str, str]:
    """Job id -> kind of every job the run needs: as its driver recorded it, else the jobs its
    cells name plus their inputs the store knows of (runs of older versions). `info`: the
    driver file, when the caller has read it already."""
    info = runfiles.driver(store.root, run.run_id) if info is None else info
    if info and info.get("jobs"):
        return dict(info["jobs"])
    out: dict[str, str] = {}
    frontier = set(run.job_ids())
    while frontier:
        records = store.jobs(frontier)
        for jid in frontier:
            rec = records.get(jid)
            out[jid] = rec.kind if rec else jid.rsplit("-", 1)[0]
        frontier = {i for r in records.values() for i in r.inputs.values()} - set(out)
    return out


def driver_state(store: Store, run: RunRecord, info: dict | None = None) -> dict:
    info = (runfiles.driver(store.root, run.run_id) if info is None else info) or {}
    alive = owner_alive(run.owner) if run.status == "running" else False
    return {"owner": run.owner, "slurm_job": info.get("slurm_job"), "log": info.get("log"),
            "alive": alive}  # None: on another host, only its heartbeat tells


def status(store: Store, run: RunRecord, failures: int = 5) -> dict:
    # the driver file, read once: the run's jobs, its reruns, its Slurm job and log
    info = runfiles.driver(store.root, run.run_id) or {}
    jobs = run_jobs(store, run, info)
    records = store.jobs(jobs)
    # finished jobs this run computes again (--rerun) keep their old record until it does
    redo, since = set(info.get("rerun") or ()), info.get("started") or run.started or 0.0
    counts: dict[str, Counter] = defaultdict(Counter)
    running, failed = [], []
    seconds: dict[str, list[float]] = defaultdict(list)
    for jid, kind in jobs.items():
        rec = records.get(jid)
        state = rec.status if rec else "queued"
        state = "queued" if state == "pending" else state
        if state == "done" and not store.paths.artifact(jid).is_dir():
            state = "queued"  # its artifact was removed: the next run makes it again
        if state == "done" and jid in redo and (rec.finished or 0.0) < since:
            state = "queued"  # done before this run, which computes it again
        if state == "running" and run.status != "running" and rec.owner == run.owner:
            state = "queued"  # this run's driver is gone; its claim will be taken over
        counts[kind][state] += 1
        if rec and rec.status == "done" and rec.seconds:
            seconds[kind].append(rec.seconds)
        if state == "running":
            slurm = runfiles.slurm_job(store.root, jid) or {}
            running.append({"job": jid, "kind": kind, "since": rec.started,
                            "slurm_job": slurm.get("slurm_job")})
        elif state == "failed":
            failed.append({"job": jid, "kind": kind, "finished": rec.finished,
                           "error": rec.error_line})
    failed.sort(key=lambda f: f["finished"] or 0, reverse=True)
    total = Counter()
    for c in counts.values():
        total.update(c)
    return {"run": run.run_id, "spec": run.spec, "status": run.status,
            "started": run.started, "finished": run.finished,
            "jobs": {s: total[s] for s in STATES}, "total": len(jobs),
            "by_kind": {k: {s: c[s] for s in STATES} for k, c in sorted(counts.items())},
            "running": running, "failures": failed[:failures],
            "eta_s": _eta(counts, seconds, max(1, len(running))) if run.status == "running"
            else None,
            "driver": driver_state(store, run, info)}


def _eta(counts: dict[str, Counter], seconds: dict[str, list[float]], parallel: int):
    """Seconds until the run is done, if every kind still to run has a measured duration: the
    mean duration times the jobs left, spread over as many as run now."""
    work = 0.0
    for kind, c in counts.items():
        left = c["queued"] + c["running"]
        if not left:
            continue
        if not seconds.get(kind):
            return None
        work += left * mean(seconds[kind])
    return work / parallel


def render(st: dict) -> str:
    """Lines for a terminal."""
    j = st["jobs"]
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(st["started"])) if st["started"] else ""
    lines = [f"run {st['run']}  {st['spec']}  {st['status']}  started {when}"]
    eta = f", about {_duration(st['eta_s'])} left" if st.get("eta_s") is not None else ""
    lines.append(f"  {j['done']}/{st['total']} done, {j['running']} running, {j['queued']} queued, "
                 f"{j['failed']} failed, {j['skipped']} skipped{eta}")
    for kind, c in st["by_kind"].items():
        parts = [f"{c[s]} {s}" for s in STATES if c[s]]
        lines.append(f"    {kind:<12} {', '.join(parts)}")
    d = st["driver"]
    if st["status"] == "running":
        where = f"Slurm job {d['slurm_job']}" if d.get("slurm_job") else d.get("owner") or "?"
        lines.append(f"  driver: {where}" + (f", log {d['log']}" if d.get("log") else ""))
    slurm = [r for r in st["running"] if r.get("slurm_job")]
    if slurm:
        shown = ", ".join(f"{r['job']} ({r['slurm_job']})" for r in slurm[:6])
        more = f" and {len(slurm) - 6} more" if len(slurm) > 6 else ""
        lines.append(f"  on Slurm: {shown}{more}")
    for f in st["failures"]:
        lines.append(f"  failed {f['job']}: {f['error']}   (dsl logs {f['job'][:24]})")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"
