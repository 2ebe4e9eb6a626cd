"""Images/s of the batched generator vs per-sample PIL/torchvision pipelines (the reference's way).

    python benchmarks/data_gen.py [--n 20000] [--reference-n 1000] [--procs N]
    python benchmarks/data_gen.py --device cuda [--chunks 16384,65536] [--profile]

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

A per-sample pipeline is single-threaded: it uses a CPU through worker processes, one per core.
So every side gets the same cores: the headline ratio runs each in `--procs` processes (default
one per core) with one torch thread each, and the per-core ratio runs each in one process on one
thread. The batched generator in one process with torch's intra-op threads is printed as well
(what a single `dsl` worker gets); comparing that with one single-threaded reference process
would credit the generator with the extra cores. The batched generator runs its per-pixel ops
through compiled kernels on a CPU (engine.data.kernels); one core also measures it with torch
ops only (the code a GPU runs), to show what the kernels add.

On a GPU only the batched generator runs (in this process): images/s for each `--chunks` size
(images rendered at once; the default is the engine's), and with `--profile` the CUDA kernels
that take the time in one chunk.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import random
import statistics
import time

import numpy as np
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as TF
from PIL import Image

from dsl.catalog import OBJECT_NAMES
from engine.data import generate, kernels
from engine.data.backgrounds import procedural
from engine.data.generation import default_chunk
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


class PerSample:
    """A per-sample pipeline: self(n) stacks n calls of self.sample()."""

    def __call__(self, n: int) -> torch.Tensor:
        return torch.stack([self.sample() for _ in range(n)])


class Reference(PerSample):
    """Per-sample transform modules, as the public reference code does it."""

    def __init__(self, res: int):
        self.res = res
        self.objects, self.boxes, self.backgrounds = _pil_inputs(res)
        self.rotate, self.hflip = T.RandomRotation((0, 360)), T.RandomHorizontalFlip()
        self.hue, self.blur = T.ColorJitter(hue=0.5), T.GaussianBlur(7, sigma=(0.1, 1.5))
        self.to_input = T.Compose([T.ToTensor(), T.Normalize((0.5,) * 3, (0.5,) * 3)])
        self.gen, self.pick = torch.Generator().manual_seed(0), random.Random(0)

    def sample(self) -> torch.Tensor:
        res, objects, pick = self.res, self.objects, self.pick
        k = pick.randrange(len(objects))
        img, (bx, by, bw, bh) = objects[k], self.boxes[k]
        with _own_rng(self.gen):
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
            img = self.hflip(self.rotate(moved))
            coloured = self.hue(img.convert("RGB"))  # photometric: on RGB, re-masked by alpha
            masked = Image.new("RGBA", (res, res), (0, 0, 0, 0))
            masked.paste(coloured, box=(0, 0), mask=img)
            img = self.blur(masked)
        bg = self.backgrounds[pick.randrange(len(self.backgrounds))].copy()
        fg = img.copy().resize((res, res), Image.BILINEAR)
        bg.paste(fg, box=(0, 0), mask=fg)
        return self.to_input(bg).float()


class LeanPil(PerSample):
    """Per-sample PIL: rotate, scale, translate, flip, hue, blur, paste."""

    def __init__(self, res: int):
        self.res = res
        self.objects, _, self.backgrounds = _pil_inputs(res)
        self.rng = random.Random(0)

    def sample(self) -> torch.Tensor:
        res, rng = self.res, self.rng
        im = self.objects[rng.randrange(len(self.objects))]
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
        bg = self.backgrounds[rng.randrange(len(self.backgrounds))].copy()
        bg.paste(canvas, (0, 0), canvas)
        return TF.pil_to_tensor(bg)


class Ours:
    """The batched generator: self(n) makes n images, `batch` per generate call."""

    def __init__(self, res: int, device: str, batch: int, start: int = 0,
                 chunk: int | None = None):
        self.cfg, self.device, self.batch, self.start = config(res), device, batch, start
        self.chunk = chunk
        generate(self.cfg, "train", np.arange(64), 0, device)  # warm-up: atlas, banks, kernels

    def __call__(self, n: int) -> None:
        for s in range(self.start, self.start + n, self.batch):
            generate(self.cfg, "train", torch.arange(s, min(self.start + n, s + self.batch)), 0,
                     self.device, chunk=self.chunk)
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()


def rate(make, n: int) -> float:
    """Images/s of make(n) in this process (after one small warm-up call)."""
    make(min(n, 16))
    start = time.perf_counter()
    make(n)
    return n / (time.perf_counter() - start)


def _worker(conn, barrier, rank: int, res: int, batch: int) -> None:
    """One process of a whole-CPU measurement: one torch thread, every pipeline built once."""
    torch.set_num_threads(1)
    made = {"ours": Ours(res, "cpu", batch, start=rank << 24), "reference": Reference(res),
            "lean PIL": LeanPil(res)}
    for make in made.values():
        make(16)
    conn.send("ready")
    while (job := conn.recv()) is not None:
        name, n = job
        barrier.wait()
        start = time.monotonic()  # CLOCK_MONOTONIC: the same clock in every process
        made[name](n)
        conn.send((start, time.monotonic()))


class Pool:
    """`procs` worker processes that run one pipeline at the same time, each on its own share.

    This is how a per-sample pipeline uses a whole CPU (DataLoader workers, one per core), and
    it is the fair way to give the batched generator the same cores: one torch thread per
    process, no intra-op threading."""

    def __init__(self, procs: int, res: int, batch: int):
        ctx = mp.get_context("spawn")
        barrier = ctx.Barrier(procs)
        self.conns, self.procs = [], []
        for rank in range(procs):
            mine, theirs = ctx.Pipe()
            p = ctx.Process(target=_worker, args=(theirs, barrier, rank, res, batch), daemon=True)
            p.start()
            self.conns.append(mine)
            self.procs.append(p)
        for c in self.conns:
            self._recv(c)

    @staticmethod
    def _recv(conn):
        try:
            return conn.recv()
        except EOFError:
            raise SystemExit("a benchmark worker process died (its traceback is above)") from None

    def rate(self, name: str, n_each: int) -> float:
        for c in self.conns:
            c.send((name, n_each))
        spans = [self._recv(c) for c in self.conns]
        return n_each * len(spans) / (max(e for _, e in spans) - min(s for s, _ in spans))

    def close(self) -> None:
        for c in self.conns:
            c.send(None)
        for p in self.procs:
            p.join(timeout=10)


def gpu(res: int, device: str, batch: int, args) -> None:
    """The batched generator alone on a GPU: images/s per chunk size, and the kernel profile."""
    chunks = args.chunks or [None]
    makers = {c: Ours(res, device, batch, chunk=c) for c in chunks}
    for k in range(max(1, args.rounds)):
        print(f"round {k + 1}: batched generator ({device}) " + ", ".join(
            f"chunk {c or 'default'}: {rate(make, args.n):,.0f} images/s"
            for c, make in makers.items()))
    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        one = makers[chunks[0]]
        n = one.chunk or default_chunk("cuda", res)
        one(n)
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            one(n)
        print(f"profile of {n:,} images (one chunk):")
        print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=25,
                                        max_name_column_width=60))


def _sizes(text: str) -> list[int]:
    """'16384,65536' -> [16384, 65536], or a usage error that says what was expected."""
    try:
        sizes = [int(c) for c in text.split(",") if c.strip()]
    except ValueError:
        sizes = [0]
    if any(c < 1 for c in sizes):
        raise argparse.ArgumentTypeError(
            f"'{text}': expected positive integers separated by commas, e.g. 16384,65536")
    return sizes


def cpu_header() -> str:
    """The CPU and what the compiled kernels target on it: ratios differ between machines by
    vector width and core, so every figure is quoted with this line."""
    from engine.environment import cpu_model

    model = cpu_model()
    try:
        import llvmlite.binding as llvm

        feats = llvm.get_host_cpu_features()
        widest = next((isa for isa in ("avx512f", "avx2", "avx", "sse4.2")
                       if feats.get(isa)), "baseline")
        target = f"numba target {llvm.get_host_cpu_name()}, widest vectors {widest}"
    except Exception as err:  # noqa: BLE001 - numba absent: the torch ops run
        target = f"compiled kernels unavailable ({type(err).__name__})"
    on = "on" if os.environ.get("DSL_CPU_KERNELS", "1") != "0" else "off (DSL_CPU_KERNELS=0)"
    return f"CPU: {model}, {os.cpu_count()} cores; kernels {on}, {target}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000, help="images per measurement of ours")
    ap.add_argument("--reference-n", type=int, default=1000,
                    help="images per process per measurement of the per-sample pipelines")
    ap.add_argument("--resolution", type=int, default=32)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--procs", type=int, default=os.cpu_count() or 1,
                    help="processes per whole-CPU measurement (default: one per core)")
    ap.add_argument("--chunks", type=_sizes, default=[],
                    help="GPU: comma-separated chunk sizes to compare (default: the engine's)")
    ap.add_argument("--profile", action="store_true",
                    help="GPU: print the CUDA kernels that take the time in one chunk")
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
    if device == "cpu":
        print(cpu_header())
    batch = args.batch or (8192 if device == "cpu" else 1 << 18)
    threads = torch.get_num_threads()
    print(f"{res}x{res} images, transforms {', '.join(TFS)}; ours {args.n} images per "
          f"measurement, the per-sample pipelines {args.reference_n} per process")
    if device != "cpu":
        gpu(res, device, batch, args)
        return
    procs = max(1, args.procs)
    ours, ref = Ours(res, "cpu", batch), Reference(res)
    pool = Pool(procs, res, batch)
    ratios: dict[str, list[float]] = {}
    try:
        for k in range(max(1, args.rounds)):
            # whole CPU: the same number of processes on each side
            whole = {name: pool.rate(name, n) for name, n in (
                ("ours", args.n // procs), ("reference", args.reference_n),
                ("lean PIL", args.reference_n))}
            # one core: one process, one thread on each side
            torch.set_num_threads(1)
            core = {"ours": rate(ours, args.n // procs), "reference": rate(ref, args.reference_n)}
            with kernels.torch_only():
                core["torch ops"] = rate(ours, args.n // procs)
            torch.set_num_threads(threads)
            one_process = rate(ours, args.n)
            for name, value in (("whole CPU vs reference", whole["ours"] / whole["reference"]),
                                ("whole CPU vs lean PIL", whole["ours"] / whole["lean PIL"]),
                                ("one core vs reference", core["ours"] / core["reference"])):
                ratios.setdefault(name, []).append(value)
            print(f"round {k + 1}: whole CPU ({procs} processes each): batched generator "
                  f"{whole['ours']:,.0f} images/s, reference {whole['reference']:,.0f} "
                  f"({whole['ours'] / whole['reference']:.1f}x), lean PIL "
                  f"{whole['lean PIL']:,.0f} ({whole['ours'] / whole['lean PIL']:.1f}x); "
                  f"one core: {core['ours']:,.0f} vs {core['reference']:,.0f} "
                  f"({core['ours'] / core['reference']:.1f}x; with torch ops only "
                  f"{core['torch ops']:,.0f}, {core['torch ops'] / core['reference']:.1f}x); "
                  f"one process with {threads} "
                  f"torch threads: {one_process:,.0f}")
    finally:
        pool.close()
    for name, rs in ratios.items():
        print(f"speed-up, {name}: {statistics.median(rs):.1f}x (median of {len(rs)} rounds; "
              f"range {min(rs):.1f}x-{max(rs):.1f}x)")


if __name__ == "__main__":
    main()
