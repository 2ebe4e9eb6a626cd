"""Linear-probe cost: training on cached features vs forwarding the frozen network every epoch.

Both train the same linear head (same init, batch order, optimiser, epochs) on the same images.
"cached" is what the engine does: one `features` pass over the images, then `fit_linear` on the
[N, D] matrix, extraction time included. "forwarding" is the reference's way: every minibatch of
every epoch runs the frozen network (no_grad, eval mode) before the head's step. It is given the
images already on the device and normalised there, so only the repeated forward pass is measured.
Forwarding is timed for --forward-epochs epochs and its cost per epoch projected to --epochs
(its epochs all cost the same: the same images through the same network).

    python benchmarks/probe_speed.py                                   # CPU, small_cnn
    python benchmarks/probe_speed.py --device cuda --arch resnet18 --n 50000 --epochs 200
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine import device as dev
from engine.features import compute
from engine.models import seeded_build
from engine.probes.linear import fit_linear


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def probe_by_forwarding(model, images, labels, num_classes, epochs, lr, batch_size, seed, device):
    """The same probe as `fit_linear`, but its inputs recomputed by the network every step."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        head = nn.Linear(model.feature_dim, num_classes)
    head = head.to(device)
    optimizer = torch.optim.Adam(head.parameters(), lr=lr)
    order = torch.Generator().manual_seed(seed)
    n = images.shape[0]
    model.eval()
    for _ in range(epochs):
        perm = torch.randperm(n, generator=order).to(device)
        for start in range(0, n, batch_size):
            idx = perm[start:start + batch_size]
            with torch.no_grad(), dev.autocast(device):
                feats = model.features(dev.normalise(images[idx])).float()
            loss = F.cross_entropy(head(feats), labels[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return head


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--arch", default="small_cnn")
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--n", type=int, default=4096)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--epochs", type=int, default=200, help="probe epochs (paper: 200)")
    p.add_argument("--forward-epochs", type=int, default=3, help="forwarding epochs actually run")
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads for torch (0 = torch's default); on a shared, busy CPU one "
                        "thread gives far steadier timings than oversubscribed ones")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    device = dev.resolve(args.device)
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.integers(0, 256, (args.n, 3, 32, 32), dtype=np.uint8)).to(device)
    labels = torch.from_numpy(rng.integers(0, args.classes, args.n)).to(device)
    model = dev.prepare(seeded_build({"arch": args.arch, "width": args.width,
                                      "num_classes": args.classes}, 0), device).eval()
    print(f"device={device} arch={args.arch} n={args.n} epochs={args.epochs} batch={args.batch_size}")

    compute(model, images[: args.batch_size], device)  # warm-up: cuDNN autotuning, allocations
    sync(device)
    start = time.perf_counter()
    feats = compute(model, images, device)
    sync(device)
    extract = time.perf_counter() - start
    fit_linear(feats, labels, args.classes, epochs=1, lr=1e-3, batch_size=args.batch_size,
               device=device)  # warm-up of the optimiser kernels
    sync(device)
    start = time.perf_counter()
    fit_linear(feats, labels, args.classes, epochs=args.epochs, lr=1e-3,
               batch_size=args.batch_size, device=device)
    sync(device)
    cached = extract + time.perf_counter() - start

    k = min(args.forward_epochs, args.epochs)
    start = time.perf_counter()
    probe_by_forwarding(model, images, labels, args.classes, k, 1e-3, args.batch_size, 0, device)
    sync(device)
    forwarding = (time.perf_counter() - start) / k * args.epochs

    print(f"cached features:   {cached:9.2f} s  (extraction {extract:.2f} s + {args.epochs} "
          f"probe epochs {cached - extract:.2f} s)")
    print(f"forwarding:        {forwarding:9.2f} s  ({k} epochs measured, "
          f"{forwarding / args.epochs:.3f} s/epoch, projected to {args.epochs})")
    print(f"speed-up:          {forwarding / cached:9.1f}x")


if __name__ == "__main__":
    main()
