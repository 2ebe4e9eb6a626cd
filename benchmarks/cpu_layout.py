"""Milliseconds per image of CPU training and inference, by architecture: the engine's layout
(channels_last, engine.device) against NCHW; inference with batch norms folded into their
convolutions (engine.models.fold, as features, sensitivity and accuracy jobs run) against
unfolded; and the ViT's heads of 48 dimensions against 8 thinner heads, each pair measured in
the same run.

    python benchmarks/cpu_layout.py [--width 0.125] [--batch 32] [--threads 1] [--steps 8]

The defaults are the laptop profile's: width-1/8 networks trained at batch 32, one torch thread
per worker (`dsl run --jobs 2` on 2 cores); small_cnn keeps its width, as under the profiles.
Training is a forward, backward and SGD step on random images; inference is `features` at batch
1,024 in eval mode, as features and sensitivity jobs run it (engine.device.map_batches).
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from dsl.archs import ARCHES
from engine.models import build
from engine.models.fold import fold_batchnorm

FORMATS = {"nchw": torch.contiguous_format, "channels_last": torch.channels_last}


def train_ms(model: torch.nn.Module, fmt, batch: int, steps: int) -> float:
    model = model.to(memory_format=fmt).train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    x = torch.randn(batch, 3, 32, 32).contiguous(memory_format=fmt)
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(2):  # warm-up: oneDNN picks and caches its kernels
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / (steps * batch) * 1e3


@torch.no_grad()
def infer_ms(model: torch.nn.Module, fmt, batch: int = 1024, fold: bool = False,
             reps: int = 3) -> float:
    """The fastest of `reps` passes (after a warm-up one), per image."""
    if fold:
        fold_batchnorm(model)
    model = model.to(memory_format=fmt).eval()
    x = torch.randn(batch, 3, 32, 32).contiguous(memory_format=fmt)
    model.features(x)
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        model.features(x)
        best = min(best, time.perf_counter() - start)
    return best / batch * 1e3


def thin_heads(model: torch.nn.Module, heads: int = 8) -> torch.nn.Module:
    """The ViT as it was before heads kept their width: `heads` heads over the same weights."""
    for block in model.blocks:
        block.heads = heads
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=float, default=0.125)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=8)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from engine.environment import cpu_model

    print(f"CPU: {cpu_model()}; torch {torch.__version__}, {args.threads} thread(s); width "
          f"{args.width}, training batch {args.batch}; ms per image (lower is better)")

    def net(arch: str) -> torch.nn.Module:
        # as the profiles build it: an architecture that keeps its width (small_cnn) is not shrunk
        torch.manual_seed(0)
        width = 1.0 if ARCHES[arch].keeps_width else args.width
        return build({"arch": arch, "width": width, "num_classes": 10})

    print(f"{'arch':<12} {'train nchw':>10} {'train cl':>9} {'ratio':>6}   "
          f"{'infer nchw':>10} {'infer cl':>9} {'ratio':>6}   {'cl folded':>9} {'ratio':>6}")
    for arch in ARCHES:
        t = {f: train_ms(net(arch), fmt, args.batch, args.steps) for f, fmt in FORMATS.items()}
        i = {f: infer_ms(net(arch), fmt) for f, fmt in FORMATS.items()}
        folded = infer_ms(net(arch), torch.channels_last, fold=True)
        print(f"{arch:<12} {t['nchw']:>10.2f} {t['channels_last']:>9.2f} "
              f"{t['nchw'] / t['channels_last']:>5.2f}x   {i['nchw']:>10.3f} "
              f"{i['channels_last']:>9.3f} {i['nchw'] / i['channels_last']:>5.2f}x   "
              f"{folded:>9.3f} {i['channels_last'] / folded:>5.2f}x")
    vit = net("vit")
    heads = vit.blocks[0].heads
    if vit.feature_dim % 8 == 0 and heads != 8:
        ours = train_ms(vit, torch.channels_last, args.batch, args.steps)
        thin = train_ms(thin_heads(net("vit")), torch.channels_last, args.batch, args.steps)
        print(f"vit training, {heads} head(s) of {vit.feature_dim // heads} (engine) vs 8 of "
              f"{vit.feature_dim // 8}: {ours:.2f} vs {thin:.2f} ms per image, {thin / ours:.2f}x")


if __name__ == "__main__":
    main()
