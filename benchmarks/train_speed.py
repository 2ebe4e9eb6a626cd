"""Training throughput: the engine's `fit` vs the straightforward PyTorch loop of the reference.

The baseline is written here the way the reference code trains: a Dataset of per-sample PIL
images, torchvision ToTensor + Normalize per sample in DataLoader workers, float32, NCHW. The
engine keeps the uint8 dataset on the device, gathers batches by index, normalises on the device
and (on GPU) runs bf16 + channels_last (+ torch.compile with CUDA graphs, with --compile). Same
model, same optimiser, same batch size, same machine. The first epoch of each is a warm-up (cuDNN
autotuning, compilation, worker start) and is not timed.

    python benchmarks/train_speed.py                                  # CPU, small_cnn
    python benchmarks/train_speed.py --device cuda --arch resnet18 --n 50000 --compile

With `--augment` (default: the "standard" preset, crop + flip) the engine trains a second time
with online augmentation (engine.augment), and the script prints images/s with and without it,
measured in the same run; `--augment none` skips that case.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from dsl.catalog import AUGMENT_PRESETS
from engine import device as dev
from engine.augment import Augment
from engine.models import seeded_build
from engine.train import Hyper, Schedule, fit


class PILImages(Dataset):
    """The reference's way: one PIL image per sample, converted and normalised on access."""

    def __init__(self, images: np.ndarray, labels: np.ndarray):
        self.images = [Image.fromarray(im.transpose(1, 2, 0)) for im in images]
        self.labels = labels
        self.to_tensor = transforms.Compose([transforms.ToTensor(),
                                             transforms.Normalize((0.5,) * 3, (0.5,) * 3)])

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i):
        return self.to_tensor(self.images[i]), int(self.labels[i])


def baseline(model, images, labels, epochs, batch_size, workers, device) -> float:
    """Images per second of a plain DataLoader training loop, epochs after the first."""
    loader = DataLoader(PILImages(images, labels), batch_size=batch_size, shuffle=True,
                        num_workers=workers, pin_memory=device.type == "cuda", drop_last=True)
    model = model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    timed_images, timed_seconds = 0, 0.0
    for epoch in range(epochs):
        start, seen = time.perf_counter(), 0
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            seen += y.shape[0]
        if device.type == "cuda":
            torch.cuda.synchronize()
        if epoch > 0:
            timed_images += seen
            timed_seconds += time.perf_counter() - start
    return timed_images / timed_seconds


def engine(model, images, labels, epochs, batch_size, device, compile, augment=None
           ) -> tuple[float, float, list[float]]:
    """Images per second of `engine.train.fit`, epochs after the first (each epoch syncs once),
    the wall seconds of the whole call (data to the device, compilation, every epoch), and each
    epoch's seconds."""
    hp = Hyper(optimizer="adam", lr=1e-3, weight_decay=0.0, momentum=0.9,
               schedule=Schedule("constant", 0, 0.0), epochs=epochs, batch_size=batch_size,
               checkpoint="last", seed=0)
    x, y = torch.from_numpy(images), torch.from_numpy(labels)
    start = time.perf_counter()
    history = fit(model, x, y, x[:0], y[:0], hp, device, compile=compile, augment=augment)
    wall = time.perf_counter() - start
    timed = history["epochs"][1:]
    return len(timed) * history["steps_per_epoch"] * history["batch_size"] / sum(
        e["seconds"] for e in timed), wall, [e["seconds"] for e in history["epochs"]]


def augment_case(args, cfg, images, labels, device, names, fast) -> None:
    """Training with and without online augmentation, alternated `--rounds` times (on a shared
    CPU the load drifts between runs; alternating and taking medians keeps the ratio honest),
    and the augmentation alone on training batches."""
    plain, augmented = [fast], []
    for r in range(args.rounds):
        if r:
            plain.append(engine(seeded_build(cfg, 0), images, labels, args.epochs,
                                args.batch_size, device, args.compile)[0])
        augmented.append(engine(seeded_build(cfg, 0), images, labels, args.epochs,
                                args.batch_size, device, args.compile, Augment(names, seed=0))[0])
    with_aug, without = float(np.median(augmented)), float(np.median(plain))
    print(f"online augmentation ({', '.join(names)}), median of {args.rounds} alternated "
          f"round(s):")
    print(f"  engine fit without: {without:10.0f} images/s")
    print(f"  engine fit with:    {with_aug:10.0f} images/s ({with_aug / without:.2f}x)")
    aug = Augment(names, seed=0)
    x = torch.from_numpy(images[:args.batch_size]).to(device)
    aug(x, 0, 0)  # warm-up: compiled CPU kernels, CUDA context
    steps = max(1, args.n // args.batch_size)
    start = time.perf_counter()
    for step in range(steps):
        out = aug(x, 1, step)
    if device.type == "cuda":
        torch.cuda.synchronize()
    del out
    print(f"  augmentation alone: {steps * x.shape[0] / (time.perf_counter() - start):10.0f} "
          f"images/s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--arch", default="small_cnn")
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--n", type=int, default=4096, help="training images")
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--epochs", type=int, default=3, help="including one untimed warm-up epoch")
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--workers", type=int, default=2, help="DataLoader workers of the baseline")
    p.add_argument("--compile", nargs="?", const=True, default=False, metavar="MODE",
                   choices=["default", "reduce-overhead", "max-autotune",
                            "max-autotune-no-cudagraphs"],
                   help="torch.compile in the engine (GPU); alone, the engine's choice "
                        "(reduce-overhead: CUDA graphs), or one of {%(choices)s}")
    p.add_argument("--augment", default="standard",
                   help="comma-separated transforms or presets for the augmentation case "
                        "(default: standard = crop + hflip); 'none' skips it")
    p.add_argument("--rounds", type=int, default=1,
                   help="alternated with/without-augmentation trainings (medians are printed)")
    p.add_argument("--skip-baseline", action="store_true")
    p.add_argument("--per-epoch", action="store_true", help="print every epoch's seconds")
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads for torch (0 = torch's default); on a shared, busy CPU one "
                        "thread gives far steadier timings than oversubscribed ones")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    device = dev.resolve(args.device)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.n, 3, args.resolution, args.resolution), dtype=np.uint8)
    labels = rng.integers(0, 10, args.n).astype(np.int64)
    cfg = {"arch": args.arch, "width": args.width, "num_classes": 10}
    print(f"device={device} ({torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu'}) "
          f"arch={args.arch} width={args.width} n={args.n} batch={args.batch_size} "
          f"epochs={args.epochs} (first untimed)")

    fast, wall, epoch_seconds = engine(seeded_build(cfg, 0), images, labels, args.epochs,
                                       args.batch_size, device, args.compile)
    print(f"engine fit:          {fast:10.0f} images/s")
    print(f"  one 50-epoch x 50k-image run at that rate: {50 * 50_000 / fast:8.1f} s")
    print(f"  this whole fit ({args.epochs} epochs x {args.n} images, warm-up epoch and "
          f"compilation included): {wall:.1f} s")
    if args.per_epoch:
        print("  seconds per epoch: " + " ".join(f"{t:.2f}" for t in epoch_seconds))
    names = [n for item in args.augment.split(",") if item.strip() not in ("", "none")
             for n in AUGMENT_PRESETS.get(item.strip(), (item.strip(),))]
    if names:
        augment_case(args, cfg, images, labels, device, names, fast)
    if not args.skip_baseline:
        slow = baseline(seeded_build(cfg, 0), images, labels, args.epochs, args.batch_size,
                        args.workers, device)
        print(f"PIL + DataLoader:    {slow:10.0f} images/s")
        print(f"speed-up:            {fast / slow:10.1f}x")


if __name__ == "__main__":
    main()
