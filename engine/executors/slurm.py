"""Each ready job becomes a Slurm job, submitted with submitit from the driver (`--executor slurm`).

Placement: a job's kind and its model's architecture give its resources through the same rules as
Ray (`engine.resources`, `--resources`); a GPU share becomes whole GPUs (Slurm does not split
one), none at all on a cluster without GPUs. `--gpus-per-job` / `--cpus-per-job` override both.

Grouping, decided each time the runner hands over its ready jobs:
- jobs of a small kind (`PACKED_KINDS`: dataset, linear, sensitivity) with the same resources are
  packed, up to `--pack` (8) of them, into one Slurm job that runs them one after the other;
- every other job is a Slurm job of its own;
- the Slurm jobs of one round with the same kind, architecture and resources are submitted as one
  job array (one `sbatch`, one scheduler entry).
At most `--max-submitted` jobs are in Slurm's queue at a time.

Takeover: a job whose claim this driver took over from a dead one (node failure, time limit,
SIGKILL) may still be running, or have finished, in the Slurm job that driver submitted. Its result
is used (or waited for) instead of running the job again.

Failures: a job that raised comes back as a failed Result (it fails alone, as locally). A Slurm job
that ended without a result (scancel, preemption, time limit, node failure) is submitted again, up
to `--retries` times per job; jobs of a pack that had finished before it was stopped keep their
results and are not run again. The driver stays the only writer of the database.
"""

from __future__ import annotations

import math
import os
import pickle
import subprocess
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from dsl.errors import DslError
from engine import runfiles
from engine.executors.base import Executor
from engine.executors.slurm_options import PACKED_KINDS, SlurmOptions, check_partition, \
    probe_cluster
from engine.resources import ResourcePolicy, arch_of
from engine.worker import Result, Task, apply_env, execute, worker_env

STATE_EVERY_S = 2.0  # how often `sacct` is asked about jobs without a result yet
GONE_EVERY_S = 15.0  # how often `squeue` is asked whether they still exist (see `_check_gone`)


def run_unit(tasks: list[Task], done_dir: str, threads: int) -> list[Result]:
    """What one Slurm job runs: its tasks in order. Each result is also saved on its own as soon
    as it exists, so a pack stopped half-way keeps what it finished."""
    apply_env(worker_env(None, threads))
    out = []
    for task in tasks:
        result = execute(task)
        path = Path(done_dir) / f"{task.job_id}.pkl"
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(pickle.dumps(result))
        os.replace(tmp, path)
        out.append(result)
    return out


@dataclass
class _Unit:
    tasks: list[Task]
    key: tuple  # (kind, arch, gpus, cpus): units of one key in one round share a job array
    gpus: int
    cpus: int
    job: object | None = None  # the submitit Job


class SlurmExecutor(Executor):
    name = "slurm"

    def __init__(self, store_root: str | os.PathLike, options: SlurmOptions = SlurmOptions(),
                 resources: ResourcePolicy | None = None, cluster=None):
        try:
            import submitit
        except ImportError as err:
            raise DslError("--executor slurm needs submitit: pip install 'dsl[slurm]'") from err
        self._submitit = submitit
        self.options = options
        self.cluster = cluster if cluster is not None else probe_cluster()
        self.partition = check_partition(self.cluster, options.partition)
        self.policy = resources or ResourcePolicy()
        self.root = Path(store_root)
        self.folder = runfiles.slurm_dir(self.root) / "logs"
        self.done_dir = runfiles.slurm_dir(self.root) / "results"
        self._queue: list[Task] = []  # handed over, not submitted yet (grouped in `wait`)
        self._units: list[_Unit] = []  # submitted, no result yet
        self._attempts: dict[str, int] = defaultdict(int)
        self._ready: list[Result] = []
        self._checked_at = 0.0
        self._adopted: dict[str, tuple[str, Task]] = {}  # job id -> (Slurm job, task)
        self._adopted_checked_at = 0.0
        self._gone_checked_at = time.time()
        self._missing: set[str] = set()  # Slurm jobs squeue did not list at the last check

    # -- the Executor interface --------------------------------------------------------------

    @property
    def capacity(self) -> int:
        return self.options.max_submitted

    @property
    def in_flight(self) -> int:
        return (len(self._queue) + sum(len(u.tasks) for u in self._units) + len(self._ready)
                + len(self._adopted))

    def describe(self) -> str:
        o = self.options
        where = self.partition or f"{self.cluster.default} (default)"
        return (f"slurm: partition {where}, {o.time_min} min per job, at most {o.max_submitted} "
                f"queued, small jobs packed {o.pack} per Slurm job, {o.retries} retries; "
                f"{self.policy.describe() if self.cluster.gpus else 'no GPUs in the cluster'}")

    def submit(self, task: Task) -> str:
        self._queue.append(task)
        return task.job_id

    def wait(self, timeout: float | None = None) -> list[Result]:
        self._flush()
        deadline = None if timeout is None else time.time() + timeout
        while True:
            self._collect()
            if self._ready or not (self._units or self._adopted):
                out, self._ready = self._ready, []
                return out
            if deadline is not None and time.time() >= deadline:
                return []
            time.sleep(0.2 if deadline is None else max(0.0, min(0.2, deadline - time.time())))

    def cancel(self) -> None:
        ids = [u.job.job_id for u in self._units if u.job is not None]
        if ids:
            subprocess.run(["scancel", *ids], capture_output=True, timeout=30)
        self._units.clear()
        self._queue.clear()
        self._ready.clear()
        self._adopted.clear()  # not ours to cancel: a later driver may adopt them again

    def shutdown(self) -> None:
        self.cancel()  # nothing is left in flight after a finished run; a bug's leftovers go

    # -- grouping and submission -------------------------------------------------------------

    def size(self, task: Task) -> tuple[int, int]:
        """(GPUs, CPUs) of the Slurm job that runs `task`."""
        req = self.policy.request(task.kind, task.config, task.gpu)
        gpus = math.ceil(req.gpu) if req.gpu > 0 else 0
        if self.options.gpus_per_job is not None and gpus:
            gpus = self.options.gpus_per_job
        if not self.cluster.gpus:
            gpus = 0  # a CPU-only cluster: GPU jobs run on CPU instead of pending forever
        cpus = self.options.cpus_per_job or max(1, math.ceil(req.cpu))
        return gpus, cpus

    def _units_of(self, tasks: list[Task]) -> list[_Unit]:
        units: list[_Unit] = []
        packs: dict[tuple, list[Task]] = defaultdict(list)
        for task in tasks:
            gpus, cpus = self.size(task)
            if not gpus:
                task = replace(task, device="cpu")
            key = (task.kind, arch_of(task.config), gpus, cpus)
            if task.kind in PACKED_KINDS and self.options.pack > 1:
                packs[key].append(task)
            else:
                units.append(_Unit([task], key, gpus, cpus))
        for key, group in packs.items():
            for i in range(0, len(group), self.options.pack):
                units.append(_Unit(group[i:i + self.options.pack], key, key[2], key[3]))
        return units

    def _executor(self, unit: _Unit):
        ex = self._submitit.SlurmExecutor(folder=str(self.folder / "%j"), max_num_timeout=0)
        params = dict(time=self.options.time_min, cpus_per_task=unit.cpus, ntasks_per_node=1,
                      job_name=f"dsl-{unit.key[0]}", additional_parameters=dict(self.options.extra),
                      signal_delay_s=30)
        if unit.gpus:
            params["gpus_per_node"] = unit.gpus
        for name in ("account", "qos"):
            if getattr(self.options, name):
                params[name] = getattr(self.options, name)
        if self.partition:
            params["partition"] = self.partition
        ex.update_parameters(**params)
        return ex

    def _flush(self) -> None:
        if not self._queue:
            return
        tasks = [t for t in self._queue if not self._adopt(t)]
        self._queue = []
        arrays: dict[tuple, list[_Unit]] = defaultdict(list)
        for unit in self._units_of(tasks):
            arrays[unit.key].append(unit)
        self.done_dir.mkdir(parents=True, exist_ok=True)
        for units in arrays.values():
            self._submit_array(units)

    def _submit_array(self, units: list[_Unit]) -> None:
        for unit in units:
            for task in unit.tasks:
                (self.done_dir / f"{task.job_id}.pkl").unlink(missing_ok=True)
                self._attempts[task.job_id] += 1
        ex = self._executor(units[0])
        try:
            if len(units) == 1:
                units[0].job = ex.submit(run_unit, units[0].tasks, str(self.done_dir),
                                         units[0].cpus)
            else:
                with ex.batch():
                    pending = [ex.submit(run_unit, u.tasks, str(self.done_dir), u.cpus)
                               for u in units]
                for unit, job in zip(units, pending):
                    unit.job = job
        except Exception as err:  # noqa: BLE001 - sbatch refused: the jobs fail, the run goes on
            last = (str(err).strip().splitlines() or [type(err).__name__])[-1]
            now = time.time()
            for unit in units:
                self._ready += [Result(t.job_id, False, (), 0.0, "", f"sbatch refused the job: "
                                       f"{last}", now, now) for t in unit.tasks]
            return
        for unit in units:
            job = unit.job
            for task in unit.tasks:
                runfiles.note_slurm_job(self.root, task.job_id, job.job_id, str(job.paths.stdout),
                                        str(job.paths.stderr), self._attempts[task.job_id],
                                        len(unit.tasks))
            self._units.append(unit)

    # -- results -----------------------------------------------------------------------------

    def _collect(self) -> None:
        now = time.time()
        force = now - self._checked_at >= STATE_EVERY_S
        if force:
            self._checked_at = now
        finished = []
        for unit in self._units:
            if unit.job.done(force_check=force):
                finished.append(unit)
            force = False  # one sacct call refreshed every job's state
        for unit in finished:
            self._units.remove(unit)
            self._settle(unit)
        self._check_gone()
        self._collect_adopted()

    def _check_gone(self) -> None:
        """Without Slurm accounting submitit never learns that a job ended without a result (its
        state stays UNKNOWN): a job squeue no longer lists and that left no result, at two checks
        GONE_EVERY_S apart, has ended that way."""
        now = time.time()
        if not self._units or now - self._gone_checked_at < GONE_EVERY_S:
            return
        self._gone_checked_at = now
        alive = _alive([u.job.job_id for u in self._units])
        for unit in list(self._units):
            slurm_job = unit.job.job_id
            if slurm_job in alive or unit.job.paths.result_pickle.exists():
                self._missing.discard(slurm_job)
            elif slurm_job in self._missing:
                self._missing.discard(slurm_job)
                self._units.remove(unit)
                self._resubmit(unit, "(gone from the queue)")
            else:
                self._missing.add(slurm_job)

    def _settle(self, unit: _Unit) -> None:
        job = unit.job
        try:
            results = job.result()
        except self._submitit.core.utils.FailedJobError as err:
            # The Slurm job's Python itself broke (an import error, not a job that raised: those
            # are failed Results): the same code fails the same way, so no retry.
            now = time.time()
            last = (str(err).strip().splitlines() or [""])[-1]
            for task in unit.tasks:
                saved = self.done_dir / f"{task.job_id}.pkl"  # finished before the break
                self._ready.append(pickle.loads(saved.read_bytes()) if saved.is_file() else
                                   Result(task.job_id, False, (), 0.0, "", f"slurm job "
                                          f"{job.job_id} failed outside the job: {last}", now,
                                          now))
            return
        except self._submitit.core.utils.UncompletedJobError:
            self._resubmit(unit, job.state)
            return
        self._ready += list(results)

    def _resubmit(self, unit: _Unit, state: str) -> None:
        """A Slurm job ended without its result (cancelled, preempted, timed out, node died): keep
        what its pack finished, submit the rest again while retries are left."""
        again: list[Task] = []
        for task in unit.tasks:
            saved = self.done_dir / f"{task.job_id}.pkl"
            if saved.is_file():
                self._ready.append(pickle.loads(saved.read_bytes()))
            elif self._attempts[task.job_id] <= self.options.retries:
                again.append(task)
            else:
                now = time.time()
                self._ready.append(Result(
                    task.job_id, False, (), 0.0, "",
                    f"slurm job {unit.job.job_id} ended {state} without a result, "
                    f"{self._attempts[task.job_id]} time(s); see `dsl logs {task.job_id}`; run "
                    "again (or raise --retries / --time)", now, now))
        if again:
            self._submit_array([_Unit(again, unit.key, unit.gpus, unit.cpus)])

    # -- jobs an earlier driver submitted ------------------------------------------------------

    def _saved(self, job_id: str) -> Result | None:
        """The result an earlier attempt saved, if it finished and its artifact is whole."""
        path = self.done_dir / f"{job_id}.pkl"
        try:
            result = pickle.loads(path.read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
            return None
        if result.ok and _artifact_problem(self.root, job_id) is None:
            return result
        return None

    def _adopt(self, task: Task) -> bool:
        """Use the Slurm job an earlier driver submitted for `task`, if it finished or still
        runs; False when the job has to be submitted."""
        note = runfiles.slurm_job(self.root, task.job_id)
        if note is None:
            return False
        saved = self._saved(task.job_id)
        if saved is not None:
            self._ready.append(saved)
            return True
        if note["slurm_job"] in _alive([note["slurm_job"]]):
            self._adopted[task.job_id] = (note["slurm_job"], task)
            self._attempts[task.job_id] = int(note.get("attempt", 1))
            return True
        return False

    def _collect_adopted(self) -> None:
        if not self._adopted:
            return
        for job_id in list(self._adopted):
            saved = self._saved(job_id)
            if saved is not None:
                del self._adopted[job_id]
                self._ready.append(saved)
        if not self._adopted or time.time() - self._adopted_checked_at < STATE_EVERY_S:
            return
        self._adopted_checked_at = time.time()
        alive = _alive([sj for sj, _ in self._adopted.values()])
        for job_id, (slurm_job, task) in list(self._adopted.items()):
            if slurm_job not in alive and self._saved(job_id) is None:
                del self._adopted[job_id]  # it ended without a result: run the job ourselves
                self._queue.append(task)
        self._flush()

    def slurm_ids(self) -> list[str]:
        """Slurm job ids in flight (for status lines and tests)."""
        return [u.job.job_id for u in self._units if u.job is not None]


def _artifact_problem(root: Path, job_id: str) -> str | None:
    from engine.paths import ArtifactPaths

    return ArtifactPaths(root).problem(job_id)


def _alive(slurm_jobs: list[str]) -> set[str]:
    """The Slurm jobs among `slurm_jobs` still pending or running (squeue forgets ended ones)."""
    if not slurm_jobs:
        return set()
    try:
        out = subprocess.run(["squeue", "-h", "-r", "-o", "%i", "-j", ",".join(slurm_jobs)],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return set(slurm_jobs)  # cannot tell: keep waiting rather than run a job twice
    if out.returncode != 0:
        # squeue refuses the whole list when one id is unknown (ended and purged): ask singly
        if len(slurm_jobs) == 1:
            return set()
        return set().union(*(_alive([j]) for j in slurm_jobs))
    return {line.strip() for line in out.stdout.splitlines() if line.strip()} & set(slurm_jobs)
