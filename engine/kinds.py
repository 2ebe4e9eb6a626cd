"""The registry of job kinds: version string, implementation and resources, without torch.

Bumping a kind's version changes the JobId of every job of that kind, and through `inputs` of
every job downstream of it, so exactly those are recomputed. The language layer reads versions
from here when it plans; the executors import the implementation only when a job runs.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Kind:
    name: str
    version: str
    impl: str  # "module:function", called as fn(config, inputs, out_dir, ctx) -> list[Metric]
    gpu: bool  # whether the job benefits from a GPU (placement hint for executors)
    doc: str

    def function(self) -> Callable:
        module, fn = self.impl.split(":")
        return getattr(importlib.import_module(module), fn)


KINDS: dict[str, Kind] = {k.name: k for k in [
    Kind("dataset", "2", "engine.data.job:run", False,
         "generate or load a dataset into uint8 tensors per split"),
    Kind("train", "1", "engine.train:run", True,
         "train a source model on a task; writes the checkpoint"),
    Kind("features", "1", "engine.features:run", True,
         "penultimate features of a trained model on every split of a dataset"),
    Kind("linear", "3", "engine.probes.linear:run", False,
         "a new linear head on cached features of a target task"),
    Kind("finetune", "3", "engine.probes.finetune:run", True,
         "linear probe, then the whole model, on n target samples"),
    Kind("sensitivity", "2", "engine.probes.sensitivity:run", True,
         "Eq. 1: pair distance under a varied component over independent-pair distance"),
    Kind("accuracy", "1", "engine.probes.accuracy:run", True,
         "the source model's own head evaluated on a dataset"),
]}


def version(kind: str) -> str:
    return KINDS[kind].version
