"""Backends that run tasks: `local` (worker processes on this machine) and `ray` (a cluster).

They share one small interface (`engine.executors.base.Executor`); the runner only talks to that.
"""

from __future__ import annotations

from engine.executors.base import Executor


def make(name: str, **options) -> Executor:
    """An executor by name; unknown names are a user error."""
    from dsl.errors import DslError, did_you_mean

    if name == "local":
        from engine.executors.local import LocalExecutor

        return LocalExecutor(jobs=options.get("jobs", 1), per_gpu=options.get("per_gpu", 1))
    if name == "ray":
        from engine.executors.ray import RayExecutor

        return RayExecutor(address=options.get("address"), per_gpu=options.get("per_gpu", 1))
    hint = did_you_mean(name, ["local", "ray"])
    raise DslError(f"unknown executor {name!r}" + (f"; {hint}" if hint else
                                                  "; choose 'local' or 'ray'"))


__all__ = ["Executor", "make"]
