"""Images/s of the batched generator vs per-sample PIL/torchvision pipelines (the reference's way).

    python benchmarks/data_gen.py [--n 20000] [--device cpu|cuda] [--reference-n 1000]

All three make Transforms-2D images (32x32, 10 objects, procedural backgrounds) with the same six
transforms: translate, rotate, scale, hflip, hue, blur. Two per-sample baselines run on the same CPU:

- `reference`: built the way the public reference code builds a sample in its DataLoader workers:
  torchvision transform modules drawing from the global torch RNG (swapped for the dataset's own
  generator around every sample), scale and translate as pastes onto fresh transparent canvases,
  colour jitter on the RGB copy re-masked with the object's alpha, a final resize and paste on the
  background, then ToTensor and Normalize. This is the baseline the target ratio refers to.
- `lean PIL`: the same steps as direct PIL / torchvision.functional calls with Python's `random`,
  no transform modules, no RNG swaps and no float output: a lower bound for any per-sample
  pipeline, printed so the ratio is not read against a slow baseline only.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import time

import numpy as np
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as TF
from PIL import Image

from dsl.catalog import OBJECT_NAMES
from engine.data import generate
from engine.data.backgrounds import procedural
from engine.data.objects import object_bank
from engine.device import resolve

TFS = ["translate", "rotate", "scale", "hflip", "hue", "blur"]


def config(res: int) -> dict:
    return {"kind": "transforms2d", "objects": list(OBJECT_NAMES[:10]),
            "transforms": [{"name": t, "params": {}} for t in TFS], "resolution": res,
            "foregrounds": "openmoji", "backgrounds": "procedural", "object_size": 0.7}


def _pil_inputs(res: int):
    """The 10 objects as RGBA PIL images with their boxes (x, y, w, h), and the backgrounds."""
    bank = object_bank("openmoji", tuple(OBJECT_NAMES[:10]), res, 0.7)
    objects = [Image.fromarray((im.transpose(1, 2, 0) * 255).astype(np.uint8), "RGBA")
               for im in bank.images]
    boxes = [(round(res / 2 - hx), round(res / 2 - hy), round(2 * hx), round(2 * hy))
             for hx, hy in bank.half]
    backgrounds = [Image.fromarray(b.transpose(1, 2, 0)) for b in procedural(res)]
    return objects, boxes, backgrounds


@contextlib.contextmanager
def _own_rng(gen: torch.Generator):
    """Draw from `gen` through the global torch RNG, as the reference does around each sample."""
    saved = torch.random.get_rng_state()
    torch.random.set_rng_state(gen.get_state())
    try:
        yield
    finally:
        gen.set_state(torch.random.get_rng_state())
        torch.random.set_rng_state(saved)


def reference(n: int, res: int) -> float:
    """Per-sample transform modules, as the public reference code does it. Returns images/s."""
    objects, boxes, backgrounds = _pil_inputs(res)
    rotate, hflip = T.RandomRotation((0, 360)), T.RandomHorizontalFlip()
    hue, blur = T.ColorJitter(hue=0.5), T.GaussianBlur(7, sigma=(0.1, 1.5))
    to_input = T.Compose([T.ToTensor(), T.Normalize((0.5,) * 3, (0.5,) * 3)])
    gen, pick = torch.Generator().manual_seed(0), random.Random(0)
    start = time.perf_counter()
    out = []
    for _ in range(n):
        k = pick.randrange(len(objects))
        img, (bx, by, bw, bh) = objects[k], boxes[k]
        with _own_rng(gen):
            f = float(torch.rand(1).item()) * 0.6 + 0.4  # scale: shrink, centre on a new canvas
            side = int(round(res * f))
            canvas = Image.new("RGBA", (res, res), (0, 0, 0, 0))
            off = (res - side) // 2
            canvas.paste(img.resize((side, side)).convert("RGBA"), box=(off, off))
            bx, by, bw, bh = bx + off, by + off, int(round(bw * f)), int(round(bh * f))
            tx = int(torch.rand(1).item() * (res - bw))  # translate: the box to a new place
            ty = int(torch.rand(1).item() * (res - bh))
            moved = Image.new("RGBA", (res, res), (0, 0, 0, 0))
            moved.paste(canvas, box=(tx - bx, ty - by))
            img = hflip(rotate(moved))
            coloured = hue(img.convert("RGB"))  # photometric: on RGB, re-masked by alpha
            masked = Image.new("RGBA", (res, res), (0, 0, 0, 0))
            masked.paste(coloured, box=(0, 0), mask=img)
            img = blur(masked)
        bg = backgrounds[pick.randrange(len(backgrounds))].copy()
        fg = img.copy().resize((res, res), Image.BILINEAR)
        bg.paste(fg, box=(0, 0), mask=fg)
        out.append(to_input(bg).float())
    torch.stack(out)
    return n / (time.perf_counter() - start)


def lean_pil(n: int, res: int) -> float:
    """Per-sample PIL: rotate, scale, translate, flip, hue, blur, paste. Returns images/s."""
    objects, _, backgrounds = _pil_inputs(res)
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
                    help="alternate the measurements this many times; on a shared machine "
                         "the load changes between them, so the ratio is taken per round")
    args = ap.parse_args()
    res = args.resolution
    device = str(resolve(args.device))  # "cuda" without a GPU runs on the CPU, and says so
    if device != args.device:
        print(f"--device {args.device}: not available here, measuring on {device}")
    elif device.startswith("cuda"):
        print(f"GPU: {torch.cuda.get_device_name()}")
    batch = args.batch or (8192 if device == "cpu" else 1 << 18)
    print(f"{args.n} images {res}x{res} (reference {args.reference_n}), "
          f"transforms {', '.join(TFS)}, torch threads {torch.get_num_threads()}")
    ratios: dict[str, list[float]] = {"reference": [], "lean PIL": []}
    for k in range(max(1, args.rounds)):
        fast = ours(args.n, res, device, batch)
        line = f"round {k + 1}: batched generator ({device}) {fast:,.0f} images/s"
        if device == "cpu":
            for name, fn in (("reference", reference), ("lean PIL", lean_pil)):
                base = fn(args.reference_n, res)
                ratios[name].append(fast / base)
                line += f"; {name} {base:,.0f} images/s ({fast / base:.1f}x)"
        print(line)
    for name, rs in ratios.items():
        if rs:
            print(f"speed-up vs {name}: {statistics.median(rs):.1f}x (median of {len(rs)} "
                  f"rounds; range {min(rs):.1f}x-{max(rs):.1f}x)")


if __name__ == "__main__":
    main()
