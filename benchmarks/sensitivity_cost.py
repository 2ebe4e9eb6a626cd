"""Cost and steadiness of a sensitivity job (Eq. 1): independent samples drawn from the pairs'
own images (version 3, the engine) against rendering n separate independent pairs (version 2),
both measured in the same run on the same model and pairs.

    python benchmarks/sensitivity_cost.py [--arch resnet18] [--width 0.125] [--pairs 500]
                                          [--draws 8] [--threads 1] [--device cpu]

Time: the seconds of one job's work after the model is loaded (rendering the images, the forward
passes, the distances), the fastest of --draws repetitions. Steadiness: the standard deviation of
`independent_distance` over --draws draws of the pairs (seeds 0..draws-1), relative to its mean;
the pair distance is the same under both estimators. The model is a seeded, untrained one (the
spread of a distance estimate depends on the features' geometry, not on what they learned); the
data is the laptop profile's: 32x32 Transforms-2D images of 30 objects, rotate varied.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from engine import device as dev
from engine.data import generate, sensitivity_pairs
from engine.data import rand
from engine.data.generation import build
from engine.data.pairs import with_transforms
from engine.models import seeded_build
from engine.models.fold import fold_batchnorm
from engine.probes.sensitivity import sensitivity

OBJECTS = ["apple", "grapes", "lemon", "pineapple", "cherries", "pizza", "hamburger", "doughnut",
           "light_bulb", "key", "lock", "chair", "umbrella", "mobile_phone", "laptop", "camera",
           "t_shirt", "dress", "socks", "top_hat", "crown", "running_shoe", "glasses", "rocket",
           "tractor", "helicopter", "cat", "turtle", "octopus", "hammer"]
DATA = {"kind": "transforms2d", "objects": OBJECTS, "transforms": [], "resolution": 32,
        "backgrounds": "procedural", "object_size": 0.7}
VARY = {"transforms": [{"name": "rotate", "params": {"degrees": [0.0, 360.0]}}]}


def version2(model, n: int, seed: int, device) -> float:
    """Version 2's job: the pairs, plus n independent pairs (xa, xb) rendered from two further
    streams of test samples, all four sets through the network. Returns independent_distance."""
    x1, x2, _ = sensitivity_pairs(DATA, VARY, n, seed, device)
    cfg = with_transforms(DATA, VARY["transforms"])
    size = build(cfg, seed, None, None).size("test")
    i = torch.arange(n, dtype=torch.int64)
    key = rand.derive(rand.config_key(cfg, seed), "pairs")
    xa, xb = (generate(cfg, "test", i + k * n if size is None else
                       rand.randint(rand.derive(key, k), i, size), seed, device)[0]
              for k in (1, 2))

    def f(x):
        return dev.map_batches(model.features, x, device, 1024)

    with torch.no_grad():
        (f(x1) - f(x2)).norm(dim=1).mean().item()
        return (f(xa) - f(xb)).norm(dim=1).mean().item()


def version3(model, n: int, seed: int, device) -> float:
    """The engine's job: the pairs only; independent samples are x1[i], x2[j] of two samples."""
    return sensitivity(model, *sensitivity_pairs(DATA, VARY, n, seed, device),
                       device=device)["independent_distance"]


def measure(fn, model, n: int, draws: int, device) -> tuple[float, float]:
    """(fastest seconds, relative std of independent_distance) over `draws` seeds."""
    fn(model, n, 0, device)  # warm-up: oneDNN kernels, the object glyphs
    seconds, values = [], []
    for seed in range(draws):
        start = time.perf_counter()
        values.append(fn(model, n, seed, device))
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - start)
    return min(seconds), statistics.stdev(values) / statistics.mean(values)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="resnet18")
    ap.add_argument("--width", type=float, default=0.125)
    ap.add_argument("--pairs", type=int, default=500)
    ap.add_argument("--draws", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    device = dev.resolve(a.device)
    model = seeded_build({"arch": a.arch, "width": a.width, "num_classes": 30}, 0).eval()
    model = dev.prepare(fold_batchnorm(model), device)
    print(f"{a.arch} width {a.width}, {a.pairs} pairs, {a.draws} draws, {a.threads} thread(s), "
          f"{device}")
    t2, s2 = measure(version2, model, a.pairs, a.draws, device)
    t3, s3 = measure(version3, model, a.pairs, a.draws, device)
    print(f"{'':34s}{'s a job':>9s}{'rel. std of denominator':>26s}")
    print(f"{'version 2: n separate pairs':34s}{t2:9.3f}{s2:26.4f}")
    print(f"{'version 3: the pairs own images':34s}{t3:9.3f}{s3:26.4f}")
    print(f"speed-up {t2 / t3:.2f}x; denominator's spread {s2 / max(s3, 1e-12):.1f}x smaller")


if __name__ == "__main__":
    main()
