"""The `sensitivity` job: Eq. 1 of the paper, how much a representation moves under a transform.

    s(f, T) = E ||f(x1) - f(x2)|| / E ||f(xa) - f(xb)||

(x1, x2) share object and background and differ only in the varied part (a transform's draw, or a
composite's component); (xa, xb) are independent samples, so the ratio is the pair distance in
units of the typical distance between images. f is the penultimate representation, eval mode.
Lower means more invariant; around 1 means the variation moves f as much as a new image does.
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
def sensitivity(model: torch.nn.Module, x1: torch.Tensor, x2: torch.Tensor, xa: torch.Tensor,
                xb: torch.Tensor, device: torch.device | str = "cpu",
                batch_size: int = 1024) -> dict[str, float]:
    """Eq. 1 over uint8 image pairs: {"sensitivity", "pair_distance", "independent_distance"}."""
    device = dev.resolve(device)
    if not (x1.shape == x2.shape and xa.shape == xb.shape) or x1.shape[0] == 0 or xa.shape[0] == 0:
        raise DslError(f"sensitivity needs non-empty pairs of equal shape, got "
                       f"{tuple(x1.shape)}/{tuple(x2.shape)} and {tuple(xa.shape)}/{tuple(xb.shape)}")
    model.eval()

    def f(x):
        return dev.map_batches(model.features, x, device, batch_size)

    pair = (f(x1) - f(x2)).norm(dim=1).mean().item()
    independent = (f(xa) - f(xb)).norm(dim=1).mean().item()
    if independent == 0.0:
        # A collapsed representation maps every image to one point: the ratio is undefined.
        raise DslError("sensitivity is undefined: independent samples have identical features "
                       "(a collapsed model?)")
    return {"sensitivity": pair / independent, "pair_distance": pair,
            "independent_distance": independent}


def run(config: Mapping[str, Any], inputs: Mapping[str, Input], out_dir: Path,
        ctx: RunContext) -> list[Metric]:
    from engine.data import sensitivity_pairs  # the data engine draws the pairs

    c = SensitivityConfig.parse(config)
    device = dev.resolve(ctx.device)
    model = load_frozen(inputs["model"], device)
    x1, x2, xa, xb = sensitivity_pairs(c.data, c.vary.to_config(), c.pairs, c.seed, device,
                                       data_root=ctx.data_root)
    values = sensitivity(model, x1, x2, xa, xb, device)
    ctx.log(" ".join(f"{k}={v:.4f}" for k, v in values.items()))
    return [Metric(name, None, value) for name, value in values.items()]
