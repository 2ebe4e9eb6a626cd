"""GPU packing: aggregate ResNet-18 training throughput with K jobs sharing one GPU.

A single small training job (CIFAR-sized images, ResNet-18) leaves a large GPU idle much of the
time (kernel launches, Python, evaluation). Running K jobs side by side in K worker processes on
the same device (`dsl run --per-gpu K`) fills those gaps. This measures it through the real local
executor and the real `train` job: for each K, K distinct train jobs are submitted at once to K
pre-warmed workers pinned to GPU 0, and

    images/s = K * epochs * n_train / wall time until the last of them finished

(wall time includes each job's own data loading, evaluation and checkpoint, as in a real run).
The report ends with the best K's ratio to K = 1.

    python benchmarks/packing.py                        # on a GPU: K = 1, 2, 4, 8
    python benchmarks/packing.py --sizes 1,4 --epochs 3 --n-train 20000
On a machine without a GPU it says so and runs a tiny CPU version (so the script stays tested).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dsl.graph import Job  # noqa: E402
from engine.data import artifact  # noqa: E402
from engine.executors.local import LocalExecutor, visible_gpus  # noqa: E402
from engine.kinds import KINDS  # noqa: E402
from engine.paths import ArtifactPaths  # noqa: E402
from engine.worker import Task, TaskInput  # noqa: E402

NUM_CLASSES = 10


def make_dataset(paths: ArtifactPaths, n_train: int, n_eval: int, resolution: int,
                 seed: int = 0) -> TaskInput:
    """Random images with learnable labels (class = a colour offset), written as a dataset
    artifact, so the benchmark needs no generator and no download."""
    rng = np.random.default_rng(seed)
    config = {"benchmark": "packing", "n_train": n_train, "n_eval": n_eval,
              "resolution": resolution, "seed": seed}
    job = Job.make("dataset", KINDS["dataset"].version, config)
    splits = {}
    for split, n in (("train", n_train), ("val", n_eval), ("test", n_eval)):
        y = rng.integers(0, NUM_CLASSES, n)
        x = rng.integers(0, 200, (n, 3, resolution, resolution), dtype=np.uint8)
        x[:, 0] += (y * 5).astype(np.uint8)[:, None, None]
        splits[split] = artifact.Split(x, {"class": y})
    staging = paths.staging(job.id)
    artifact.save(staging, splits, {"class": {"num_classes": NUM_CLASSES,
                                              "names": [str(i) for i in range(NUM_CLASSES)]}})
    return TaskInput(job.id, "dataset", config, str(paths.publish(staging, job.id)))


def train_task(paths: ArtifactPaths, data: TaskInput, *, seed: int, epochs: int, width: float,
               batch_size: int, compile: bool, device: str | None) -> Task:
    config = {"model": {"arch": "resnet18", "width": width, "num_classes": NUM_CLASSES},
              "label": "class",
              "optimizer": {"name": "sgd", "lr": 0.05, "weight_decay": 5e-4, "momentum": 0.9},
              "schedule": {"name": "constant", "warmup_epochs": 0, "final_lr": 0.0},
              "epochs": epochs, "batch_size": batch_size, "checkpoint": "last", "seed": seed}
    kind = KINDS["train"]
    job = Job.make("train", kind.version, config, {"data": data.id})
    return Task(job.id, "train", kind.impl, config, {"data": data}, str(paths.root), gpu=True,
                device=device, compile=compile)


def run_all(ex: LocalExecutor, tasks: list[Task]) -> float:
    """Submit every task at once; seconds until the last result. Raises if any job failed."""
    t0 = time.perf_counter()
    for task in tasks:
        ex.submit(task)
    pending = {t.job_id for t in tasks}
    while pending:
        for result in ex.wait(timeout=5.0):
            if not result.ok:
                raise SystemExit(f"benchmark job failed: {result.error_line}")
            pending.discard(result.job_id)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,2,4,8", help="jobs per GPU to compare")
    parser.add_argument("--n-train", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]

    gpus = visible_gpus()
    if gpus:
        device, pinned = None, gpus[:1]
        n_train, n_eval, epochs, width = args.n_train, 1000, args.epochs, args.width
        print(f"GPU {gpus[0]}: ResNet-18 (width {width}), {n_train} images x {epochs} epochs "
              f"per job, batch {args.batch_size}")
    else:
        print("packing measures jobs sharing a GPU and needs one; running a tiny CPU version "
              "(numbers mean nothing here)")
        device, pinned = "cpu", []
        sizes = [s for s in sizes if s <= 2] or [1]
        n_train, n_eval, epochs, width = 128, 32, 1, 0.125

    with tempfile.TemporaryDirectory(prefix="dsl-packing-") as tmp:
        paths = ArtifactPaths(tmp)
        data = make_dataset(paths, n_train, n_eval, 32)
        warm = make_dataset(paths, 64, 16, 32, seed=1)
        rows = []
        for k in sizes:
            ex = LocalExecutor(jobs=k, per_gpu=k, gpus=pinned)
            try:
                # Warm-up: every worker imports torch, creates its CUDA context and autotunes
                # once; a real run pays that once per worker too, not per job.
                run_all(ex, [train_task(paths, warm, seed=1000 + i, epochs=1, width=width,
                                        batch_size=args.batch_size, compile=args.compile,
                                        device=device) for i in range(k)])
                tasks = [train_task(paths, data, seed=i, epochs=epochs, width=width,
                                    batch_size=args.batch_size, compile=args.compile,
                                    device=device) for i in range(k)]
                seconds = run_all(ex, tasks)
            finally:
                ex.shutdown()
            rate = k * epochs * n_train / seconds
            rows.append((k, seconds, rate))
            print(f"  {k} job(s) at once: {seconds:7.1f} s   {rate:9.0f} images/s", flush=True)
    base = rows[0][2] if rows[0][0] == 1 else None
    best = max(rows, key=lambda r: r[2])
    if base:
        print(f"best: {best[0]} jobs per GPU, {best[2]:.0f} images/s = {best[2] / base:.2f}x "
              "one job at a time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
