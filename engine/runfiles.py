"""Small files beside the database that `dsl status`, `dsl logs` and `dsl cancel` read.

The database stays the driver's alone (engine.store); these are plain files any process may write
once and anyone may read, on the same shared filesystem as the store:

- `logs/JOB.log`: the log of a job that failed (its staging folder, where the log was written,
  is discarded; a finished job's log is `log.txt` inside its artifact).
- `slurm/jobs/JOB.json`: the Slurm job that ran (or runs) a job, with its stdout/stderr files.
- `drivers/RUN.json`: the driver of a run: host, pid, Slurm job id when it runs inside one, the
  command line that started it (what `dsl resume` runs again) and its log file when detached.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Iterable


def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)  # a reader never sees half a file


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


# -- logs of failed jobs ---------------------------------------------------------------------------

def kept_log(root: str | os.PathLike, job_id: str) -> Path:
    return Path(root) / "logs" / f"{job_id}.log"


def keep_failed_log(root: str | os.PathLike, job_id: str, staging: Path | None) -> None:
    """Copy a failed job's log out of its staging folder before that is discarded."""
    if staging is None or not (staging / "log.txt").is_file():
        return
    dest = kept_log(root, job_id)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(staging / "log.txt", dest)
    except OSError:
        pass  # keeping the log must never turn a job's failure into a crash of the worker


# -- Slurm jobs ------------------------------------------------------------------------------------

def slurm_dir(root: str | os.PathLike) -> Path:
    return Path(root) / "slurm"


def note_slurm_job(root: str | os.PathLike, job_id: str, slurm_job: str, stdout: str,
                   stderr: str, attempt: int, packed_with: int = 1) -> None:
    _write(slurm_dir(root) / "jobs" / f"{job_id}.json",
           {"slurm_job": str(slurm_job), "stdout": stdout, "stderr": stderr, "attempt": attempt,
            "packed_with": packed_with, "submitted": time.time()})


def slurm_job(root: str | os.PathLike, job_id: str) -> dict | None:
    return _read(slurm_dir(root) / "jobs" / f"{job_id}.json")


# -- drivers ---------------------------------------------------------------------------------------

DETACHED = "DSL_DETACHED"  # set to "slurm" in the environment of a driver `--detach` submitted


def driver_file(root: str | os.PathLike, run_id: str) -> Path:
    return Path(root) / "drivers" / f"{run_id}.json"


def note_driver(root: str | os.PathLike, runs: dict[str, dict[str, str]],
                argv: list[str] | None = None, rerun: Iterable[str] = ()) -> None:
    """Record this process as the driver of `runs` (run id -> {job id: kind}, every job the run
    needs, inputs included: what `dsl status` counts) and of the finished jobs among them it
    computes again (`--rerun`): until this driver finishes one anew, `dsl status` counts it as
    queued, not done."""
    import socket

    base = {"host": socket.gethostname(), "pid": os.getpid(),
            # only a driver `--detach` submitted is its Slurm job: `dsl cancel` scancels that, and
            # must not cancel an allocation someone runs `dsl run` inside
            "slurm_job": os.environ.get("SLURM_JOB_ID") if os.environ.get(DETACHED) == "slurm"
            else None,
            "argv": list(sys.argv[1:] if argv is None else argv), "cwd": os.getcwd(),
            "log": os.environ.get("DSL_DRIVER_LOG"), "started": time.time()}
    redo = set(rerun)
    for run_id, jobs in runs.items():
        _write(driver_file(root, run_id), {**base, "jobs": jobs,
                                           "rerun": sorted(j for j in jobs if j in redo)})


def driver(root: str | os.PathLike, run_id: str) -> dict | None:
    return _read(driver_file(root, run_id))
