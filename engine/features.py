"""The `features` job: a trained model's penultimate representation of every sample, computed once.

Linear probes then train on these cached float32 arrays instead of forwarding the frozen network
every epoch (the reference's cost: 200 forward passes of the dataset per probe, here one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import torch

from dsl.job_configs import FeaturesConfig
from engine import device as dev
from engine.data import artifact
from engine.divergence import check_finite
from engine.jobs import Input, Metric, RunContext
from engine.models import load_frozen


def compute(model: torch.nn.Module, images, device: torch.device,
            batch_size: int = 1024) -> torch.Tensor:
    """float32 features [N, D] on `device` of uint8 images (numpy or tensor), model in eval mode."""
    x = images if isinstance(images, torch.Tensor) else torch.from_numpy(images)
    model.eval()
    return dev.map_batches(model.features, x, device, batch_size)


def run(config: Mapping[str, Any], inputs: Mapping[str, Input], out_dir: Path,
        ctx: RunContext) -> list[Metric]:
    FeaturesConfig.parse(config)  # the model is the trained input's; its config says the same
    device = dev.resolve(ctx.device)
    model = load_frozen(inputs["model"], device)
    data = artifact.load(inputs["data"].path)
    splits = {}
    for name, split in data.splits.items():
        # Features of every sample (labels -1 included): the probe decides what it trains on.
        feats = compute(model, torch.from_numpy(split.x.copy()), device)
        check_finite(f"the model's {name} features", feats,
                     f"the model ({inputs['model'].id}) diverged; train it with a lower learning rate")
        feats = feats.cpu().numpy()
        splits[name] = artifact.Split(feats, {k: v.copy() for k, v in split.labels.items()})
        ctx.log(f"features {name}: {feats.shape}")
    artifact.save(Path(out_dir), splits, data.meta["labels"], array_name="features",
                  extra_meta={"feature_dim": int(model.feature_dim)})
    return []

