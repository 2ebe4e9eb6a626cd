"""Batch norm folded into the convolution before it, for models that only run inference.

In eval mode a BatchNorm2d is a fixed per-channel scale and shift, so a convolution followed by
one equals a single convolution with rescaled weights and a bias: the same function up to float
rounding (~1e-7 relative), one pass over the activations fewer. Features, sensitivity and
accuracy jobs only run trained models forward, and at the laptop profile's widths the batch
norms are a quarter of a ResNet's inference time on a CPU (`benchmarks/cpu_layout.py` measures
it). Fine-tuning and training keep their batch norms: they update them.

Which convolution feeds which batch norm is read from the forward pass's graph (torch.fx), not
from module order, and only a convolution whose output goes to that batch norm alone is folded.
A model fx cannot trace is left as it is.
"""

from __future__ import annotations

from collections import Counter

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """`model` in eval mode with each Conv2d -> BatchNorm2d pair of its forward graph made one
    Conv2d (in place; the BatchNorm2d becomes an Identity). Returns the model. The new weights
    are in the default memory layout: set the layout after folding (`engine.device.prepare`)."""
    model.eval()
    for conv_name, bn_name in _conv_bn_pairs(model):
        fused = fuse_conv_bn_eval(model.get_submodule(conv_name), model.get_submodule(bn_name))
        _set(model, conv_name, fused)
        _set(model, bn_name, nn.Identity())
    return model


def _conv_bn_pairs(model: nn.Module) -> list[tuple[str, str]]:
    try:
        graph = torch.fx.symbolic_trace(model).graph
    except Exception:  # noqa: BLE001 - data-dependent control flow: keep the model unfolded
        return []
    modules = dict(model.named_modules())
    calls = Counter(n.target for n in graph.nodes if n.op == "call_module")
    pairs = []
    for node in graph.nodes:
        if node.op != "call_module" or not isinstance(modules.get(node.target), nn.BatchNorm2d):
            continue
        src = node.args[0] if node.args else None
        # a module called more than once (shared weights) is left alone
        if (isinstance(src, torch.fx.Node) and src.op == "call_module"
                and isinstance(modules.get(src.target), nn.Conv2d) and len(src.users) == 1
                and modules[node.target].track_running_stats
                and calls[src.target] == 1 and calls[node.target] == 1):
            pairs.append((src.target, node.target))
    return pairs


def _set(model: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, leaf = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, leaf, module)
