"""Images/s of the batched generator vs a per-sample PIL/torchvision pipeline (the reference's way).

    python benchmarks/data_gen.py [--n 20000] [--device cpu|cuda] [--reference-n 1000]

Both make Transforms-2D images (32x32, 10 objects, procedural backgrounds) with the same six
transforms: translate, rotate, scale, hflip, hue, blur. The reference draws parameters with a
sequential RNG and transforms one PIL image at a time, as the public code does in its workers.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import numpy as np
import torch
import torchvision.transforms.functional as TF
from PIL import Image

from dsl.catalog import OBJECT_NAMES
from engine.data import generate
from engine.data.backgrounds import procedural
from engine.data.objects import object_bank

TFS = ["translate", "rotate", "scale", "hflip", "hue", "blur"]


def config(res: int) -> dict:
    return {"kind": "transforms2d", "objects": list(OBJECT_NAMES[:10]),
            "transforms": [{"name": t, "params": {}} for t in TFS], "resolution": res,
            "foregrounds": "openmoji", "backgrounds": "procedural", "object_size": 0.7}


def reference(n: int, res: int) -> float:
    """Per-sample PIL: rotate, scale, translate, flip, hue, blur, paste. Returns images/s."""
    bank = object_bank("openmoji", tuple(OBJECT_NAMES[:10]), res, 0.7)
    objects = [Image.fromarray((im.transpose(1, 2, 0) * 255).astype(np.uint8), "RGBA")
               for im in bank.images]
    backgrounds = [Image.fromarray(b.transpose(1, 2, 0)) for b in procedural(res)]
    rng = random.Random(0)
    start = time.perf_counter()
    out = []
    for _ in range(n):
        im = objects[rng.randrange(len(objects))]
        im = im.rotate(rng.uniform(0, 360), resample=Image.NEAREST)
        s = rng.uniform(0.4, 1.0)
        small = im.resize((max(1, round(res * s)),) * 2, Image.BILINEAR)
        canvas = Image.new("RGBA", (res, res))
        room = res - small.size[0]
        canvas.paste(small, (rng.randint(0, room), rng.randint(0, room)))
        if rng.random() < 0.5:
            canvas = TF.hflip(canvas)
        rgb, alpha = canvas.convert("RGB"), canvas.getchannel("A")
        rgb = TF.adjust_hue(rgb, rng.uniform(-0.5, 0.5))
        canvas = Image.merge("RGBA", (*rgb.split(), alpha))
        canvas = TF.gaussian_blur(canvas, 7, rng.uniform(0.1, 1.5))
        bg = backgrounds[rng.randrange(len(backgrounds))].copy()
        bg.paste(canvas, (0, 0), canvas)
        out.append(TF.pil_to_tensor(bg))
    torch.stack(out)
    return n / (time.perf_counter() - start)


def ours(n: int, res: int, device: str, batch: int) -> float:
    cfg = config(res)
    generate(cfg, "train", np.arange(64), 0, device)  # warm-up: atlas, banks, kernels
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    for s in range(0, n, batch):
        x, _ = generate(cfg, "train", torch.arange(s, min(n, s + batch)), 0, device)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return n / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--reference-n", type=int, default=1000)
    ap.add_argument("--resolution", type=int, default=32)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternate the two measurements this many times; on a shared machine "
                         "the load changes between them, so the ratio is taken per round")
    args = ap.parse_args()
    res = args.resolution
    batch = args.batch or (8192 if args.device == "cpu" else 1 << 18)
    print(f"{args.n} images {res}x{res} (reference {args.reference_n}), "
          f"transforms {', '.join(TFS)}, torch threads {torch.get_num_threads()}")
    ratios = []
    for k in range(max(1, args.rounds)):
        fast = ours(args.n, res, args.device, batch)
        line = f"round {k + 1}: batched generator ({args.device}) {fast:,.0f} images/s"
        if args.device == "cpu":
            ref = reference(args.reference_n, res)
            ratios.append(fast / ref)
            line += f"; per-sample PIL reference (cpu) {ref:,.0f} images/s; {fast / ref:.1f}x"
        print(line)
    if ratios:
        print(f"speed-up: {statistics.median(ratios):.1f}x (median of {len(ratios)} rounds; "
              f"range {min(ratios):.1f}x-{max(ratios):.1f}x)")


if __name__ == "__main__":
    main()
