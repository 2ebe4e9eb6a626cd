"""Backends that run tasks: `local` (worker processes on this machine) and `ray` (a cluster).

They share one small interface (`engine.executors.base.Executor`); the runner only talks to that.
"""

from __future__ import annotations

from engine.executors.base import Executor


def make(name: str, **options) -> Executor:
    """An executor by name; unknown names are a user error.

    Options: jobs, per_gpu, address, `resources` (`--resources` rules, used by Ray only; the local
    executor packs `--per-gpu` jobs per device whatever their size) and `retries` (re-runs of a
    task whose worker died; None: 3 on Ray, 0 locally, where a crash is usually deterministic).
    """
    from dsl.errors import DslError, did_you_mean

    retries = options.get("retries")
    if name == "local":
        from engine.executors.local import LocalExecutor

        return LocalExecutor(jobs=options.get("jobs", 1), per_gpu=options.get("per_gpu", 1),
                             retries=retries or 0)
    if name == "ray":
        from engine.executors.ray import DEFAULT_RETRIES, RayExecutor, RetryPolicy
        from engine.resources import ResourcePolicy

        per_gpu = options.get("per_gpu", 1)
        policy = ResourcePolicy.from_options(options.get("resources") or (), per_gpu=per_gpu)
        retry = RetryPolicy(DEFAULT_RETRIES if retries is None else retries)
        return RayExecutor(address=options.get("address"), per_gpu=per_gpu, retry=retry,
                           resources=policy)
    hint = did_you_mean(name, ["local", "ray"])
    raise DslError(f"unknown executor {name!r}" + (f"; {hint}" if hint else
                                                  "; choose 'local' or 'ray'"))


__all__ = ["Executor", "make"]
