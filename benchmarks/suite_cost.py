"""The suite's bill, measured: seconds per job by kind and architecture on this machine, and the
whole suite (every spec at full scale) projected from them, next to `dsl plan`'s FLOP estimate.

How: the specs are planned twice more under two calibration profiles that keep every model at
full width but cap data, epochs and pairs (first seed only); from each, a few jobs of every
(kind, architecture) group are run for real through the engine's worker (`engine.worker.execute`,
the code `dsl run` runs), inputs first, into a temporary store. Every job that runs, inputs
included, is one (size, seconds) point of its group, where size is the job's FLOPs (images for a
dataset job); a line `seconds = overhead + size x per_unit` is fitted per group, so start-up costs
and throughput are told apart. The full-scale plan is then priced job by job with those lines
(groups not measured fall back to the FLOP estimate, and are named).

    python3 benchmarks/suite_cost.py --device cuda --out calibration.json   # on the GPU machine
    dsl plan specs/ --calibration calibration.json                          # its ETA anywhere

Specs whose local data (CIFAR) is absent still count in the projection; their groups are
measured only where some other spec's job of the same group runs. On a CPU the full-width models
are slow: `--scale 0.25` shrinks the samples, `--archs small_cnn,resnet18` picks architectures.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dsl import calibration, profiles  # noqa: E402
from dsl.estimate import ASSUMED_TFLOPS, estimate  # noqa: E402
from dsl.planner import plan  # noqa: E402


def calibration_profile(name: str, scale: float) -> profiles.Profile:
    """Full-width models, capped data and epochs: a sample of a full-scale job's cost."""
    cap = profiles.Rule

    def n(x: float) -> int:
        return max(16, int(x * scale))

    return profiles.Profile(
        name, f"calibration sample at scale {scale}", first_seed_only=True,
        rules={
            "dataset": (cap(("sizes", "train"), "cap", n(2048)), cap(("sizes", "val"), "cap", n(512)),
                        cap(("sizes", "test"), "cap", n(512))),
            "train": (cap(("epochs",), "cap", 1), cap(("schedule", "warmup_epochs"), "cap", 0)),
            "linear": (cap(("epochs",), "cap", 20),
                       cap(("n_train",), "cap", n(2048), null_is_all=False)),
            "finetune": (cap(("epochs",), "cap", 1), cap(("schedule", "warmup_epochs"), "cap", 0),
                         cap(("n_train",), "cap", n(2048)), cap(("linear", "epochs"), "cap", 20),
                         cap(("linear", "n_train"), "cap", n(2048))),
            "sensitivity": (cap(("pairs",), "cap", n(512)),),
        })


def machine() -> tuple[str, str]:
    import torch

    from engine.environment import cpu_model

    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    return platform.node(), (gpu or f"CPU: {cpu_model()}, {torch.get_num_threads()} threads")


class Sampler:
    """Runs chosen jobs of a plan, inputs first, each once, and keeps (group, size, seconds)."""

    def __init__(self, store: Path, device: str | None, compile: bool, data_root: str | None):
        from engine.paths import ArtifactPaths

        self.paths = ArtifactPaths(store)
        self.store, self.device, self.compile, self.data_root = store, device, compile, data_root
        self.done: dict[str, bool] = {}  # job id -> ok
        self.points: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self.failed: dict[str, str] = {}

    def run(self, job_id: str, jobs) -> bool:
        from engine import kinds
        from engine.worker import Task, TaskInput, execute

        if job_id in self.done:
            return self.done[job_id]
        job = jobs[job_id]
        ok = all(self.run(dep, jobs) for dep in job.inputs.values())
        if ok:
            inputs = {role: TaskInput(str(dep), jobs[dep].kind, dict(jobs[dep].config),
                                      str(self.paths.artifact(str(dep))))
                      for role, dep in job.inputs.items()}
            kind = kinds.KINDS[job.kind]
            task = Task(str(job_id), job.kind, kind.impl, dict(job.config), inputs,
                        str(self.store), gpu=kind.gpu, data_root=self.data_root,
                        device=self.device, compile=self.compile)
            result = execute(task)
            ok = result.ok
            group = calibration.group(job, jobs)
            if ok:
                self.points[group].append((calibration.size(job, jobs), result.seconds))
                print(f"  {group:<24} {result.seconds:8.2f} s  ({job_id})", flush=True)
            else:
                self.failed.setdefault(group, result.error_line or "failed")
                print(f"  {group:<24} failed: {result.error_line}", flush=True)
        self.done[job_id] = ok
        return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--specs", nargs="+", default=["specs/"], help="spec files or folders")
    ap.add_argument("--device", default=None, help="cpu | cuda (default: cuda where present)")
    ap.add_argument("--compile", action="store_true", help="torch.compile the trainings")
    ap.add_argument("--data", default=None, help="local data root (CIFAR), as dsl run --data")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="size of the samples (1: 2,048 training images, 1 epoch)")
    ap.add_argument("--per-group", type=int, default=1,
                    help="jobs sampled per group and calibration size")
    ap.add_argument("--archs", default=None, help="comma-separated architectures to sample")
    ap.add_argument("--kinds", default=None, help="comma-separated job kinds to sample")
    ap.add_argument("--out", default=None, help="write the calibration file here (JSON)")
    args = ap.parse_args()

    full = plan(args.specs, data_root=args.data)
    groups = Counter(calibration.group(j, full.jobs) for j in full.jobs.values())
    flop_hours = estimate(full.jobs).gpu_hours
    host, device_name = machine()
    print(f"{len(full.jobs):,} jobs in {len(full.specs)} specs at full scale; machine {host}, "
          f"{device_name}")
    archs = set(args.archs.split(",")) if args.archs else None
    wanted_kinds = set(args.kinds.split(",")) if args.kinds else None
    with tempfile.TemporaryDirectory(prefix="dsl-suite-cost-") as tmp:
        sampler = Sampler(Path(tmp), args.device, args.compile, args.data)
        # A warm-up pass, not recorded: the first job of a group pays one-off costs (numba
        # compiling the data kernels, cuDNN autotuning, CUDA context, torch.compile's first
        # graph) that a long suite pays once, not per job.
        for i, scale in enumerate((args.scale / 4, args.scale, 3 * args.scale)):
            if i == 1:
                sampler.points.clear()
            prof = calibration_profile(f"calibrate{i}", scale)
            profiles.PROFILES[prof.name] = prof  # profiles are looked up by name when planning
            try:
                sample_plan = plan(args.specs, profile=prof.name, data_root=args.data)
            finally:
                del profiles.PROFILES[prof.name]
            print(f"calibration size {i} (scale {scale}):" if i else
                  f"warm-up (scale {scale}, not recorded):")
            taken: Counter = Counter()
            start = time.perf_counter()
            for jid, job in sample_plan.jobs.items():
                g = calibration.group(job, sample_plan.jobs)
                kind, arch = g.split("/", 1)
                if (wanted_kinds and kind not in wanted_kinds) or (
                        archs and kind != "dataset" and arch not in archs):
                    continue
                if taken[g] >= args.per_group or g in sampler.failed:
                    continue
                taken[g] += 1
                sampler.run(jid, sample_plan.jobs)
            print(f"  ({time.perf_counter() - start:.0f} s)")
    fits = {g: calibration.fit(pts) for g, pts in sampler.points.items()}
    cal = calibration.Calibration(host, device_name, time.strftime("%Y-%m-%d"), fits, "this run")
    proj = calibration.project(full.jobs, cal)
    per_group: dict[str, float] = defaultdict(float)
    for job in full.jobs.values():
        g = calibration.group(job, full.jobs)
        if g in fits:
            per_group[g] += fits[g].seconds(calibration.size(job, full.jobs))
    print(f"\n{'group':<24}{'jobs':>9}{'samples':>9}{'overhead s':>12}{'rate':>12}"
          f"{'projected h':>13}")
    for g in sorted(groups):
        f = fits.get(g)
        if f is None:
            why = sampler.failed.get(g, "not sampled")
            print(f"{g:<24}{groups[g]:>9,}{'-':>9}  ({why[:60]})")
            continue
        rate = 1 / f.per_unit if f.per_unit > 0 else float("inf")
        print(f"{g:<24}{groups[g]:>9,}{f.samples:>9}{f.overhead:>12.2f}{rate:>12.3g}"
              f"{per_group[g] / 3600:>13.3f}")
    print("rate: FLOP/s of the job's estimated FLOPs (images/s for dataset jobs), after the "
          "overhead; samples: jobs measured")
    print(f"\nprojected: {proj.total / 3600:,.2f} hours for the whole suite one job at a time on "
          f"this machine; the FLOP estimate says {flop_hours:,.2f} GPU-hours at an assumed "
          f"{ASSUMED_TFLOPS:.0f} TFLOP/s (ratio {proj.total / 3600 / max(flop_hours, 1e-9):.2f})")
    if proj.uncovered:
        print("priced by the FLOP estimate (not measured): " + ", ".join(
            f"{g} ({n:,})" for g, n in sorted(proj.uncovered.items())))
    if args.out:
        calibration.save(args.out, host, device_name, cal.date, fits)
        print(f"calibration written to {args.out}: `dsl plan SPECS --calibration {args.out}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
