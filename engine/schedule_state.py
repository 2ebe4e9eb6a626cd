"""The scheduler's bookkeeping: one map of job -> state, a count of unfinished inputs per job and
a ready queue, so each scheduling step costs what changed, not a scan of every waiting job.

Pure data (no store, no executor, no torch): engine.runner decides what a step means (claims,
checks, records) and tells this object what happened. A job's count is the number of its inputs
that are not DONE; an input outside the graph never is, so its readers wait until the runner
gives up on them. A PENDING job whose count is 0 is in the ready queue, ordered by its rank: its
position in the dependency order it was given, or before every other job once it is put back
to run first (a damaged input, a claim another driver gave back), or after them all (a job whose
input a worker found damaged).
"""

from __future__ import annotations

import heapq
from typing import Iterable, Iterator, Mapping

PENDING = "pending"  # not started: ready once every input is DONE
RUNNING = "running"  # claimed by this driver
ELSEWHERE = "elsewhere"  # held by another live driver: waited for
DONE = "done"
FAILED = "failed"
SKIPPED = "skipped"  # an input failed or cannot be made: never runs
STATES = (PENDING, RUNNING, ELSEWHERE, DONE, FAILED, SKIPPED)


class ScheduleState:
    def __init__(self, inputs: Mapping[str, Iterable[str]], done: Iterable[str] = ()):
        """`inputs`: job -> the ids it reads, jobs in dependency order; `done`: those finished."""
        self._inputs = {jid: tuple(deps) for jid, deps in inputs.items()}
        self._dependents: dict[str, list[str]] = {jid: [] for jid in self._inputs}
        for jid, deps in self._inputs.items():
            for dep in deps:
                if dep in self._dependents:
                    self._dependents[dep].append(jid)
        finished = set(done) & set(self._inputs)
        self._state = {jid: DONE if jid in finished else PENDING for jid in self._inputs}
        self._by_state: dict[str, set[str]] = {s: set() for s in STATES}
        for jid, s in self._state.items():
            self._by_state[s].add(jid)
        self._count = {jid: sum(dep not in finished for dep in deps)
                       for jid, deps in self._inputs.items()}
        self._rank = {jid: i for i, jid in enumerate(self._inputs)}
        self._front = 0  # ranks handed out before / after every job's own
        self._back = len(self._inputs)
        self._heap: list[tuple[int, str]] = []
        self._queued: set[str] = set()
        for jid in self._inputs:
            self._enqueue(jid)

    # -- reading -----------------------------------------------------------------------------

    def state(self, jid: str) -> str | None:
        """`jid`'s state; None for a job outside the graph."""
        return self._state.get(jid)

    def ids(self, state: str) -> set[str]:
        """The jobs now in `state` (a live view: copy it before changing states while looping)."""
        return self._by_state[state]

    def count(self, jid: str) -> int:
        """How many inputs of `jid` are not finished."""
        return self._count[jid]

    def dependents(self, jid: str) -> list[str]:
        return self._dependents.get(jid, [])

    @property
    def unsettled(self) -> bool:
        """Whether any job still waits to run, runs, or is awaited from another driver."""
        return bool(self._by_state[PENDING] or self._by_state[RUNNING]
                    or self._by_state[ELSEWHERE])

    @property
    def has_ready(self) -> bool:
        return bool(self._queued)

    def pop_ready(self) -> str | None:
        """The first ready job, out of the queue (still PENDING: the caller starts it, puts it
        back, or finds it must wait after all), or None."""
        while self._heap:
            rank, jid = heapq.heappop(self._heap)
            if jid in self._queued and rank == self._rank[jid]:
                self._queued.discard(jid)
                return jid
        return None

    # -- changes -----------------------------------------------------------------------------

    def start(self, jid: str) -> None:
        """Claimed by this driver."""
        self._set(jid, RUNNING)

    def elsewhere(self, jid: str) -> None:
        self._set(jid, ELSEWHERE)

    def finish(self, jid: str) -> None:
        """Finished (here, elsewhere, or re-adopted): its readers each have one input fewer."""
        if self._state[jid] == DONE:
            return
        self._set(jid, DONE)
        for reader in self._dependents[jid]:
            self._count[reader] -= 1
            self._enqueue(reader)

    def requeue(self, jid: str, *, first: bool = True) -> None:
        """Back to PENDING, to run before every other ready job (`first`) or after them all.
        A finished job put back (its artifact is damaged) is unfinished again for its readers."""
        if self._state[jid] == DONE:
            for reader in self._dependents[jid]:
                self._count[reader] += 1
                self._queued.discard(reader)
        if first:
            self._front -= 1
            self._rank[jid] = self._front
        else:
            self._back += 1
            self._rank[jid] = self._back
        self._set(jid, PENDING)
        self._queued.discard(jid)
        self._enqueue(jid)

    def fail(self, jid: str) -> list[str]:
        """`jid` failed; returns the jobs that can no longer run because they read it, directly
        or not (not yet marked: the caller skips each, saying why)."""
        self._set(jid, FAILED)
        doomed, seen = [], set()
        stack = list(self._dependents[jid])
        while stack:
            reader = stack.pop()
            if reader in seen or self._state[reader] in (DONE, FAILED, SKIPPED):
                continue
            seen.add(reader)
            doomed.append(reader)
            stack.extend(self._dependents[reader])
        return doomed

    def skip(self, jid: str) -> None:
        self._set(jid, SKIPPED)

    # -- internals ---------------------------------------------------------------------------

    def _set(self, jid: str, state: str) -> None:
        old = self._state[jid]
        if old == state:
            return
        self._by_state[old].discard(jid)
        self._by_state[state].add(jid)
        self._state[jid] = state
        if state != PENDING:
            self._queued.discard(jid)

    def _enqueue(self, jid: str) -> None:
        if self._state[jid] == PENDING and self._count[jid] == 0 and jid not in self._queued:
            self._queued.add(jid)
            heapq.heappush(self._heap, (self._rank[jid], jid))

    def __iter__(self) -> Iterator[str]:
        return iter(self._state)
