"""The `finetune` job (paper App. C.2): probe, then fine-tune the whole model on n target samples.

First a linear head is fitted on the frozen features of the first `n_train` training samples
(its test accuracy is `linear_accuracy`); that head replaces the source head, and then every
weight is trained with the job's own optimiser and schedule by the same `engine.train.fit` that
trains source models. Starting from a fitted head (not a random one) keeps the first fine-tuning
steps from wrecking the features with gradients of a random classifier.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import torch

from dsl.job_configs import FinetuneConfig
from engine import augment as aug
from engine import device as dev
from engine.data import artifact
from engine.features import compute
from engine.jobs import Input, Metric, RunContext
from engine.models import load_trained
from engine.probes.linear import fit_linear, score
from engine.train import Hyper, evaluate, fit, labelled


def run(config: Mapping[str, Any], inputs: Mapping[str, Input], out_dir: Path,
        ctx: RunContext) -> list[Metric]:
    c = FinetuneConfig.parse(config)
    device = dev.resolve(ctx.device)
    model = load_trained(inputs["model"], device)
    data = artifact.load(inputs["data"].path)
    label = c.label
    num_classes = data.num_classes(label)
    tensors = {split: tuple(torch.from_numpy(a) for a in
                            labelled(data, split, label, c.n_train if split == "train" else None))
               for split in data.splits}
    train_x, train_y = tensors["train"]
    val_x, val_y = tensors.get("val", (train_x[:0], train_y[:0]))
    test_x, test_y = tensors.get("test", (train_x[:0], train_y[:0]))

    # 1. Linear probe on the frozen network: features computed once for these few samples.
    lin = c.linear
    head = fit_linear(compute(model, train_x, device), train_y, num_classes,
                      epochs=lin.epochs, lr=float(lin.lr), batch_size=lin.batch_size,
                      weight_decay=float(lin.weight_decay), seed=lin.seed, device=device,
                      lr_field="the finetune probe's linear_lr")
    linear = {split: score(head, compute(model, x, device), y)
              for split, (x, y) in (("val", (val_x, val_y)), ("test", (test_x, test_y)))
              if x.shape[0]}
    ctx.log("linear probe: " + " ".join(f"{s}={v[1]:.4f}" for s, v in linear.items()))

    # 2. The whole model, starting from the probed head.
    model.head = head
    hp = Hyper(optimizer=c.optimizer, lr=float(c.lr), weight_decay=float(c.weight_decay),
               momentum=c.momentum, schedule=c.schedule, epochs=c.epochs,
               batch_size=c.batch_size, checkpoint=c.CHECKPOINT, seed=c.seed)
    history = fit(model, train_x, train_y, val_x, val_y, hp, device, compile=ctx.compile,
                  log=ctx.log, what="fine-tuning", lr_field="the finetune probe's lr",
                  augment=aug.from_config(c))

    metrics = [Metric("linear_accuracy", split, acc) for split, (_, acc) in linear.items()]
    for split, (x, y) in (("val", (val_x, val_y)), ("test", (test_x, test_y))):
        if x.shape[0]:
            loss, acc = evaluate(model, x, y, device)
            metrics += [Metric("accuracy", split, acc), Metric("loss", split, loss)]
    history["linear"] = {s: {"loss": v[0], "accuracy": v[1]} for s, v in linear.items()}
    (Path(out_dir) / "history.json").write_text(json.dumps(history, indent=1))
    return metrics
