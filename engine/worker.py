"""Run one job where the executor put it (a local worker process or a Ray task).

The driver sends a `Task` (plain, picklable data: the job, its finished inputs' folders, where to
publish) and gets a `Result` back; the worker never touches the database. The job function writes
into a private staging folder that is renamed into place only after it returned, so an artifact is
either complete or absent (engine.paths, which also writes the manifest the runner checks inputs
against).
"""

from __future__ import annotations

import importlib
import os
import socket
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from engine.integrity import DamagedInput, check_inputs
from engine.paths import ArtifactPaths


@dataclass(frozen=True)
class TaskInput:
    id: str
    kind: str
    config: Mapping[str, Any]
    path: str


@dataclass(frozen=True)
class Task:
    job_id: str
    kind: str
    impl: str  # "module:function", resolved by the driver so tests can register fake kinds
    config: Mapping[str, Any]
    inputs: Mapping[str, TaskInput]
    store_root: str
    gpu: bool = False  # the kind benefits from a GPU (placement hint)
    data_root: str | None = None
    device: str | None = None  # None: cuda when the worker sees one, else cpu
    compile: bool | str = "auto"  # engine.compiled.mode_for decides per training
    verbose: bool = False
    version: str | None = None  # the kind's version, recorded in the artifact's manifest
    # data kinds registered in the driver from outside dsl (dsl.data_kinds.plugins): a spawned
    # worker, or a Ray or Slurm one, registers them before the job runs
    data_kinds: tuple = ()


@dataclass(frozen=True)
class Result:
    job_id: str
    ok: bool
    metrics: tuple[tuple[str, str | None, float], ...] = ()
    seconds: float = 0.0
    host: str = ""
    error: str | None = None  # the full traceback; summaries show its last line
    started: float = 0.0
    finished: float = 0.0
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def error_line(self) -> str | None:
        from engine.jobs import error_line

        return error_line(self.error)

    def metric_objects(self) -> list:
        from engine.jobs import Metric

        return [Metric(n, s, v) for n, s, v in self.metrics]


def resolve(impl: str):
    module, fn = impl.split(":")
    return getattr(importlib.import_module(module), fn)


def _register(records) -> None:
    from dsl import data_kinds

    for record in records:
        if data_kinds.DATA_KINDS.get(record.name) != record:
            data_kinds.register(record)


def _check_metrics(job_id: str, metrics: Any) -> tuple[tuple[str, str | None, float], ...]:
    """Turn what the job returned into plain tuples, refusing anything the store cannot hold."""
    from engine.jobs import Metric

    out, seen = [], set()
    for m in metrics or ():
        if not isinstance(m, Metric):
            raise TypeError(f"{job_id}: a job must return engine.jobs.Metric values, got {m!r}")
        key = (str(m.name), None if m.split is None else str(m.split))
        if key in seen:  # the store keeps one value per (name, split): the job fails alone
            raise ValueError(f"{job_id}: metric '{key[0]}' on split {key[1]!r} returned twice")
        seen.add(key)
        out.append((*key, float(m.value)))
    return tuple(out)


def execute(task: Task) -> Result:
    """Run `task` and publish its artifact; every exception becomes a failed Result."""
    from engine.jobs import Input, RunContext

    paths = ArtifactPaths(task.store_root)
    host = socket.gethostname()
    started = time.time()
    staging: Path | None = None
    try:
        _register(task.data_kinds)
        fn = resolve(task.impl)
        inputs = {role: Input(i.id, i.kind, i.config, Path(i.path))
                  for role, i in task.inputs.items()}
        for role, inp in inputs.items():
            if not inp.path.is_dir():
                raise FileNotFoundError(f"input {role!r} ({inp.id}) has no artifact at {inp.path}")
        check_inputs(inputs)  # content against the manifests' hashes (engine.integrity)
        staging = paths.staging(task.job_id)
        log_file = staging / "log.txt"

        def log(msg: str) -> None:
            with log_file.open("a") as fh:
                fh.write(f"{time.strftime('%H:%M:%S')} {msg}\n")
            if task.verbose:
                print(f"[{task.job_id}] {msg}", flush=True)

        kwargs: dict[str, Any] = {"compile": task.compile, "log": log}
        if task.device:
            kwargs["device"] = task.device
        if task.data_root:
            kwargs["data_root"] = Path(task.data_root)
        ctx = RunContext(**kwargs)
        metrics = _check_metrics(task.job_id, fn(dict(task.config), inputs, staging, ctx))
        paths.publish(staging, task.job_id, _made_by(task), metrics)
        staging = None
        finished = time.time()
        # What the job ran with (versions, the GPU or CPU it used), recorded beside its result.
        from engine.environment import job_environment

        return Result(task.job_id, True, metrics, finished - started, host, None, started, finished,
                      {"environment": job_environment()})
    except BaseException as exc:  # noqa: BLE001 - a job's failure is data for the driver
        if isinstance(exc, KeyboardInterrupt):
            raise
        finished = time.time()
        from engine.runfiles import keep_failed_log  # `dsl logs JOB` shows it after the failure

        keep_failed_log(task.store_root, task.job_id, staging)
        extra = {"damaged": exc.damaged} if isinstance(exc, DamagedInput) else {}
        return Result(task.job_id, False, (), finished - started, host,
                      "".join(traceback.format_exception(_as_disk_full(exc, task))), started,
                      finished, extra)
    finally:
        if staging is not None:
            paths.discard(staging)


def _made_by(task: Task) -> dict:
    """The job as the manifest records it (what `dsl store repair` re-adopts an artifact as)."""
    return {"id": task.job_id, "kind": task.kind, "version": task.version,
            "config": dict(task.config), "inputs": {r: i.id for r, i in task.inputs.items()}}


def _as_disk_full(exc: BaseException, task: Task) -> BaseException:
    """A write that failed for want of space, as one line saying so (engine.diskfull)."""
    from engine.diskfull import describe, is_disk_full

    if not is_disk_full(exc, task.store_root):
        return exc
    try:  # raised, so the traceback ends with it and summaries show its message
        raise describe(task.store_root, f"the artifact of {task.job_id} ({task.kind})", exc) from exc
    except Exception as full:  # noqa: BLE001
        return full


def worker_env(device_index: int | None, threads: int | None = None) -> dict[str, str]:
    """Environment for a worker process, set before it imports torch: pinned to one GPU, and
    given its share of the CPU cores (N workers each running torch's default of one thread per
    core oversubscribe the machine, which slows small CPU jobs several-fold). A thread count the
    user set in OMP_NUM_THREADS is kept."""
    env = {}
    if device_index is not None:
        env["CUDA_VISIBLE_DEVICES"] = str(device_index)
    if threads is not None and "OMP_NUM_THREADS" not in os.environ:
        env["OMP_NUM_THREADS"] = str(max(1, threads))
    return env


def cpu_cores() -> int:
    """Cores this process may run on (the affinity mask, as Slurm and containers set it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def apply_env(env: Mapping[str, str]) -> None:
    os.environ.update(env)
