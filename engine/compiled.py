"""Compiled models kept by a worker process and reused by its next job of the same shape.

torch.compile costs 15-20 s for a ResNet-18 on a GPU (and minutes on a CPU, where inductor also
builds C++ kernels), while a 50-epoch x 50k training then takes ~32 s: paying it per job would
double the bill. A worker runs many jobs, so it keeps the compiled module of each (architecture,
width, classes, device, mode, batch shape) it has seen, and a later job of that shape copies its
fresh initial weights *into* the kept module instead of compiling a new one. Parameters and
buffers are updated in place, so their addresses (which CUDA graphs replay) and the graph
guards stay valid; the optimiser is built anew per job (its state is not part of the graph).
The result is the same training as with a freshly compiled module: same initial weights, same
kernels.

When to compile (`--compile auto`, the default) is stated in dsl/compile_rule.py, which
`dsl plan` also reads: trainings of >= 2.5M images on a GPU, never on a CPU.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any, Hashable

import torch
from torch import nn

from dsl.compile_rule import AUTO_MIN_IMAGES

KEEP = 4  # shapes kept per worker: each holds a model (and on a GPU its CUDA graphs' memory)

# shape key -> (the module the graph was traced from, its compiled wrapper)
_kept: "OrderedDict[Hashable, tuple[nn.Module, Any]]" = OrderedDict()
stats = {"compiled": 0, "reused": 0}


def mode_for(compile: bool | str, device: torch.device, images: int) -> str | None:
    """The torch.compile mode a training should use, or None for eager.

    `compile` is what the user asked: "auto" (the rule in the module docstring), True
    ("reduce-overhead": CUDA graphs, on CUDA only, as before), False, or a mode name, which
    compiles on any device (how the reuse is tested on a CPU)."""
    cuda = torch.device(device).type == "cuda"
    if compile == "auto":
        return "reduce-overhead" if cuda and images >= AUTO_MIN_IMAGES else None
    if compile is True:
        return "reduce-overhead" if cuda else None
    if not compile:
        return None
    return str(compile)


def backend() -> str:
    """inductor, or what DSL_COMPILE_BACKEND names (tests use "eager": the same dynamo graphs
    and guards, without code generation)."""
    return os.environ.get("DSL_COMPILE_BACKEND", "inductor")


def warm(model: nn.Module, key: Hashable, mode: str) -> tuple[nn.Module, Any, bool]:
    """(the module to train, the callable to run it, whether a kept graph was reused).

    On a hit the kept module takes `model`'s weights and buffers, and is what the caller must
    train and read back; `model` itself is left untouched."""
    key = (key, mode, backend())
    hit = _kept.get(key)
    if hit is not None:
        kept, net = hit
        kept.load_state_dict(model.state_dict())  # copies in place: addresses stay the same
        kept.train()
        _kept.move_to_end(key)
        stats["reused"] += 1
        return kept, net, True
    if backend() == "inductor":
        net = torch.compile(model, mode=mode)
    else:
        net = torch.compile(model, backend=backend())
    _kept[key] = (model, net)
    stats["compiled"] += 1
    while len(_kept) > KEEP:  # the least recently used shape goes (and its graphs' memory)
        _kept.popitem(last=False)
    return model, net, False


def shape_key(model: nn.Module, device: torch.device, batch: tuple[int, ...]) -> Hashable:
    """What a compiled graph is specialised to: the module's class and parameter shapes (so
    architecture, width and classes), the device and the input batch shape."""
    params = tuple((name, tuple(t.shape)) for name, t in model.state_dict().items())
    return (type(model).__name__, params, str(device), tuple(batch))


def shapes() -> list[Hashable]:
    """The shape keys this process has warm (the executor sends like jobs here)."""
    return [k[0] for k in _kept]


def clear() -> None:
    _kept.clear()
    stats.update(compiled=0, reused=0)
