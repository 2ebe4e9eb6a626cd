"""Compile time paid per job over a sequence of trainings in one worker: kept compiled models
(engine/compiled.py) vs compiling every job anew, in the same run.

Each job is a real `engine.train.fit` of the same architecture and batch shape from its own
seed. A job's compile cost is its first epoch minus its steady epoch time (the first epoch is
where torch.compile traces, generates code and, with CUDA graphs, records them).

    python3 benchmarks/compile_reuse.py --device cuda --arch resnet18 --jobs 20
    python3 benchmarks/compile_reuse.py --jobs 4       # CPU: inductor's first compile takes minutes
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from engine import compiled, device as dev  # noqa: E402
from engine.models import seeded_build  # noqa: E402
from dsl.job_configs import TrainConfig  # noqa: E402
from dsl.spec import TrainSpec  # noqa: E402
from engine.train import Hyper, fit  # noqa: E402


def one_job(args, seed: int, x, y, device) -> float:
    """Seconds of compilation this job paid: first epoch minus the mean of the later ones."""
    model = seeded_build({"arch": args.arch, "width": args.width, "num_classes": 10}, seed)
    hp = Hyper.from_train_config(TrainConfig.from_spec(
        TrainSpec(task="t", epochs=args.epochs, batch_size=args.batch), "class", 10, seed))
    hist = fit(model, x, y, x[:0], y[:0], hp, device, compile=args.mode)
    secs = [e["seconds"] for e in hist["epochs"]]
    return max(0.0, secs[0] - statistics.mean(secs[1:]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--arch", default="small_cnn")
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--jobs", type=int, default=20)
    ap.add_argument("--n", type=int, default=4096, help="training images per job")
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--mode", default=None,
                    help="torch.compile mode (default: reduce-overhead on CUDA, default on CPU)")
    args = ap.parse_args()
    device = dev.resolve(args.device)
    args.mode = args.mode or ("reduce-overhead" if dev.is_cuda(device) else "default")
    print(f"{args.arch} x{args.width}, batch {args.batch}, {args.n} images x {args.epochs} "
          f"epochs per job, {args.jobs} jobs per variant, mode {args.mode}, on "
          f"{torch.cuda.get_device_name() if dev.is_cuda(device) else 'CPU'}")
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (args.n, 3, 32, 32), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 10, (args.n,), generator=g)
    results = {}
    for variant in ("kept", "fresh"):
        compiled.clear()
        paid = []
        made = kept = 0
        start = time.perf_counter()
        for i in range(args.jobs):
            if variant == "fresh":
                compiled.clear()  # as a new worker would: nothing kept by this project
            before = dict(compiled.stats)
            paid.append(one_job(args, i, x, y, device))
            made += compiled.stats["compiled"] - before["compiled"]
            kept += compiled.stats["reused"] - before["reused"]
        results[variant] = paid
        print(f"{variant:>6}: compile seconds per job: first {paid[0]:.1f}, later jobs mean "
              f"{statistics.mean(paid[1:] or [0]):.2f} (max {max(paid[1:] or [0]):.2f}); "
              f"{time.perf_counter() - start:.0f} s for all {args.jobs} jobs; "
              f"compiled {made}, reused {kept}")
    later = {k: statistics.mean(v[1:] or [0]) for k, v in results.items()}
    if later["kept"] > 0:
        print(f"compile paid per later job: fresh / kept = {later['fresh'] / later['kept']:.1f}x")
    print("note: 'fresh' still benefits from torch's own in-process caches; a new worker "
          "process pays the first job's figure")
    return 0


if __name__ == "__main__":
    sys.exit(main())
