"""The `linear` job: a new linear classifier trained on cached features of a target task.

`fit_linear` is the probe itself, shared with fine-tuning (which probes before it fine-tunes).
It sees only a feature matrix, never the network: the features were computed once by the
`features` job, so 200 probe epochs cost 200 passes over an [N, D] matrix, not over a ResNet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from dsl.errors import DslError
from dsl.job_configs import LinearConfig
from engine import device as dev
from engine.data import artifact
from engine.divergence import LossWatch, check_finite, check_weights
from engine.jobs import Input, Metric, RunContext
from engine.train import labelled


def fit_linear(features: torch.Tensor, labels: torch.Tensor, num_classes: int, *, epochs: int,
               lr: float, batch_size: int, weight_decay: float = 0.0, seed: int = 0,
               device: torch.device | str = "cpu", lr_field: str = "the probe's lr") -> nn.Linear:
    """Minibatch Adam on cross-entropy of a linear head; deterministic given `seed`.

    Init and batch order both come from the seed (init through a forked global RNG, order
    through a CPU generator), so the same features and seed give the same head on any run.
    The head trains on standardised features (train mean and std per dimension) and the
    standardisation is then folded into its weights, so the returned head takes raw features.
    A linear head can express the same functions either way; standardising only conditions the
    problem, which matters for features that are tiny or offset (a briefly trained or narrow
    network's), where a fixed Adam budget would otherwise stop at chance.
    Non-finite features, or a probe that diverges (engine.divergence), raise `Diverged`.
    """
    device = dev.resolve(device)
    features, labels = features.to(device, torch.float32), labels.to(device)
    n, d = features.shape
    if n == 0:
        raise DslError("the linear probe has no training samples")
    check_finite("the linear probe's training features", features,
                 "the network that made them diverged; train it with a lower learning rate")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        head = nn.Linear(d, num_classes)
    head = head.to(device)
    # A dimension with one value on every training sample (a ReLU channel silent on all of them)
    # says nothing about the labels: it gets weight 0, exactly. Left to the standardisation, its
    # random init weight would be divided by the clamped std below (1e-6) when folded, and the
    # slightest activation on a test image would then swamp every logit.
    constant = features.amax(0) == features.amin(0)
    mean = features.mean(0)
    std = features.std(0, unbiased=False).clamp_min(1e-6)
    std = torch.where(constant, torch.ones_like(std), std)
    features = (features - mean) / std
    with torch.no_grad():
        head.weight[:, constant] = 0.0
    # On GPU a probe step is a handful of tiny kernels: the fused Adam update is one launch, not
    # one per tensor, which is most of what an epoch over cached features costs there.
    fused = {"fused": True} if dev.is_cuda(device) else {}
    optimizer = torch.optim.Adam(head.parameters(), lr=lr, weight_decay=weight_decay, **fused)
    order = torch.Generator().manual_seed(seed)
    batch_size = min(batch_size, n)
    watch = LossWatch("linear probe", -(-n // batch_size), device, lr=lr, lr_field=lr_field)
    mean_loss = None
    for epoch in range(epochs):
        perm = torch.randperm(n, generator=order).to(device)
        # Every sample every epoch (a ragged last batch is harmless here: no BatchNorm, no compile).
        for start in range(0, n, batch_size):
            idx = perm[start:start + batch_size]
            loss = F.cross_entropy(head(features[idx]), labels[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            watch.record(loss)
        mean_loss = watch.end_epoch(epoch + 1)
    if mean_loss is not None:
        watch.check_final(mean_loss)
    with torch.no_grad():  # W (x - m) / s + b  ==  (W / s) x + (b - W (m / s))
        head.weight[:, constant] = 0.0  # (Adam or weight decay may have nudged them)
        head.bias -= head.weight @ (mean / std)
        head.weight /= std
    check_weights("linear probe", head, lr, lr_field)
    return head


@torch.no_grad()
def score(head: nn.Module, features: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """(loss, accuracy) of a head on features; (nan, nan) when there are none."""
    if features.shape[0] == 0:
        return float("nan"), float("nan")
    p = next(head.parameters())
    logits = head(features.to(p.device, p.dtype))
    labels = labels.to(p.device)
    return F.cross_entropy(logits, labels).item(), (logits.argmax(1) == labels).float().mean().item()


def run(config: Mapping[str, Any], inputs: Mapping[str, Input], out_dir: Path,
        ctx: RunContext) -> list[Metric]:
    c = LinearConfig.parse(config)
    device = dev.resolve(ctx.device)
    data = artifact.load(inputs["features"].path)
    label = c.label
    splits = {}
    for split in data.splits:
        n = c.n_train if split == "train" else None
        x, y = labelled(data, split, label, n)
        splits[split] = (torch.from_numpy(x).to(device), torch.from_numpy(y).to(device))
        check_finite(f"the {split} features", splits[split][0],
                     "the network that made them diverged; train it with a lower learning rate")
    head = fit_linear(*splits["train"], data.num_classes(label), epochs=c.epochs,
                      lr=float(c.lr), batch_size=c.batch_size,
                      weight_decay=float(c.weight_decay), seed=c.seed, device=device)
    torch.save({k: v.cpu() for k, v in head.state_dict().items()}, Path(out_dir) / "head.pt")
    metrics = []
    for split, (x, y) in splits.items():
        if x.shape[0]:
            loss, acc = score(head, x, y)
            metrics += [Metric("accuracy", split, acc), Metric("loss", split, loss)]
    ctx.log(" ".join(f"{m.name}@{m.split}={m.value:.4f}" for m in metrics))
    return metrics
