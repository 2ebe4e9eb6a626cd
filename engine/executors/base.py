"""The interface every executor implements: submit tasks, collect finished results, stop.

Kept deliberately small (compare submitit's `submit` / `result`): the runner decides what is
ready and claims it; an executor only places tasks on workers and hands back `Result`s, one per
submitted task, including failures (a crashed worker is a failed Result, never a hang).
"""

from __future__ import annotations

import abc

from engine.worker import Result, Task


class Executor(abc.ABC):
    name: str = "executor"

    @property
    @abc.abstractmethod
    def capacity(self) -> int:
        """How many tasks may usefully be in flight at once (the runner claims no more)."""

    @abc.abstractmethod
    def submit(self, task: Task) -> str:
        """Start `task` (or queue it); returns a handle, the job id."""

    @abc.abstractmethod
    def wait(self, timeout: float | None = None) -> list[Result]:
        """Results of tasks that finished, waiting at most `timeout` seconds for the first one
        (an empty list on timeout or when nothing is in flight)."""

    @abc.abstractmethod
    def cancel(self) -> None:
        """Stop every task in flight now (Ctrl-C); their results are dropped."""

    @abc.abstractmethod
    def shutdown(self) -> None:
        """Release workers once everything is done."""

    @property
    @abc.abstractmethod
    def in_flight(self) -> int:
        """Tasks submitted whose results have not been returned by `wait` yet."""

    def describe(self) -> str:
        return self.name

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is not None:
            self.cancel()
        else:
            self.shutdown()
