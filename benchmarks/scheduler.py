"""What one scheduling step costs the driver: the ready queue (engine.schedule_state) against the
rescan it replaced, on synthetic job graphs of 10k to 100k jobs, in the same run.

The graph has the shape of a large sweep: datasets, each read by trainings (one per seed), each
training read by a features job, each read by a few linear probes. A step is what the runner's
loop does between two results: hand out ready jobs up to `--capacity` in flight, then one job in
flight finishes. No store, no executor: only the bookkeeping, which is what grows with the plan.

- ready queue: `ScheduleState.pop_ready` / `start` / `finish` (a finish counts down its readers'
  unfinished inputs; a reader enters the queue at 0);
- rescan (the baseline): the loop as it was, a pending list in dependency order scanned from the
  front for jobs whose inputs are all done, each taken job removed from the list, and a scan for
  any ready job when nothing was taken.

The rescan costs time proportional to the pending jobs at every step, so it is timed over the
first `--steps` steps only (the ready queue over the same steps, and over the whole graph too).
Building the state (counting every job's inputs, once per run) is timed apart: "build ms".
Measurements on a shared machine are noisy: compare the ratio, not the absolute figures.

    python benchmarks/scheduler.py                       # 10k, 30k and 100k jobs
    python benchmarks/scheduler.py --jobs 100000 --steps 500
"""

from __future__ import annotations

import argparse
import time
from collections import deque

from engine.schedule_state import ScheduleState


def graph(n: int, seeds: int = 5, probes: int = 3) -> dict[str, list[str]]:
    """About `n` jobs: dataset -> `seeds` trainings -> features -> `probes` linear probes each,
    in dependency order (as plan.topological() gives them)."""
    per_dataset = 1 + seeds * (2 + probes)
    out: dict[str, list[str]] = {}
    for d in range(max(1, n // per_dataset)):
        ds = f"d{d}"
        out[ds] = []
        for s in range(seeds):
            tr, ft = f"t{d}.{s}", f"f{d}.{s}"
            out[tr] = [ds]
            out[ft] = [tr]
            for p in range(probes):
                out[f"l{d}.{s}.{p}"] = [ft]
    return out


def queue_steps(inputs: dict[str, list[str]], capacity: int,
                steps: int | None) -> tuple[int, float, float]:
    """(steps taken, seconds, seconds to build the state) driving a ScheduleState until `steps`
    results or the end."""
    t0 = time.perf_counter()
    state = ScheduleState(inputs)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    flight: deque[str] = deque()
    taken = 0
    while state.unsettled and (steps is None or taken < steps):
        while len(flight) < capacity and (jid := state.pop_ready()) is not None:
            state.start(jid)
            flight.append(jid)
        state.finish(flight.popleft())
        taken += 1
    return taken, time.perf_counter() - t0, build


def rescan_steps(inputs: dict[str, list[str]], capacity: int, steps: int) -> tuple[int, float]:
    """The same loop with the runner's former bookkeeping: a pending list scanned every step."""
    t0 = time.perf_counter()
    done: set[str] = set()
    pending = list(inputs)
    flight: deque[str] = deque()

    def ready(jid: str) -> bool:
        return all(dep in done for dep in inputs[jid])

    taken = 0
    while (pending or flight) and taken < steps:
        for jid in list(pending):
            if len(flight) >= capacity:
                break
            if not ready(jid):
                continue
            pending.remove(jid)
            flight.append(jid)
        if not flight and not any(ready(j) for j in pending):
            break
        done.add(flight.popleft())
        taken += 1
    return taken, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    ap.add_argument("--capacity", type=int, default=16, help="jobs in flight (workers)")
    ap.add_argument("--steps", type=int, default=1000, help="steps timed for the rescan")
    args = ap.parse_args()
    print(f"capacity {args.capacity}; per step = seconds / results; first {args.steps} steps "
          "for both, then the ready queue over the whole graph")
    print(f"{'jobs':>8} {'rescan us/step':>15} {'queue us/step':>14} {'ratio':>8} "
          f"{'queue, whole graph':>22} {'build ms':>9}")
    for n in args.jobs:
        inputs = graph(n)
        k_old, t_old = rescan_steps(inputs, args.capacity, args.steps)
        k_new, t_new, _ = queue_steps(inputs, args.capacity, args.steps)
        assert k_old == k_new, (k_old, k_new)
        k_all, t_all, build = queue_steps(inputs, args.capacity, None)
        old_us, new_us = t_old / k_old * 1e6, t_new / k_new * 1e6
        print(f"{len(inputs):>8} {old_us:>15.1f} {new_us:>14.2f} {old_us / new_us:>7.0f}x "
              f"{t_all / k_all * 1e6:>11.2f} us x {k_all:<6} {build * 1e3:>9.1f}")


if __name__ == "__main__":
    main()
