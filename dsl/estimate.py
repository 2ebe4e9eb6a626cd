"""Rough compute of a plan: forward FLOPs per arch x samples x passes, in PFLOP and GPU-hours.

An order of magnitude to decide whether a sweep fits a budget, not a prediction of wall time:
training counts 3 forward-equivalents per sample (forward + backward), evaluation one. Forward
FLOPs are per 32x32 image at width 1 and scale with width^2 and (resolution/32)^2. GPU-hours
assume one GPU sustains ASSUMED_TFLOPS on these small models (mixed precision, far below peak
because 32x32 images leave a large GPU partly idle); `dsl plan` prints that assumption.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from dsl import catalog, kinds
from dsl.archs import ARCHES

# Forward GFLOP per 32x32 image at width 1 (2 FLOP per multiply-add): each arch's record.
FORWARD_GFLOP: dict[str, float] = {a.name: a.forward_gflop for a in ARCHES.values()}

ASSUMED_TFLOPS = 100.0  # sustained per GPU
# Sustained per CPU core on these small models (float32): the quickstart's 8.3 TFLOP of training
# took ~100 s on 2 cores of this project's machines, ~40 GFLOP/s a core; rounded down.
ASSUMED_CPU_GFLOPS_PER_CORE = 30.0
UNKNOWN_FOLDER_SIZE = 10000  # an image folder's size is not known before it is read


def forward_flop(model: Mapping[str, Any], resolution: int = 32) -> float:
    width = float(model["width"])  # always set: the resolved model config has every field
    return FORWARD_GFLOP[model["arch"]] * 1e9 * width ** 2 * (resolution / 32) ** 2


def split_sizes(dataset_config: Mapping[str, Any]) -> dict[str, int]:
    """The number of images per split a dataset job makes (nulls estimated)."""
    from dsl.data_resolvers import base, class_count, record

    data, sizes = dataset_config["data"], dataset_config["sizes"]
    per_class = record(base(data)).per_class  # real data's pools, per class
    out = {}
    for split in ("train", "val", "test"):
        n = sizes.get(split)
        if n is None:
            if per_class:
                pool = per_class["test" if split == "test" else "train"]
                total = pool * class_count(base(data))
                n = total - (sizes.get("val") or 0) if split == "train" else total
                n = min(n, 5000) if split == "val" else n
            else:
                n = UNKNOWN_FOLDER_SIZE
        out[split] = int(n)
    return out


@dataclass
class Estimate:
    flop: dict[str, float] = field(default_factory=dict)  # job kind -> FLOP

    @property
    def total(self) -> float:
        return sum(self.flop.values())

    @property
    def pflop(self) -> float:
        return self.total / 1e15

    @property
    def gpu_hours(self) -> float:
        return self.total / (ASSUMED_TFLOPS * 1e12) / 3600

    def cpu_hours(self, cores: int) -> float:
        """Hours on `cores` CPU cores at ASSUMED_CPU_GFLOPS_PER_CORE each."""
        return self.total / (ASSUMED_CPU_GFLOPS_PER_CORE * 1e9 * max(cores, 1)) / 3600

    def add(self, kind: str, flop: float) -> None:
        self.flop[kind] = self.flop.get(kind, 0.0) + flop

    def as_dict(self) -> dict[str, Any]:
        return {"pflop": _sig(self.pflop), "gpu_hours": _sig(self.gpu_hours),
                "assumed_tflops": ASSUMED_TFLOPS,
                "pflop_by_kind": {k: _sig(v / 1e15) for k, v in sorted(self.flop.items())}}


def _sig(x: float) -> float:
    """Four significant digits: an estimate claims no more."""
    return float(f"{x:.4g}")


def assumption() -> str:
    return (f"estimate: 3 x forward FLOPs per training sample and epoch, 1 x per evaluated "
            f"sample; GPU-hours at an assumed {ASSUMED_TFLOPS:.0f} TFLOP/s sustained per GPU")


def job_flop(job, jobs: Mapping[str, Any]) -> float:
    """FLOPs of one job by its kind's cost function (dsl.kinds); its inputs (looked up in
    `jobs`) give the data sizes. A kind without one does no model work (dataset generation and
    loading run on the CPU side)."""
    known = kinds.KINDS.get(job.kind)
    if known is None or known.cost is None:
        return 0.0
    return float(kinds.load(known.cost)(job, jobs))


def train_flop(job, jobs: Mapping[str, Any]) -> float:
    c = job.config
    ds = jobs[job.inputs["data"]].config
    n = split_sizes(ds)
    f = forward_flop(c["model"], ds["data"].get("resolution", 32))
    return f * (3 * n["train"] * c["epochs"] + n["val"] * c["epochs"] + n["test"])


def features_flop(job, jobs: Mapping[str, Any]) -> float:
    c = job.config
    ds = jobs[job.inputs["data"]].config
    n = split_sizes(ds)
    return forward_flop(c["model"], ds["data"].get("resolution", 32)) * sum(n.values())


def linear_flop(job, jobs: Mapping[str, Any]) -> float:
    c = job.config
    feat = jobs[job.inputs["features"]]
    ds = jobs[feat.inputs["data"]].config
    n = split_sizes(ds)
    dim = catalog.ARCHS[feat.config["model"]["arch"]] * feat.config["model"]["width"]
    train = min(n["train"], c["n_train"] or n["train"])
    classes = _classes(ds, c["label"])
    return 2 * dim * classes * (3 * train * c["epochs"] + n["val"] + n["test"])


def finetune_flop(job, jobs: Mapping[str, Any]) -> float:
    c = job.config
    ds = jobs[job.inputs["data"]].config
    n = split_sizes(ds)
    f = forward_flop(c["model"], ds["data"].get("resolution", 32))
    train = min(n["train"], c["n_train"])
    # features once for the linear stage, then full fine-tuning, then evaluation
    return f * (train + 3 * train * c["epochs"] + (n["val"] + n["test"]) * (c["epochs"] + 1))


def sensitivity_flop(job, jobs: Mapping[str, Any]) -> float:
    c = job.config
    # two images per pair, x1 and x2; the independent samples are the same images
    return forward_flop(c["model"], c["data"].get("resolution", 32)) * 2 * c["pairs"]


def accuracy_flop(job, jobs: Mapping[str, Any]) -> float:
    c = job.config
    ds = jobs[job.inputs["data"]].config
    n = split_sizes(ds)
    return forward_flop(c["model"], ds["data"].get("resolution", 32)) * sum(
        n[s] for s in c["splits"])


def _classes(dataset_config: Mapping[str, Any], label: str) -> int:
    from dsl.data_resolvers import class_count

    try:
        return class_count(dataset_config["data"], label)
    except Exception:  # an unreadable image folder: a guess is fine for an estimate
        return 10


def estimate(jobs: Mapping[str, Any], only: Any = None) -> Estimate:
    """The estimate of the jobs in `only` (default all of `jobs`); `jobs` must hold their
    inputs too."""
    out = Estimate()
    for jid in (jobs if only is None else only):
        job = jobs[jid]
        out.add(job.kind, job_flop(job, jobs))
    return out
