"""Compiled CPU kernels (numba) for the per-pixel ops that dominate data generation on a CPU.

torch runs each of these as several passes over the whole batch (a 1,024-image chunk of float
RGBA is 16 MB, far past the caches), and the blur as dense [R, R] matrix products that do
R/7 times the arithmetic of its 7 taps. Here each op is one loop over the batch that finishes
one image (16 KB at 32x32, in L1) before it reads the next: the same arithmetic as the torch
ops in engine.data.transforms, in float32 and in the same order, so the pixels agree with the
torch path (which the GPU runs) to float rounding. benchmarks/data_gen.py measures the gain.

`active(x)` says whether a tensor goes through these kernels: a CPU float32 tensor, numba
importable, and not switched off (`DSL_CPU_KERNELS=0`, or `torch_only()` in tests and the
benchmark). Otherwise callers run their torch code. The kernels release the GIL, and a batch
is split over torch's intra-op thread count, so a process gets the cores torch would use.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

_state = threading.local()


def active(x: torch.Tensor) -> bool:
    """Whether ops on `x` run here rather than in torch."""
    if getattr(_state, "off", False) or os.environ.get("DSL_CPU_KERNELS", "1") == "0":
        return False
    return x.device.type == "cpu" and x.dtype == torch.float32 and _compiled() is not None


@contextlib.contextmanager
def torch_only():
    """Run the torch implementations on the CPU too (the reference the kernels must match)."""
    before = getattr(_state, "off", False)
    _state.off = True
    try:
        yield
    finally:
        _state.off = before


# ---------------------------------------------------------------- splitting a batch over threads
_pool: dict = {}
_MIN_SHARE = 32  # images per thread below which splitting costs more than it gains


def _spread(kernel, n: int, *args) -> None:
    """kernel(*args, lo, hi) over [0, n), in torch.get_num_threads() pieces run side by side."""
    threads = min(torch.get_num_threads(), max(1, n // _MIN_SHARE))
    if threads <= 1:
        kernel(*args, 0, n)
        return
    pool = _pool.get((os.getpid(), threads))  # a forked child has none of its parent's threads
    if pool is None:
        pool = _pool[os.getpid(), threads] = ThreadPoolExecutor(threads,
                                                                thread_name_prefix="dsl-kernel")
    bounds = np.linspace(0, n, threads + 1).astype(int)
    jobs = [pool.submit(kernel, *args, int(lo), int(hi)) for lo, hi in zip(bounds, bounds[1:])]
    for job in jobs:
        job.result()


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().contiguous().numpy()


# ---------------------------------------------------------------- the ops
def blur(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Every channel of x[i] blurred with the 1-D kernel k[i] along rows, then columns, with
    reflected borders (transforms._separable)."""
    x = x.contiguous()
    out = torch.empty_like(x)
    _spread(_compiled().blur, x.shape[0], _np(x), _np(k.float()), out.numpy())
    return out


def rotate_hue(x: torch.Tensor, shift6: torch.Tensor) -> torch.Tensor:
    """x's premultiplied colour with HSV hue + shift6[i] / 6 turns, in place, where alpha > 0
    (transforms._rotate_hue; transparent premultiplied pixels are 0 and stay 0)."""
    _spread(_compiled().rotate_hue, x.shape[0], x.numpy(), _np(shift6.float()))
    return x


def affine_sample(x: torch.Tensor, inv: torch.Tensor, shift: torch.Tensor,
                  nearest: bool) -> torch.Tensor:
    """grid_sample(x, grid) for the affine grid (p @ inv^T + shift) at pixel centres p, zeros
    outside, align_corners=False (transforms._affine_grid followed by F.grid_sample)."""
    x = x.contiguous()
    out = torch.empty_like(x)
    _spread(_compiled().affine_sample, x.shape[0], _np(x), _np(inv.float()),
            _np(shift.float()), bool(nearest), out.numpy())
    return out


def over_opaque(top: torch.Tensor, bank: torch.Tensor, which: torch.Tensor,
                scale: float) -> torch.Tensor:
    """Premultiplied `top` over opaque bank[which[i]] * scale, in place; alpha becomes 1."""
    _spread(_compiled().over_opaque, top.shape[0], top.numpy(), _np(bank),
            _np(which.to(torch.int64)), np.float32(scale))
    return top


def to_uint8(rgba: torch.Tensor) -> torch.Tensor:
    """Colour times alpha (if any), quantised: trunc(clamp(255 * rgb * alpha + 0.5, 0, 255))."""
    rgba = rgba.contiguous()
    b, c, h, w = rgba.shape
    out = torch.empty((b, 3, h, w), dtype=torch.uint8)
    _spread(_compiled().to_uint8, b, rgba.numpy(), out.numpy())
    return out


# ---------------------------------------------------------------- the compiled loops
@functools.cache
def _compiled():
    """The module of loops (each compiled on its first call, then cached on disk by numba), or
    None where numba cannot be imported or finds nowhere to keep its cache: then torch does
    everything, a little slower, and says so once."""
    try:
        from engine.data import kernel_loops
    except (ImportError, RuntimeError) as err:  # pragma: no cover - numba is a pinned dependency
        warnings.warn(f"compiled CPU kernels unavailable ({err}); data generation uses torch ops",
                      RuntimeWarning, stacklevel=2)
        return None
    return kernel_loops
