"""Stop a run from another shell (`dsl cancel`) and take one over (`dsl resume`).

Cancelling signals the run's driver (SIGTERM to its process, or `scancel` of its Slurm job): the
driver then cancels its Slurm jobs and gives its claims back, as on Ctrl-C. Whatever a dead or
unresponsive driver left behind is cleaned up here: its Slurm jobs are cancelled, its claims
released and its runs marked, so a later `dsl run` or `dsl resume` continues with every finished
job kept.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field

from dsl.errors import DslError
from engine import runfiles
from engine.run_status import run_jobs
from engine.store import RunRecord, Store, hostname, owner_alive

DRIVER_GRACE_S = 30.0  # for the driver to cancel its jobs and release its claims itself


@dataclass
class Cancelled:
    runs: list[str] = field(default_factory=list)  # every run of the driver (one per spec)
    slurm_jobs: list[str] = field(default_factory=list)
    released: int = 0  # claims given back here (the driver did not)
    driver_stopped: bool = True


def _scancel(ids: list[str]) -> None:
    if ids:
        try:
            subprocess.run(["scancel", *ids], capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            pass


def cancel(store: Store, run: RunRecord, grace: float = DRIVER_GRACE_S) -> Cancelled:
    out = Cancelled()
    siblings = [r for r in store.runs() if r.owner == run.owner and r.status == "running"] \
        if run.owner else []
    out.runs = [r.run_id for r in siblings] or [run.run_id]
    info = runfiles.driver(store.root, run.run_id) or {}
    host, _, pid = (run.owner or "").rpartition(":")
    if info.get("slurm_job"):
        _scancel([str(info["slurm_job"])])
    elif host == hostname() and pid.isdigit() and owner_alive(run.owner):
        try:
            os.kill(int(pid), signal.SIGTERM)
        except ProcessLookupError:
            pass
    elif run.status == "running" and owner_alive(run.owner) is None:
        raise DslError(f"run {run.run_id}'s driver runs on {host} (pid {pid}) outside Slurm: "
                       f"stop it there (kill {pid}), or cancel from {host}")
    deadline = time.time() + grace
    while time.time() < deadline and _driving(store, out.runs, run.owner, info):
        time.sleep(0.5)
    out.driver_stopped = not _driving(store, out.runs, run.owner, info)
    # Whatever the driver left: Slurm jobs of its claims still running, the claims themselves.
    claimed = [jid for r in out.runs for jid, rec in
               store.jobs(run_jobs(store, store.run(r))).items()
               if rec.status == "running" and rec.owner == run.owner]
    out.slurm_jobs = sorted({(runfiles.slurm_job(store.root, j) or {}).get("slurm_job")
                             for j in claimed} - {None})
    _scancel(out.slurm_jobs)
    if run.owner and claimed:
        store.release(run.owner, claimed)
        out.released = len(claimed)
    for r in out.runs:
        if store.run(r).status == "running":
            store.finish_run(r, "cancelled")
    return out


def _driving(store: Store, runs: list[str], owner: str | None, info: dict) -> bool:
    if any(store.run(r).status != "running" for r in runs):
        return False  # the driver recorded how its runs ended: it is done
    if info.get("slurm_job"):
        try:
            out = subprocess.run(["squeue", "-h", "-j", str(info["slurm_job"]), "-o", "%T"],
                                 capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return False
        return out.returncode == 0 and bool(out.stdout.strip())
    return owner_alive(owner) is True


def resume_argv(store: Store, run: RunRecord) -> list[str]:
    """The `dsl run` arguments that continue `run`: the command line its driver was started with,
    else its spec file with the same profile and overrides."""
    if run.status == "running":
        raise DslError(f"run {run.run_id} is still running (driver {run.owner}); "
                       f"`dsl cancel {run.run_id}` stops it, `dsl status {run.run_id}` shows it")
    info = runfiles.driver(store.root, run.run_id) or {}
    argv = info.get("argv") or []
    if argv[:1] == ["run"]:
        argv = list(argv)
        if info.get("cwd") and os.path.isdir(info["cwd"]):
            os.chdir(info["cwd"])  # its spec paths and --data are relative to where it started
        return argv
    if not run.spec_path or not os.path.exists(run.spec_path):
        raise DslError(f"run {run.run_id} was not started by `dsl run` and its spec file "
                       f"{run.spec_path or '(none)'} is gone: run the spec again with `dsl run`")
    argv = ["run", run.spec_path, "--store", str(store.root)]
    if run.profile:
        argv += ["--profile", run.profile]
    for item in run.overrides or ():
        argv += ["--set", item]
    return argv
