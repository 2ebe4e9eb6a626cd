"""Each ready job becomes one Ray task, placed by Ray on any node of the cluster.

Resources come from `engine.resources.ResourcePolicy`: the job's kind and its model's architecture
decide the GPU share and CPUs (`--per-gpu`, `--resources`). The driver stays the only writer of the
database; tasks publish artifacts into the shared store folder and return a `Result`. Ray re-runs a
task whose worker or node died up to `--retries` times (`RetryPolicy`); a job that raised is not
retried (the same code on the same config fails the same way) but comes back as a failed Result.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from engine.executors.base import Executor
from engine.resources import Request, ResourcePolicy
from engine.worker import Result, Task, execute

DEFAULT_RETRIES = 3


@dataclass(frozen=True)
class RetryPolicy:
    # Worker process or node died (OOM kill, preempted node): run the task again, maybe elsewhere.
    # A job that raised is never retried here: that is `retry_exceptions=False` in `submit`.
    system_retries: int = DEFAULT_RETRIES

    def __post_init__(self) -> None:
        if self.system_retries < 0:
            from dsl.errors import DslError

            raise DslError(f"--retries must be 0 or more, not {self.system_retries}")


def _run_task(task: Task) -> Result:
    return execute(task)


class RayExecutor(Executor):
    name = "ray"

    def __init__(self, address: str | None = None, per_gpu: int = 1,
                 retry: RetryPolicy = RetryPolicy(), capacity: int | None = None,
                 resources: ResourcePolicy | None = None):
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
            _check_reachable(address or os.environ.get("RAY_ADDRESS"))
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=True,
                         runtime_env={"env_vars": env}, ignore_reinit_error=True)
            except ConnectionError as err:  # `--address auto` without a cluster, a refused token
                from dsl.errors import DslError

                last = (str(err).strip().splitlines() or [type(err).__name__])[-1]
                raise DslError(f"cannot connect to Ray at {address or 'the default address'}: "
                               f"{last}") from err
            self._started_here = True
        self.policy = resources if resources is not None else ResourcePolicy(per_gpu=per_gpu)
        self.retry = retry
        self._remote = ray.remote(_run_task)
        self._refs: dict = {}  # ObjectRef -> Task
        self._refused: list[Result] = []  # tasks no node could ever hold, reported by `wait`
        self._capacity = capacity
        self._resources_at = 0.0
        self._resources: dict = {}
        self._nodes: list[dict] = []

    @property
    def gpu_fraction(self) -> float:
        """The GPU share of one packing slot (`1 / --per-gpu`), what small models ask for."""
        return self.policy.default("train", None).gpu

    def resources(self) -> dict:
        """The cluster's total resources, re-read every few seconds (nodes join and leave; asking
        on every scheduling step would be a round trip each)."""
        self._refresh()
        return self._resources

    def _refresh(self) -> None:
        if time.time() - self._resources_at > 5.0:
            self._resources = dict(self._ray.cluster_resources())
            self._nodes = [dict(n.get("Resources", {})) for n in self._ray.nodes()
                           if n.get("Alive", True)]
            self._resources_at = time.time()

    @property
    def capacity(self) -> int:
        """Every task reserves at least the policy's smallest CPU request, so no more than
        CPUs / that can run at once, whatever mix of kinds and GPU shares is ready. Claiming
        that many fills every slot; Ray queues what cannot be placed yet (a GPU-bound mix), and
        fewer would leave CPU-only jobs waiting behind GPU jobs."""
        if self._capacity is not None:
            return self._capacity
        cpus = self.resources().get("CPU", 1)
        return max(1, int(cpus // self.policy.min_cpu()))

    @property
    def in_flight(self) -> int:
        return len(self._refs) + len(self._refused)

    def describe(self) -> str:
        res = self.resources()
        return (f"ray: {int(res.get('CPU', 0))} CPU, {res.get('GPU', 0):g} GPU; "
                f"{self.policy.describe()}; {self.retry.system_retries} retries")

    def request(self, task: Task) -> Request:
        """What `task` asks Ray for. Without GPUs in the cluster GPU jobs run on CPU instead of
        waiting forever for a device that will not come."""
        req = self.policy.request(task.kind, task.config, task.gpu)
        if req.gpu and not self.resources().get("GPU"):
            req = Request(0.0, req.cpu)
        return req

    def _unplaceable(self, req: Request) -> str | None:
        """Why no node can ever run `req` (Ray would keep it pending forever), or None."""
        self._refresh()
        if not self._nodes:
            return None
        if any(n.get("CPU", 0) >= req.cpu and n.get("GPU", 0) >= req.gpu for n in self._nodes):
            return None
        best = max(self._nodes, key=lambda n: (n.get("GPU", 0), n.get("CPU", 0)))
        return (f"the job asks for {req.gpu:g} GPU and {req.cpu:g} CPU but the largest node has "
                f"{best.get('GPU', 0):g} GPU and {best.get('CPU', 0):g} CPU; "
                "lower it with --resources")

    def submit(self, task: Task) -> str:
        req = self.request(task)
        why = self._unplaceable(req)
        if why is not None:
            now = time.time()
            self._refused.append(Result(task.job_id, False, (), 0.0, "", why, now, now))
            return task.job_id
        ref = self._remote.options(
            num_cpus=req.cpu, num_gpus=req.gpu,
            max_retries=self.retry.system_retries, retry_exceptions=False,
            name=f"dsl:{task.job_id}",
        ).remote(task)
        self._refs[ref] = task
        return task.job_id

    def wait(self, timeout: float | None = None) -> list[Result]:
        if self._refused:
            refused, self._refused = self._refused, []
            return refused
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
                tried = (f" (after {self.retry.system_retries} retries)"
                         if self._died(err) and self.retry.system_retries else "")
                out.append(Result(task.job_id, False, (), 0.0, "",
                                  f"ray task failed{tried}: {type(err).__name__}: {last}",
                                  now, now))
        return out

    def _died(self, err: Exception) -> bool:
        """Whether the task's process or node died (what Ray retries), not the job itself."""
        exc = self._ray.exceptions
        kinds = tuple(getattr(exc, n) for n in ("WorkerCrashedError", "NodeDiedError",
                                               "OutOfMemoryError", "LocalRayletDiedError")
                      if hasattr(exc, n))
        return isinstance(err, kinds)

    def cancel(self) -> None:
        self._refused.clear()
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


def _check_reachable(address: str | None, timeout: float = 5.0) -> None:
    """Fail at once, in one line, when nothing answers at a `host:port` address: `ray.init` would
    retry for many minutes (20 attempts of about 40 s each) before giving up."""
    if not address or address in ("auto", "local") or "://" in address or ":" not in address:
        return
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        return
    import socket

    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as err:
        from dsl.errors import DslError

        why = err.strerror or str(err) or type(err).__name__
        raise DslError(f"cannot reach Ray at {address}: {why}; is the cluster up "
                       "(`ray start --head`)? check --address or $RAY_ADDRESS") from err


def _import_roots() -> list[str]:
    """The folders our modules are imported from, for Ray workers started without our sys.path."""
    import engine

    roots = [os.path.dirname(os.path.dirname(os.path.abspath(engine.__file__)))]
    roots += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return list(dict.fromkeys(roots))
