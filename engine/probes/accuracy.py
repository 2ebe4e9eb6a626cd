"""The `accuracy` job: the source model's own head on a dataset's splits.

Used where source and probe task share the label space (e.g. how a model trained on one
transform set fares on another), with no new training at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import torch

from dsl.errors import DslError
from dsl.job_configs import AccuracyConfig
from engine import device as dev
from engine.data import artifact
from engine.jobs import Input, Metric, RunContext
from engine.models import load_frozen
from engine.train import evaluate, labelled


def run(config: Mapping[str, Any], inputs: Mapping[str, Input], out_dir: Path,
        ctx: RunContext) -> list[Metric]:
    c = AccuracyConfig.parse(config)
    device = dev.resolve(ctx.device)
    model = load_frozen(inputs["model"], device)
    data = artifact.load(inputs["data"].path)
    label = c.label
    n_model = int(inputs["model"].config["model"]["num_classes"])
    if data.num_classes(label) != n_model:
        raise DslError(f"accuracy probe: the model predicts {n_model} classes but the dataset's "
                       f"label '{label}' has {data.num_classes(label)}")
    metrics = []
    for split in c.splits:
        x, y = labelled(data, split, label)
        if len(y) == 0:
            ctx.log(f"accuracy: split '{split}' is empty, no metric")
            continue
        loss, acc = evaluate(model, torch.from_numpy(x), torch.from_numpy(y), device)
        metrics.append(Metric("accuracy", split, acc))
        ctx.log(f"accuracy@{split}={acc:.4f} loss={loss:.4f}")
    return metrics
