"""Seconds per sensitivity job on a CPU at the engine's inference batch (engine.device:
CPU_BATCH_PIXELS, 64 CIFAR-size images) against batch 1,024 (what it was, and still is on a GPU),
in the same run.

A sequence of real sensitivity jobs (engine.probes.sensitivity.run: load a trained checkpoint,
render 500 pairs, two forward passes of 500 images) runs in one process, as in a long-lived
worker, each job with another model and another varied transform; the two batch sizes alternate
by rounds, so drifting load hits both. Minor page faults per job are counted too: at batch 1,024
a small network's activations are tens of MiB, and whether glibc serves them from fresh mappings
the kernel must zero-fill page by page (tens of thousands of faults a job) depends on what the
process allocated before; in a worker running thousands of jobs it often does. Batch 64 keeps
every activation small, and was never slower.

Measured 2026-12-06 on the 2-core AMD EPYC (one thread, defaults but --jobs 24): small_cnn
1.27x, ResNet-18 x1/8 0.98x (that sequence happened to fault little at 1,024), ViT x1/8 1.65x,
ResNet-18 x1/2 1.25x. End to end, 108 of invariance_transfer's sensitivity jobs under the laptop
profile (`dsl run ... --rerun sensitivity --only seed=0,source=images --only
transform=translate --only transform=rotate --jobs 2`, each side twice, alternating): 28.9 s
before, 24.5 s after (planning included), system time 10.6 s -> 2.2 s, page faults 4.6 M -> 0.44 M.

    python benchmarks/cpu_inference_batch.py [--jobs 12] [--rounds 2] [--threads 1]
                                             [--pairs 500] [--networks resnet18:0.125,vit:0.125]

The defaults are the laptop profile's: width-1/8 networks (small_cnn keeps its width), 500 pairs,
one torch thread per worker (`dsl run --jobs 2` on 2 cores). Compare the ratio, not the absolute
figures, on a shared machine.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import torch

from dsl.catalog import OBJECTS
from engine import device as dev
from engine.jobs import Input, RunContext
from engine.models import CHECKPOINT, build
from engine.probes import sensitivity

NETWORKS = [("small_cnn", 1.0), ("resnet18", 0.125), ("vit", 0.125), ("resnet18", 0.5)]
BASELINE_PIXELS = 1024 * 32 * 32
DATA = {"kind": "transforms2d", "objects": [name for name, _ in OBJECTS[:30]], "transforms": [],
        "backgrounds": "procedural", "foregrounds": "openmoji", "object_size": 0.7,
        "resolution": 32}
VARIED = ["translate", "rotate", "scale", "hue", "blur", "noise"]


def _faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def checkpoints(root: Path, model: dict, n: int = 4) -> list[Input]:
    """`n` randomly initialised networks saved as finished train jobs' artifacts."""
    out = []
    for i in range(n):
        torch.manual_seed(i)
        folder = root / f"{model['arch']}-{model['width']}-{i}"
        folder.mkdir()
        torch.save(build(model).state_dict(), folder / CHECKPOINT)
        out.append(Input(f"train-{i}", "train", {"model": model}, folder))
    return out


def run_jobs(models: list[Input], model: dict, jobs: int, out: Path, pairs: int = 500
             ) -> tuple[list[float], list[int]]:
    """Seconds and page faults of each of `jobs` sensitivity jobs."""
    seconds, faults = [], []
    for k in range(jobs):
        config = {"data": DATA, "model": model, "pairs": pairs, "seed": k,
                  "vary": {"transforms": [{"name": VARIED[k % len(VARIED)], "params": {}}]}}
        f0, t0 = _faults(), time.perf_counter()
        sensitivity.run(config, {"model": models[k % len(models)]}, out,
                        RunContext(log=lambda _: None))
        seconds.append(time.perf_counter() - t0)
        faults.append(_faults() - f0)
    return seconds, faults


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=12, help="jobs per round and batch size")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--pairs", type=int, default=500)
    ap.add_argument("--networks", default=",".join(f"{a}:{w}" for a, w in NETWORKS),
                    help="ARCH:WIDTH,... (default: %(default)s)")
    args = ap.parse_args()
    networks = [(arch, float(width)) for arch, width in
                (item.split(":") for item in args.networks.split(","))]
    torch.set_num_threads(args.threads)
    engine_pixels = dev.CPU_BATCH_PIXELS
    sizes = {"1024": BASELINE_PIXELS, str(engine_pixels // 1024): engine_pixels}
    print(f"torch {torch.__version__}, {args.threads} thread(s); {args.rounds} x {args.jobs} "
          f"sensitivity jobs ({args.pairs} pairs) per batch size; median seconds per job, mean "
          "page faults per job")
    print(f"{'network':<18} {'s @1024':>8} {'faults':>8} {'s @' + list(sizes)[1]:>8} "
          f"{'faults':>8} {'speed-up':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for arch, width in networks:
            model = {"arch": arch, "num_classes": 30, "width": width}
            models = checkpoints(root, model)
            run_jobs(models, model, 2, root, args.pairs)  # warm-up: assets, oneDNN
            got: dict[str, tuple[list[float], list[int]]] = {k: ([], []) for k in sizes}
            for _ in range(args.rounds):
                for name, pixels in sizes.items():
                    dev.CPU_BATCH_PIXELS = pixels
                    s, f = run_jobs(models, model, args.jobs, root, args.pairs)
                    got[name][0].extend(s)
                    got[name][1].extend(f)
            dev.CPU_BATCH_PIXELS = engine_pixels
            (bs, bf), (es, ef) = got.values()
            base, eng = statistics.median(bs), statistics.median(es)
            print(f"{arch + ' x' + str(width):<18} {base:>8.3f} {statistics.mean(bf):>8.0f} "
                  f"{eng:>8.3f} {statistics.mean(ef):>8.0f} {base / eng:>8.2f}x", flush=True)


if __name__ == "__main__":
    main()
