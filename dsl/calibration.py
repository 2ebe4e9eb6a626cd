"""Measured job costs: a calibration file turns a plan's FLOP estimate into seconds on a machine.

`dsl plan` alone prices a plan in FLOPs at an assumed sustained rate (dsl.estimate), which is
right to an order of magnitude at best: small jobs are dominated by start-up, and every
architecture uses the GPU differently. `benchmarks/suite_cost.py` runs a few jobs of each
(kind, architecture) of a suite at two sizes on the machine it is on and fits, per group,

    seconds = overhead + size x per_unit

where a job's size is its FLOPs (dsl.estimate.job_flop), or its number of images for a dataset
job (which computes nothing a FLOP count describes). `dsl plan --calibration FILE` then sums that
over the plan's jobs; groups the file does not cover fall back to the FLOP estimate and are
named, so a projection never silently prices a job at zero.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from dsl.errors import DslError

FORMAT = "dsl-calibration/1"


def group(job, jobs: Mapping[str, Any]) -> str:
    """The cost group of a job: "kind/arch" for a model job, "dataset/<data kind>" for data."""
    c = job.config
    if job.kind == "dataset":
        return f"dataset/{c['data'].get('kind', '?')}"
    model = c.get("model")
    if model is None and "features" in job.inputs:  # a linear probe costs by its features' model
        model = jobs[job.inputs["features"]].config.get("model")
    arch = model.get("arch", "?") if isinstance(model, Mapping) else "?"
    return f"{job.kind}/{arch}"


def size(job, jobs: Mapping[str, Any]) -> float:
    """A job's size in its group's unit: images for a dataset job, FLOPs for the rest."""
    from dsl.estimate import job_flop, split_sizes

    if job.kind == "dataset":
        return float(sum(split_sizes(job.config).values()))
    return job_flop(job, jobs)


@dataclass(frozen=True)
class Fit:
    overhead: float  # seconds a job of this group costs whatever its size
    per_unit: float  # seconds per FLOP (per image for datasets)
    samples: int  # jobs measured for the fit

    def seconds(self, units: float) -> float:
        return self.overhead + self.per_unit * units


@dataclass(frozen=True)
class Calibration:
    machine: str
    device: str
    date: str
    fits: Mapping[str, Fit]
    path: str = ""


@dataclass
class Projection:
    seconds: dict[str, float] = field(default_factory=dict)  # job kind -> seconds
    uncovered: dict[str, int] = field(default_factory=dict)  # group -> jobs priced by FLOPs

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


def fit(points: list[tuple[float, float]]) -> Fit:
    """Least-squares line through (size, seconds). One point, equal sizes, or a line that would
    fall with size (timing noise on small samples) give a line through the origin instead: it
    prices a large job by the measured rate rather than at the small sample's cost."""
    n = len(points)
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    mx, my = sum(xs) / n, sum(ys) / n
    var = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in points) / var if n > 1 and var > 0 else 0.0
    if slope <= 0:
        return Fit(0.0, my / mx if mx > 0 else 0.0, n)
    return Fit(max(0.0, my - slope * mx), slope, n)


def save(path: str | Path, machine: str, device: str, date: str, fits: Mapping[str, Fit]) -> None:
    data = {"format": FORMAT, "machine": machine, "device": device, "date": date,
            "fits": {g: {"overhead_s": f.overhead, "seconds_per_unit": f.per_unit,
                         "samples": f.samples} for g, f in sorted(fits.items())}}
    Path(path).write_text(json.dumps(data, indent=1) + "\n")


def load(path: str | Path) -> Calibration:
    """Read a calibration file; anything malformed is one DslError naming the file and field."""
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise DslError(f"{p}: no such calibration file (make one with "
                       "`python3 benchmarks/suite_cost.py --out FILE`)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DslError(f"{p}: not a calibration file ({err})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DslError(f"{p}: field 'format' must be \"{FORMAT}\" (written by "
                       "benchmarks/suite_cost.py)")
    fits_raw = data.get("fits")
    if not isinstance(fits_raw, dict) or not fits_raw:
        raise DslError(f"{p}: field 'fits' must be a non-empty table of group -> fit")
    fits = {}
    for g, f in fits_raw.items():
        where = f"{p}: fits.{g}"
        if not isinstance(f, dict):
            raise DslError(f"{where} must be a table with overhead_s and seconds_per_unit")
        values = []
        for key in ("overhead_s", "seconds_per_unit"):
            v = f.get(key)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                    or v < 0:
                raise DslError(f"{where}.{key} must be a finite number >= 0, got {v!r}")
            values.append(float(v))
        fits[g] = Fit(values[0], values[1], int(f.get("samples", 0) or 0))
    return Calibration(str(data.get("machine", "?")), str(data.get("device", "?")),
                       str(data.get("date", "?")), fits, str(p))


def project(jobs: Mapping[str, Any], cal: Calibration, only: Any = None) -> Projection:
    """Seconds per job kind of the jobs in `only` (default all), one job after another."""
    from dsl.estimate import ASSUMED_TFLOPS, job_flop

    out = Projection()
    for jid in (jobs if only is None else only):
        job = jobs[jid]
        g = group(job, jobs)
        f = cal.fits.get(g)
        if f is not None:
            secs = f.seconds(size(job, jobs))
        else:
            out.uncovered[g] = out.uncovered.get(g, 0) + 1
            secs = job_flop(job, jobs) / (ASSUMED_TFLOPS * 1e12)
        out.seconds[job.kind] = out.seconds.get(job.kind, 0.0) + secs
    return out


def describe(p: Projection, cal: Calibration, workers: int = 1) -> str:
    """One paragraph for `dsl plan`: the projected time on the calibrated machine."""
    hours = p.total / 3600
    parts = [f"calibrated on {cal.machine} ({cal.device}, {cal.date}, {cal.path}): "
             f"{hours:,.2f} h one job at a time"]
    if workers > 1:
        parts[0] += f", ~{hours / workers:,.2f} h with {workers} jobs side by side"
    by_kind = ", ".join(f"{k} {s / 3600:,.2f} h" for k, s in
                        sorted(p.seconds.items(), key=lambda kv: -kv[1]) if s > 0)
    if by_kind:
        parts.append(f"  by kind: {by_kind}")
    if p.uncovered:
        groups = ", ".join(f"{g} ({n:,} jobs)" for g, n in sorted(p.uncovered.items()))
        parts.append(f"  not in the calibration, priced by the FLOP estimate: {groups}")
    return "\n".join(parts)
