"""The `train` job: a source model trained on one label of a dataset artifact.

`fit` is the whole training procedure in one function, top to bottom, so a researcher can audit it
in one sitting (airbench style). Everything it does is decided by the resolved config (docs/jobs.md);
the only freedom the engine takes is *how fast* it runs: on a GPU the uint8 dataset sits in GPU
memory, batches are index permutations into it, normalisation happens on the device, and the
forward/backward run in bf16 (optionally torch.compile with CUDA graphs); on CPU the same code runs
in float32. Both use channels_last, the layout cuDNN's and oneDNN's fastest convolutions want.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dsl.errors import DslError
from dsl.job_configs import ScheduleConfig, TrainConfig
from engine import augment as aug
from engine import compiled
from engine import device as dev
from engine.data import artifact
from engine.divergence import LossWatch, check_weights
from engine.jobs import Input, Metric, RunContext
from engine.models import CHECKPOINT, seeded_build


# ---------------------------------------------------------------------------------------------
# Hyper-parameters: plain data from the config, nothing else decides how training goes. Every
# value comes from a typed job config (dsl.job_configs): the defaults are the spec's, not here.

Schedule = ScheduleConfig  # name, warmup_epochs, final_lr


@dataclass(frozen=True)
class Hyper:
    optimizer: str  # adam | adamw | sgd
    lr: float
    weight_decay: float
    momentum: float  # sgd only
    schedule: Schedule
    epochs: int
    batch_size: int
    checkpoint: str  # last | best_val
    seed: int

    @classmethod
    def from_train_config(cls, config: TrainConfig | Mapping[str, Any]) -> "Hyper":
        c = config if isinstance(config, TrainConfig) else TrainConfig.parse(config)
        opt = c.optimizer
        return cls(optimizer=opt.name, lr=float(opt.lr), weight_decay=float(opt.weight_decay),
                   momentum=float(opt.momentum), schedule=c.schedule, epochs=c.epochs,
                   batch_size=c.batch_size, checkpoint=c.checkpoint, seed=c.seed)


def lr_at(step: int, total_steps: int, steps_per_epoch: int, lr: float, schedule: Schedule) -> float:
    """The learning rate of optimisation step `step` (0-based) out of `total_steps`.

    Warm-up rises linearly to `lr`, reaching it at the end of the warm-up (step w-1), so the first
    step is small but not wasted at zero. After warm-up, cosine and linear move from `lr` to
    `final_lr` and reach it exactly at the LAST step (total_steps - 1): the decay spans the whole
    run (the reference's fine-tuning hit 0 after 5 of 50 epochs; that is the defect avoided here).
    """
    warmup = min(int(round(schedule.warmup_epochs * steps_per_epoch)), total_steps)
    if step < warmup:
        return lr * (step + 1) / warmup
    if schedule.name == "constant":
        return lr
    span = total_steps - 1 - warmup
    t = 1.0 if span <= 0 else (step - warmup) / span
    if schedule.name == "cosine":
        return schedule.final_lr + (lr - schedule.final_lr) * 0.5 * (1.0 + math.cos(math.pi * t))
    if schedule.name == "linear":
        return lr + (schedule.final_lr - lr) * t
    raise DslError(f"unknown lr schedule '{schedule.name}' (constant, cosine, linear)")


def make_optimizer(name: str, params, lr: float, weight_decay: float, momentum: float,
                   device: torch.device) -> torch.optim.Optimizer:
    # fused kernels update every parameter in one launch on GPU; they do not exist everywhere on CPU.
    fused = {"fused": True} if dev.is_cuda(device) else {}
    if name == "adam":  # L2 added to the gradient, as torch.optim.Adam and the paper do
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, **fused)
    if name == "adamw":  # decoupled weight decay
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, **fused)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay,
                               nesterov=momentum > 0)
    raise DslError(f"unknown optimizer '{name}' (adam, adamw, sgd)")


# ---------------------------------------------------------------------------------------------
# Evaluation: loss and accuracy of a classifier over uint8 images, batched, in eval mode.

@torch.no_grad()
def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, device: torch.device,
             batch_size: int = 1024) -> tuple[float, float]:
    """(mean cross-entropy, accuracy); (nan, nan) on an empty split."""
    if images.shape[0] == 0:
        return float("nan"), float("nan")
    was_training = model.training
    model.eval()
    logits = dev.map_batches(model, images, device, batch_size)
    model.train(was_training)
    labels = labels.to(logits.device)
    loss = F.cross_entropy(logits, labels).item()
    acc = (logits.argmax(1) == labels).float().mean().item()
    return loss, acc


def labelled(data: artifact.Arrays, split: str, label: str, n: int | None = None,
             ) -> tuple[np.ndarray, np.ndarray]:
    """(images or features, labels) of a split, first `n` samples, without unlabelled (-1) ones.

    A composite with availability < 1 marks absent objects with -1: such samples have no class
    for this label, so they are left out rather than given a wrong one.
    """
    if split not in data.splits:
        raise DslError(f"the dataset has no '{split}' split")
    s = data.splits[split]
    if label not in s.labels:
        raise DslError(f"the dataset has no label '{label}' (it has: {', '.join(s.labels)})")
    x, y = s.x, np.asarray(s.labels[label])
    if n is not None:
        x, y = x[:n], y[:n]
    # A real copy (not a view of the memory map): torch needs writable memory, and the copy is
    # made once per job, not per epoch.
    x, y = np.array(x), np.array(y, dtype=np.int64)
    keep = y >= 0
    if not keep.all():
        x, y = x[keep], y[keep]
    return x, y


# ---------------------------------------------------------------------------------------------
# The training function.

def fit(model: nn.Module, train_x: torch.Tensor, train_y: torch.Tensor, val_x: torch.Tensor,
        val_y: torch.Tensor, hp: Hyper, device: torch.device, compile: bool | str = False,
        log: Callable[[str], None] = lambda m: None, *, what: str = "training",
        lr_field: str = "train.lr",
        augment: Callable[[torch.Tensor, int, int], torch.Tensor] | None = None) -> dict:
    """Train `model` in place on uint8 images and int64 labels; return the history.

    `augment(batch, epoch, step)` (engine.augment) transforms every uint8 training batch afresh.

    With checkpoint "best_val" the model ends with the weights of the epoch of highest val
    accuracy (earliest on ties); with "last", those after the final epoch. A run that diverges
    (engine.divergence: a non-finite loss, or a final loss far above the initial one) raises
    `Diverged`, naming `what` and the config field `lr_field` to lower.
    """
    device = dev.resolve(device)
    n = int(train_x.shape[0])
    if n == 0:
        raise DslError("cannot train on an empty training split")
    has_val = val_x.shape[0] > 0
    if hp.checkpoint == "best_val" and not has_val:
        raise DslError("checkpoint 'best_val' needs a non-empty val split")
    if hp.checkpoint not in ("last", "best_val"):
        raise DslError(f"unknown checkpoint '{hp.checkpoint}' (last, best_val)")

    # The whole dataset lives on the device as uint8: 50k CIFAR-size images are 150 MB, and a
    # batch is then an index gather, with no DataLoader, worker processes or per-step copies.
    train_x, train_y = train_x.to(device), train_y.to(device)
    val_x, val_y = val_x.to(device), val_y.to(device)
    model = dev.prepare(model, device)

    # Fixed-size batches: a ragged last batch would recompile a compiled model, and a batch of one
    # breaks BatchNorm. A dataset smaller than a batch is one full-dataset batch per epoch.
    batch_size = min(hp.batch_size, n)
    # Compiling: "reduce-overhead" (CUDA graphs), since a CIFAR-size step is bound by kernel
    # launches, and replaying graphs made ResNet-18 at batch 512 train at 78k images/s on an
    # H200, vs 53k with the default mode and 45k eager (benchmarks/train_speed.py); "auto" does
    # so only where it pays (engine.compiled). A worker keeps compiled graphs: a later job of
    # the same shape trains the kept module (given this model's weights) without compiling.
    original, net = model, model
    mode = compiled.mode_for(compile, device, hp.epochs * n)
    if mode is not None:
        key = compiled.shape_key(model, device, (batch_size, *train_x.shape[1:]))
        model, net, reused = compiled.warm(model, key, mode)
        log(f"torch.compile mode={mode}: " + ("reused this worker's compiled graph" if reused
                                              else "compiling (kept for later jobs)"))
    steps_per_epoch = n // batch_size
    total_steps = steps_per_epoch * hp.epochs
    optimizer = make_optimizer(hp.optimizer, model.parameters(), hp.lr, hp.weight_decay,
                               hp.momentum, device)
    # Batch order comes from the config seed alone (a CPU generator: the same order on any device).
    order = torch.Generator().manual_seed(hp.seed)
    watch = LossWatch(what, steps_per_epoch, device, lr=hp.lr, lr_field=lr_field)

    history: dict[str, Any] = {"epochs": [], "steps_per_epoch": steps_per_epoch,
                               "batch_size": batch_size, "checkpoint": hp.checkpoint}
    best_acc, best_epoch, best_state = -1.0, -1, None
    step, started = 0, time.perf_counter()
    for epoch in range(hp.epochs):
        model.train()
        epoch_start = time.perf_counter()
        perm = torch.randperm(n, generator=order).to(device)
        # Running sums stay on the device: reading them every step would sync GPU and host.
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device)
        for b in range(steps_per_epoch):
            idx = perm[b * batch_size:(b + 1) * batch_size]
            x, y = train_x[idx], train_y[idx]
            if augment is not None:
                x = augment(x, epoch, b)
            x = dev.normalise(x)
            lr = lr_at(step, total_steps, steps_per_epoch, hp.lr, hp.schedule)
            for group in optimizer.param_groups:
                group["lr"] = lr
            with dev.autocast(device):
                logits = net(x)
                loss = F.cross_entropy(logits.float(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            watch.record(loss)
            loss_sum += loss.detach() * y.shape[0]
            correct += (logits.argmax(1) == y).sum()
            step += 1

        watch.end_epoch(epoch + 1)  # reads the epoch's losses once: no per-step sync
        seen = steps_per_epoch * batch_size
        record = {"epoch": epoch + 1, "lr": lr, "train_loss": loss_sum.item() / seen,
                  "train_accuracy": correct.item() / seen}
        if has_val:
            record["val_loss"], record["val_accuracy"] = evaluate(model, val_x, val_y, device)
            if hp.checkpoint == "best_val" and record["val_accuracy"] > best_acc:
                best_acc, best_epoch = record["val_accuracy"], epoch + 1
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        record["seconds"] = time.perf_counter() - epoch_start
        history["epochs"].append(record)
        log(f"epoch {epoch + 1}/{hp.epochs} " +
            " ".join(f"{k}={v:.4g}" for k, v in record.items() if k != "epoch"))

    if history["epochs"]:
        watch.check_final(history["epochs"][-1]["train_loss"])
    check_weights(what, model, hp.lr, lr_field)
    seconds = time.perf_counter() - started
    history["seconds"] = seconds
    history["images_per_second"] = total_steps * batch_size / seconds if seconds > 0 else 0.0
    if hp.checkpoint == "best_val":
        model.load_state_dict(best_state)
        history["chosen_epoch"] = best_epoch
    else:
        history["chosen_epoch"] = hp.epochs
    if model is not original:  # a kept compiled module trained: the caller's model gets its weights
        original.load_state_dict(model.state_dict())
    return history


# ---------------------------------------------------------------------------------------------
# The job function.

def run(config: Mapping[str, Any], inputs: Mapping[str, Input], out_dir: Path,
        ctx: RunContext) -> list[Metric]:
    c = TrainConfig.parse(config)
    device = dev.resolve(ctx.device)
    data = artifact.load(inputs["data"].path)
    label = c.label
    if data.num_classes(label) != c.model.num_classes:
        raise DslError(f"the model has {c.model.num_classes} classes but the dataset's "
                       f"label '{label}' has {data.num_classes(label)}")
    tensors = {split: tuple(torch.from_numpy(a) for a in labelled(data, split, label))
               for split in data.splits}
    empty = (torch.empty(0, *tensors["train"][0].shape[1:], dtype=torch.uint8),
             torch.empty(0, dtype=torch.int64))

    hp = Hyper.from_train_config(c)
    model = seeded_build(c.model.to_config(), hp.seed)
    history = fit(model, *tensors["train"], *tensors.get("val", empty), hp, device,
                  compile=ctx.compile, log=ctx.log, augment=aug.from_config(c))

    out_dir = Path(out_dir)
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, out_dir / CHECKPOINT)
    metrics = []
    for split, (x, y) in tensors.items():
        loss, acc = evaluate(model, x, y, device)
        history.setdefault("final", {})[split] = {"loss": loss, "accuracy": acc}
        if x.shape[0]:
            metrics += [Metric("accuracy", split, acc), Metric("loss", split, loss)]
    (out_dir / "history.json").write_text(json.dumps(history, indent=1))
    return metrics
