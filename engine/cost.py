"""What `dsl run` is about to cost, said before anything starts.

The jobs to run by kind, and the compute estimate of dsl.estimate in the units of this machine:
GPU-hours where there are GPUs, CPU-hours on its cores where there are none (a laptop running a
full-size spec by mistake should find out in the first second, not after an hour).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Mapping

from dsl.counts import kind_rank
from dsl.estimate import ASSUMED_CPU_GFLOPS_PER_CORE, ASSUMED_TFLOPS, estimate


@dataclass(frozen=True)
class Cost:
    by_kind: Mapping[str, int]  # jobs to run per kind
    gpu_hours: float  # at ASSUMED_TFLOPS per GPU
    cpu_hours: float  # on `cores` cores at ASSUMED_CPU_GFLOPS_PER_CORE each
    gpus: int  # GPUs this machine's workers would use (0: CPU only)
    cores: int

    @property
    def jobs(self) -> int:
        return sum(self.by_kind.values())

    @property
    def hours_here(self) -> float:
        """The estimate on this machine: GPU-hours over its GPUs, else CPU-hours."""
        return self.gpu_hours / self.gpus if self.gpus else self.cpu_hours

    def line(self, here: bool = True) -> str:
        """One line; `here` false (a cluster runs the jobs) leaves out this machine's hours.
        The assumptions behind the figures are in ASSUMPTIONS (`dsl run --help`)."""
        kinds = ", ".join(f"{self.by_kind[k]} {k}" for k in sorted(self.by_kind, key=kind_rank))
        gpu = _hours(self.gpu_hours, "GPU-")
        if not here:
            return f"to run: {self.jobs} jobs ({kinds}); estimated {gpu}"
        if self.gpus:
            return (f"to run: {self.jobs} jobs ({kinds}); estimated {gpu}, "
                    f"{_hours(self.hours_here)} on this machine's {self.gpus} GPU(s)")
        cores = f"{self.cores} CPU core{'s' if self.cores != 1 else ''}"
        return (f"to run: {self.jobs} jobs ({kinds}); estimated {_hours(self.cpu_hours)} on "
                f"this machine's {cores} (no GPU; {gpu} on one)")


ASSUMPTIONS = (f"FLOPs at {ASSUMED_TFLOPS:.0f} TFLOP/s per GPU, {ASSUMED_CPU_GFLOPS_PER_CORE:.0f} "
               "GFLOP/s per CPU core (dsl/estimate.py; data generation not counted)")


def _hours(h: float, unit: str = "") -> str:
    """'~3.61 hours', '~12 minutes', 'under a minute' (unit 'GPU-': 'under a GPU-minute')."""
    if h < 1 / 60:
        return f"under a {unit}minute"
    if h < 1:
        return f"~{h * 60:.0f} {unit}minutes"
    return f"~{h:.3g} {unit}hours" if h < 100 else f"~{h:,.0f} {unit}hours"


def cost(to_run: Iterable[str], jobs: Mapping, *, gpus: int | None = None,
         cores: int | None = None) -> Cost:
    """The cost of running `to_run` (ids in `jobs`, which holds their inputs too) here."""
    from engine.executors.local import visible_gpus
    from engine.worker import cpu_cores

    ids = list(to_run)
    est = estimate(jobs, ids)
    gpus = len(visible_gpus()) if gpus is None else gpus
    cores = cpu_cores() if cores is None else cores
    return Cost(dict(Counter(jobs[j].kind for j in ids)), est.gpu_hours, est.cpu_hours(cores),
                gpus, cores)
