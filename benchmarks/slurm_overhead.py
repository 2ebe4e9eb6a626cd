"""Overhead per job through Slurm: submit to result, for a job that does nothing.

The job (`noop` below) publishes an empty artifact and returns one metric, so what is measured is
the executor alone: for Slurm, `sbatch`, scheduling, starting Python in the allocation, loading
the pickled task, writing the result and the driver noticing it (`sacct` every 2 s, or the
result file); for the baseline, the local executor's already-started worker process.

    python benchmarks/slurm_overhead.py                # 5 jobs one after another, 8 at once
    python benchmarks/slurm_overhead.py --serial 10 --array 32
Needs a reachable Slurm (`.ci/slurm-up` starts a single-node one). Prints seconds per job for
each mode and the ratio to the local executor's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.executors.local import LocalExecutor  # noqa: E402
from engine.executors.slurm import SlurmExecutor  # noqa: E402
from engine.executors.slurm_options import SlurmOptions  # noqa: E402
from engine.jobs import Metric  # noqa: E402
from engine.worker import Task  # noqa: E402


def noop(config, inputs, out_dir, ctx):
    return [Metric("i", None, float(config["i"]))]


def _task(root: Path, i: int, kind: str = "bench") -> Task:
    # A kind outside PACKED_KINDS: every task is a Slurm job (or array element) of its own.
    return Task(f"{kind}-{i:016x}", kind, "slurm_overhead:noop", {"i": i}, {}, str(root),
                device="cpu")


def _drain(ex, n: int) -> None:
    got = 0
    while got < n:
        results = ex.wait(timeout=1.0)
        assert all(r.ok for r in results), [r.error for r in results if not r.ok]
        got += len(results)


def serial(ex, root: Path, n: int, offset: int) -> list[float]:
    """Seconds from submit to result, one job at a time."""
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        ex.submit(_task(root, offset + i))
        _drain(ex, 1)
        out.append(time.perf_counter() - t0)
    return out


def together(ex, root: Path, n: int, offset: int) -> float:
    """Wall seconds for n jobs submitted at once (on Slurm: one job array)."""
    t0 = time.perf_counter()
    for i in range(n):
        ex.submit(_task(root, offset + i))
    _drain(ex, n)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--serial", type=int, default=5, help="jobs run one after another")
    ap.add_argument("--array", type=int, default=8, help="jobs submitted at once")
    args = ap.parse_args()
    # Workers and Slurm jobs import this module by name (tasks say "slurm_overhead:noop").
    here = str(Path(__file__).resolve().parent)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (here, str(Path(here).parent), os.environ.get("PYTHONPATH")) if p)

    with tempfile.TemporaryDirectory(prefix="dsl-slurm-bench-") as tmp:
        root = Path(tmp)
        rows = []
        with LocalExecutor(jobs=2) as local:
            serial(local, root / "local", 1, 10_000)  # start the workers before timing
            rows.append(("local", serial(local, root / "local", args.serial, 0),
                         together(local, root / "local", args.array, 1000)))
        slurm = SlurmExecutor(root / "slurm", SlurmOptions(time_min=5))
        try:
            rows.append(("slurm", serial(slurm, root / "slurm", args.serial, 0),
                         together(slurm, root / "slurm", args.array, 1000)))
        finally:
            slurm.cancel()
    print(f"{'executor':<10}{'submit->result, 1 job (s)':>30}{f'{args.array} at once: s/job':>26}")
    for name, lat, wall in rows:
        print(f"{name:<10}{statistics.median(lat):>24.2f} (min {min(lat):.2f})"
              f"{wall / args.array:>20.2f} ({wall:.1f} s)")
    (_, l_lat, l_wall), (_, s_lat, s_wall) = rows
    print(f"slurm / local: {statistics.median(s_lat) / statistics.median(l_lat):.0f}x per single "
          f"job, {s_wall / l_wall:.0f}x for {args.array} at once")
    return 0


if __name__ == "__main__":
    sys.exit(main())
