"""Worker processes on this machine: `--jobs N`, and on GPUs `--per-gpu K` processes per device.

Each worker is a long-lived spawned process (torch and CUDA initialise once per worker, not per
job) pinned to one GPU through CUDA_VISIBLE_DEVICES before anything imports torch. Packing K small
jobs onto one GPU keeps it busy where a single small job would leave it idle between kernels.

A worker that dies (segfault, OOM kill) is replaced and its task re-run up to `retries` times,
then reported as a failed Result; a worker whose driver dies exits on its own, so a killed
`dsl run` leaves no orphans behind.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, wait as mp_wait

from engine.executors.base import Executor
from engine.worker import Result, Task, apply_env, cpu_cores, execute, worker_env


def visible_gpus() -> list[int]:
    """Indices of the GPUs this process may use (honouring CUDA_VISIBLE_DEVICES); [] without."""
    if not any(os.path.exists(dev) for dev in ("/dev/nvidiactl", "/dev/kfd", "/dev/dxg")):
        return []  # no GPU driver at all: skip importing torch in the driver (seconds)
    try:
        import torch
    except ImportError:
        return []
    try:
        count = torch.cuda.device_count()
    except Exception:  # noqa: BLE001 - a broken driver means no GPU, not a crash
        return []
    if count <= 0:
        return []
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed:
        ids = [x.strip() for x in listed.split(",") if x.strip()]
        if all(x.isdigit() for x in ids) and len(ids) >= count:
            return [int(x) for x in ids[:count]]
    return list(range(count))


def _exit_cause(code: int | None) -> str:
    """A dead worker's exit code in words: the signal's name, and the usual culprit of SIGKILL."""
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = ": out of memory? the kernel's OOM killer sends it" if -code == signal.SIGKILL else ""
        return f"killed by {name}{hint}"
    return f"exit code {code}"


def _watch_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(3)  # the driver is gone: nobody will read our result
        time.sleep(1.0)


def _worker_main(conn: Connection, env: dict[str, str], parent: int) -> None:
    # Ctrl-C reaches the whole process group; the driver decides what to stop, not each worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    apply_env(env)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        result = execute(task)
        try:
            conn.send(result)
        except (BrokenPipeError, ConnectionResetError, EOFError, OSError):
            return  # the driver is gone (killed): nobody to tell, and no traceback to print


def warm_key(task: Task) -> str | None:
    """What a worker that ran `task` keeps compiled (engine.compiled): the model and batch size
    of a training that may compile; None for jobs that compile nothing."""
    if task.kind not in ("train", "finetune") or task.compile is False:
        return None
    import json

    return json.dumps([task.config.get("model"), task.config.get("batch_size")], sort_keys=True,
                      default=str)


@dataclass
class _Slot:
    index: int
    gpu: int | None
    process: mp.process.BaseProcess | None = None
    conn: Connection | None = None
    task: Task | None = None
    warm: set = field(default_factory=set)  # warm_key()s of the trainings this process ran


class LocalExecutor(Executor):
    name = "local"

    def __init__(self, jobs: int = 1, per_gpu: int = 1, gpus: list[int] | None = None,
                 start_method: str = "spawn", retries: int = 0):
        if jobs < 1 or per_gpu < 1 or retries < 0:
            from dsl.errors import DslError

            raise DslError("--jobs and --per-gpu must be at least 1, --retries at least 0")
        self.retries = retries
        self._deaths: dict[str, int] = {}  # job id -> workers that died under it
        self.gpus = visible_gpus() if gpus is None else list(gpus)
        count = max(jobs, len(self.gpus) * per_gpu) if self.gpus else jobs
        # Round-robin so that N processes spread evenly over the devices.
        self._slots = [_Slot(i, self.gpus[i % len(self.gpus)] if self.gpus else None)
                       for i in range(count)]
        self._threads = max(1, cpu_cores() // len(self._slots))  # each worker's share
        self._ctx = mp.get_context(start_method)
        self._queue: deque[Task] = deque()

    @property
    def capacity(self) -> int:
        return len(self._slots)

    @property
    def in_flight(self) -> int:
        return len(self._queue) + sum(s.task is not None for s in self._slots)

    def describe(self) -> str:
        if self.gpus:
            per = len(self._slots) / len(self.gpus)
            return f"local: {len(self._slots)} workers on {len(self.gpus)} GPU(s) ({per:g} per GPU)"
        return f"local: {len(self._slots)} worker(s), CPU"

    def submit(self, task: Task) -> str:
        if task.device is None and not self.gpus:
            # Saying so spares each worker importing torch just to learn there is no GPU.
            task = replace(task, device="cpu")
        self._queue.append(task)
        self._dispatch()
        return task.job_id

    def _start(self, slot: _Slot) -> None:
        ours, theirs = self._ctx.Pipe()
        proc = self._ctx.Process(target=_worker_main, name=f"dsl-worker-{slot.index}",
                                 args=(theirs, worker_env(slot.gpu, self._threads), os.getpid()),
                                 # not daemonic: a job may start its own processes (data loaders)
                                 daemon=False)
        proc.start()
        theirs.close()
        slot.process, slot.conn = proc, ours

    def _dispatch(self) -> None:
        for slot in self._slots:
            if not self._queue:
                return
            if slot.task is not None:
                continue
            if slot.process is None or not slot.process.is_alive():
                self._start(slot)
            task = self._take(slot)
            try:
                slot.conn.send(task)
            except (BrokenPipeError, OSError):
                self._reset(slot)
                self._queue.appendleft(task)
                continue
            slot.task = task
            key = warm_key(task)
            if key is not None:
                slot.warm.add(key)

    def _take(self, slot: _Slot) -> Task:
        """The next task for a free worker: the first queued one whose compiled model this
        worker already keeps (it skips compiling), else the oldest."""
        if slot.warm:
            for i, task in enumerate(self._queue):
                if warm_key(task) in slot.warm:
                    del self._queue[i]
                    return task
        return self._queue.popleft()

    def _reset(self, slot: _Slot) -> None:
        if slot.conn is not None:
            slot.conn.close()
        if slot.process is not None:
            slot.process.join(timeout=1.0)
            if slot.process.is_alive():
                slot.process.kill()
        slot.process = slot.conn = slot.task = None
        slot.warm = set()  # a new process has compiled nothing

    def wait(self, timeout: float | None = None) -> list[Result]:
        self._dispatch()
        busy = [s for s in self._slots if s.task is not None]
        if not busy:
            return []
        handles = {}
        for s in busy:
            handles[s.conn] = s
            handles[s.process.sentinel] = s
        ready = mp_wait(list(handles), timeout=timeout)
        results: list[Result] = []
        for slot in {id(handles[h]): handles[h] for h in ready}.values():
            task = slot.task
            try:
                if slot.conn.poll():
                    results.append(slot.conn.recv())
                    slot.task = None
                    continue
            except (EOFError, OSError):
                pass
            # No answer and the process ended: it died under the job (killed, segfault, OOM).
            slot.process.join(timeout=1.0)
            code = slot.process.exitcode
            self._reset(slot)
            deaths = self._deaths[task.job_id] = self._deaths.get(task.job_id, 0) + 1
            if deaths <= self.retries:
                self._queue.appendleft(task)  # a fresh worker runs it next
                continue
            now = time.time()
            runs = f"; ran {deaths} times" if deaths > 1 else ""
            results.append(Result(task.job_id, False, (), 0.0, os.uname().nodename,
                                  f"worker process died while running the job "
                                  f"({_exit_cause(code)}{runs}); run again to retry it, or "
                                  "pass --retries N to retry at once", now, now))
        self._dispatch()
        return results

    def cancel(self) -> None:
        self._queue.clear()
        for slot in self._slots:
            if slot.process is not None and slot.process.is_alive():
                slot.process.terminate()
        for slot in self._slots:
            if slot.process is not None:
                slot.process.join(timeout=3.0)
                if slot.process.is_alive():
                    slot.process.kill()
                    slot.process.join(timeout=1.0)
            if slot.conn is not None:
                slot.conn.close()
            slot.process = slot.conn = slot.task = None
            slot.warm = set()

    def shutdown(self) -> None:
        for slot in self._slots:
            if slot.conn is not None and slot.task is None:
                try:
                    slot.conn.send(None)
                except (BrokenPipeError, OSError):
                    pass
        for slot in self._slots:
            if slot.process is not None:
                slot.process.join(timeout=5.0)
        self.cancel()  # anything still alive (a task nobody waited for) is stopped
