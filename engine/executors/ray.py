"""Each ready job becomes one Ray task, placed by Ray on any node of the cluster.

Resources come from the job's kind: kinds that benefit from a GPU ask for `1/per_gpu` of one
(so K such jobs share a device, as with the local executor's packing), the others for CPU only.
The driver stays the only writer of the database; tasks publish artifacts into the shared store
folder and return a `Result`. Ray retries a task whose worker or node died (`RetryPolicy`); a job
that raised is not retried (the same code on the same config fails the same way) but comes back
as a failed Result.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from engine.executors.base import Executor
from engine.worker import Result, Task, execute


@dataclass(frozen=True)
class RetryPolicy:
    system_retries: int = 3  # worker process or node died: run the task again elsewhere
    cpus_per_job: float = 1.0


def _run_task(task: Task) -> Result:
    return execute(task)


class RayExecutor(Executor):
    name = "ray"

    def __init__(self, address: str | None = None, per_gpu: int = 1,
                 gpu_fraction: float | None = None, retry: RetryPolicy = RetryPolicy(),
                 capacity: int | None = None):
        try:
            import ray
        except ImportError as err:  # ray is an optional dependency
            from dsl.errors import DslError

            raise DslError("the ray executor needs Ray: pip install 'dsl[ray]'") from err
        self._ray = ray
        self._started_here = False
        if not ray.is_initialized():
            # Workers must import our packages and any extra job modules the driver can.
            env = {"PYTHONPATH": os.pathsep.join(p for p in _import_roots() if p)}
            ray.init(address=address, include_dashboard=False, log_to_driver=True,
                     runtime_env={"env_vars": env}, ignore_reinit_error=True)
            self._started_here = True
        self.gpu_fraction = gpu_fraction if gpu_fraction is not None else 1.0 / max(per_gpu, 1)
        self.retry = retry
        self._remote = ray.remote(_run_task)
        self._refs: dict = {}  # ObjectRef -> Task
        self._capacity = capacity
        self._resources_at = 0.0
        self._resources: dict = {}

    def resources(self) -> dict:
        """The cluster's total resources, re-read every few seconds (nodes join and leave; asking
        on every scheduling step would be a round trip each)."""
        if time.time() - self._resources_at > 5.0:
            self._resources = dict(self._ray.cluster_resources())
            self._resources_at = time.time()
        return self._resources

    @property
    def capacity(self) -> int:
        if self._capacity is not None:
            return self._capacity
        res = self.resources()
        cpu_slots = int(res.get("CPU", 1) // max(self.retry.cpus_per_job, 1e-9))
        gpu_slots = int(res.get("GPU", 0) / self.gpu_fraction) if self.gpu_fraction > 0 else 0
        # Enough in flight to fill every slot; Ray queues whatever cannot be placed yet.
        return max(1, cpu_slots, gpu_slots)

    @property
    def in_flight(self) -> int:
        return len(self._refs)

    def describe(self) -> str:
        res = self.resources()
        return (f"ray: {int(res.get('CPU', 0))} CPU, {res.get('GPU', 0):g} GPU, "
                f"{self.gpu_fraction:g} GPU per GPU job")

    def submit(self, task: Task) -> str:
        gpus = self.gpu_fraction if task.gpu and self.resources().get("GPU") else 0
        ref = self._remote.options(
            num_cpus=self.retry.cpus_per_job, num_gpus=gpus,
            max_retries=self.retry.system_retries, retry_exceptions=False,
            name=f"dsl:{task.job_id}",
        ).remote(task)
        self._refs[ref] = task
        return task.job_id

    def wait(self, timeout: float | None = None) -> list[Result]:
        if not self._refs:
            return []
        ready, _ = self._ray.wait(list(self._refs), num_returns=len(self._refs), timeout=timeout,
                                  fetch_local=True)
        if not ready and timeout is None:
            ready, _ = self._ray.wait(list(self._refs), num_returns=1)
        out = []
        for ref in ready:
            task = self._refs.pop(ref)
            try:
                out.append(self._ray.get(ref))
            except Exception as err:  # noqa: BLE001 - retries exhausted: the job failed
                now = time.time()
                last = (str(err).strip().splitlines() or [""])[-1]
                out.append(Result(task.job_id, False, (), 0.0, "",
                                  f"ray task failed: {type(err).__name__}: {last}", now, now))
        return out

    def cancel(self) -> None:
        for ref in list(self._refs):
            try:
                self._ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - already finished or gone
                pass
        self._refs.clear()
        self._close()

    def shutdown(self) -> None:
        self._close()

    def _close(self) -> None:
        if self._started_here and self._ray.is_initialized():
            self._ray.shutdown()
            self._started_here = False


def _import_roots() -> list[str]:
    """The folders our modules are imported from, for Ray workers started without our sys.path."""
    import engine

    roots = [os.path.dirname(os.path.dirname(os.path.abspath(engine.__file__)))]
    roots += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return list(dict.fromkeys(roots))
