"""Backends that run tasks: `local` (worker processes on this machine), `ray` (a Ray cluster) and
`slurm` (a Slurm job per job, through submitit).

They share one small interface (`engine.executors.base.Executor`); the runner only talks to that.
"""

from __future__ import annotations

from engine.executors.base import Executor


def make(name: str, **options) -> Executor:
    """An executor by name; unknown names are a user error.

    Options: jobs, per_gpu, address, `resources` (`--resources` rules, used by Ray and Slurm; the
    local executor packs `--per-gpu` jobs per device whatever their size), `retries` (re-runs of
    a task whose worker died; None: 3 on Ray and Slurm, 0 locally, where a crash is usually
    deterministic), `slurm` (a SlurmOptions) and `store_root` (where Slurm keeps its files).
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
    if name == "slurm":
        from engine.executors.slurm import SlurmExecutor
        from engine.executors.slurm_options import SlurmOptions
        from engine.resources import ResourcePolicy

        slurm = options.get("slurm") or SlurmOptions(
            **({} if retries is None else {"retries": retries}))
        policy = ResourcePolicy.from_options(options.get("resources") or (),
                                             per_gpu=options.get("per_gpu", 1))
        return SlurmExecutor(options.get("store_root") or ".", slurm, resources=policy)
    hint = did_you_mean(name, ["local", "ray", "slurm"])
    raise DslError(f"unknown executor {name!r}" + (f"; {hint}" if hint else
                                                  "; choose 'local', 'ray' or 'slurm'"))


__all__ = ["Executor", "make"]
