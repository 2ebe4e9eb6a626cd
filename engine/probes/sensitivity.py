"""The `sensitivity` job: Eq. 1 of the paper, how much a representation moves under a transform.

    s(f, T) = E ||f(x1) - f(x2)|| / E ||f(xa) - f(xb)||

(x1, x2) share object and background and differ only in the varied part (a transform's draw, or a
composite's component); (xa, xb) are independent samples, so the ratio is the pair distance in
units of the typical distance between images. f is the penultimate representation, eval mode.
Lower means more invariant; around 1 means the variation moves f as much as a new image does.

The independent samples are the pairs' own images: (xa, xb) ranges over every (x1[i], x2[j]) of two
different test samples, n(n-1) distances from the 2n forward passes the pairs need anyway (the
reference implementation also drew them from its pairs, by a permutation): half the forward passes
of rendering separate independent images, for a denominator at least as steady
(benchmarks/sensitivity_cost.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import torch

from dsl.errors import DslError
from dsl.job_configs import SensitivityConfig
from engine import device as dev
from engine.jobs import Input, Metric, RunContext
from engine.models import load_frozen


@torch.no_grad()
def sensitivity(model: torch.nn.Module, x1: torch.Tensor, x2: torch.Tensor,
                index: torch.Tensor | None = None, device: torch.device | str = "cpu",
                batch_size: int = 1024) -> dict[str, float]:
    """Eq. 1 over uint8 image pairs: {"sensitivity", "pair_distance", "independent_distance"}.

    `index` [n] names the sample each pair shows (None: n different samples); independent pairs
    are x1[i], x2[j] with index[i] != index[j].
    """
    device = dev.resolve(device)
    n = x1.shape[0]
    if x1.shape != x2.shape or n == 0 or (index is not None and index.shape != (n,)):
        raise DslError(f"sensitivity needs non-empty pairs of equal shape, got "
                       f"{tuple(x1.shape)}/{tuple(x2.shape)}"
                       + ("" if index is None else f" with index {tuple(index.shape)}"))
    model.eval()
    f1, f2 = (dev.map_batches(model.features, x, device, batch_size).double() for x in (x1, x2))
    pair = (f1 - f2).norm(dim=1).mean().item()
    independent = _independent_distance(f1, f2, index)
    if independent == 0.0:
        # A collapsed representation maps every image to one point: the ratio is undefined.
        raise DslError("sensitivity is undefined: independent samples have identical features "
                       "(a collapsed model?)")
    return {"sensitivity": pair / independent, "pair_distance": pair,
            "independent_distance": independent}


_BLOCK = 1 << 22  # distances per cdist call: 32 MiB of float64 (10,000 pairs: 419 rows a call)


def _independent_distance(f1: torch.Tensor, f2: torch.Tensor,
                          index: torch.Tensor | None) -> float:
    """Mean ||f1[i] - f2[j]|| over i, j of different samples, in row blocks of bounded memory."""
    n = f1.shape[0]
    sample = (torch.arange(n) if index is None else index).to(f1.device)
    total, count = 0.0, 0
    rows = max(1, _BLOCK // n)
    for lo in range(0, n, rows):
        d = torch.cdist(f1[lo:lo + rows], f2)
        other = sample[lo:lo + rows, None] != sample[None, :]
        total += d[other].sum().item()
        count += int(other.sum().item())
    if count == 0:
        raise DslError(f"sensitivity needs pairs of at least two different samples; all {n} "
                       "show the same one (raise `pairs`, or use a larger test split)")
    return total / count


def run(config: Mapping[str, Any], inputs: Mapping[str, Input], out_dir: Path,
        ctx: RunContext) -> list[Metric]:
    from engine.data import sensitivity_pairs  # the data engine draws the pairs

    c = SensitivityConfig.parse(config)
    device = dev.resolve(ctx.device)
    model = load_frozen(inputs["model"], device)
    pairs = sensitivity_pairs(c.data, c.vary.to_config(), c.pairs, c.seed, device,
                              data_root=ctx.data_root)
    values = sensitivity(model, *pairs, device=device)
    ctx.log(" ".join(f"{k}={v:.4f}" for k, v in values.items()))
    return [Metric(name, None, value) for name, value in values.items()]
