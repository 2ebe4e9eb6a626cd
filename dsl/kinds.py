"""The job-kind registry: one record per kind, the only place a kind's facts are written.

A record says what a kind is called and its version (bumping it changes the JobId of every job of
that kind and, through `inputs`, of everything downstream), where its implementation is, which
metrics it reports and in which order, what it asks a cluster for, how a profile shrinks it,
whether it reads local files, what it costs, where `dsl plan` lists it, the typed class of its
config (dsl.job_configs) and, for probes, the pydantic model of its [[probe]] table and the
function that turns one into jobs. Everything that
used to switch on a kind name (planner, profiles, checks, estimate, resources, tables, store,
`dsl plan`) reads this table.

Core layer: no torch, nothing above it. Implementations, probe models, resolve and cost functions
are "module:attribute" strings, imported only by whoever calls them. A kind added at run time
(`register`) must be registered before `dsl.spec` is imported if it is a probe, since the spec
models are built once, at import.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

from dsl.archs import ARCHES
from dsl.config_rules import Rule


@dataclass(frozen=True)
class Kind:
    name: str
    version: str
    impl: str  # "module:function", called as fn(config, inputs, out_dir, ctx) -> list[Metric]
    gpu: bool  # whether the job benefits from a GPU (placement hint for executors)
    doc: str
    cpu: float = 1.0  # CPUs reserved for each job
    arch: bool = False  # config["model"]["arch"] names a model: resources sized by architecture
    metrics: tuple[str, ...] = ()  # what it reports (docs/jobs.md); reports say "probe.metric"
    profiles: Mapping[str, tuple[Rule, ...]] = field(default_factory=dict)  # profile -> rules
    reads_files: bool = False  # config["data"] may name local files: it carries their hashes
    cost: str | None = None  # "module:function" (job, jobs) -> forward FLOPs; None: no model work
    order: int = 100  # where `dsl plan` lists it (dependencies first)
    probe: str | None = None  # "module:Model": the pydantic model of its [[probe]] table
    resolve: str | None = None  # "module:function" building a probe's jobs (dsl.probe_jobs)
    config: str | None = None  # "module:Class": its typed config (dsl.job_configs); None: a dict

    def function(self) -> Callable:
        return load(self.impl)


def load(ref: str) -> Any:
    """The attribute a "module:attribute" string names."""
    module, attr = ref.split(":")
    return getattr(importlib.import_module(module), attr)


# Smoke: CPU minutes. n_train may not exceed the (capped) training split it is taken from.
_SMOKE_TRAIN = 512


def _width(scale: float) -> Rule:
    """Scale every network's width, but those whose record keeps it (dsl.archs)."""
    return Rule(("model", "width"), "scale", scale,
                unless=((("model", "arch"), tuple(a.name for a in ARCHES.values()
                                                  if a.keeps_width)),))


_WIDTH = _width(0.125)


def _scaled(*, train: int, val: int, test: int, width: Rule, epochs: int, batch: int,
            finetune_epochs: int, pairs: int, extra_train: tuple[Rule, ...] = ()
            ) -> dict[str, tuple[Rule, ...]]:
    """The rules of a profile that runs every spec at a chosen scale, per job kind: sizes of
    the generated splits, network width, training epochs and batch, the probes' caps."""
    return {
        "dataset": (Rule(("sizes", "train"), "cap", train), Rule(("sizes", "val"), "cap", val),
                    Rule(("sizes", "test"), "cap", test)),
        "train": (width, Rule(("epochs",), "cap", epochs), *extra_train,
                  Rule(("batch_size",), "cap", batch),
                  Rule(("schedule", "warmup_epochs"), "cap", 1)),
        "features": (width,),
        "linear": (Rule(("epochs",), "cap", 100),
                   Rule(("n_train",), "cap", train, null_is_all=False)),
        "finetune": (width, Rule(("epochs",), "cap", finetune_epochs),
                     Rule(("batch_size",), "cap", batch),
                     Rule(("schedule", "warmup_epochs"), "cap", 1),
                     Rule(("n_train",), "cap", train), Rule(("linear", "epochs"), "cap", 100),
                     Rule(("linear", "n_train"), "cap", train)),
        "sensitivity": (width, Rule(("pairs",), "cap", pairs)),
        "accuracy": (width,),
    }


# Laptop: findings on a 2-core CPU in about 15 minutes a spec, chosen by measurement (docs/claims.md
# has the runs): 2,000 training images for 8 epochs, width-1/8 networks (a ResNet-18 step costs
# ~1.1 ms of one core per image at that width, channels_last), the first 5 seeds
# (dsl.profiles.LAPTOP).
# Batch 32: on a CPU an image costs the same at batch 32 as at 128, so it buys four times the
# optimizer steps (500 instead of 125) for free, and the models go from barely trained (0.52
# target accuracy) to trained (0.80). ResNet-50 and DenseNet-121 cost ~3x a ResNet-18 per image:
# their records in dsl.archs cap them at 4 epochs, which keeps the architecture spec inside the
# budget (806 s).
_LAPTOP_TRAIN = 2000
_LAPTOP_BATCH = 32
# the epoch caps architecture records set (dsl.archs: ResNet-50, DenseNet-121), one rule each
_LAPTOP_COSTLY_EPOCHS = tuple(Rule(("epochs",), "cap", a.laptop_epochs,
                                   only=((("model", "arch"), (a.name,)),))
                              for a in ARCHES.values() if a.laptop_epochs)
_LAPTOP = _scaled(train=_LAPTOP_TRAIN, val=500, test=1000, width=_WIDTH, epochs=8,
                  batch=_LAPTOP_BATCH, finetune_epochs=5, pairs=500,
                  extra_train=_LAPTOP_COSTLY_EPOCHS)

# GPU: a quick profile for one GPU (`dsl run specs/ --profile gpu --jobs 8 --per-gpu 8`), sized by
# arithmetic, not yet measured on a GPU (benchmarks/device.sh quick measures it): the laptop
# profile's 5 seeds with 5x its data, half-width networks (small_cnn whole) and twice its
# training, so that a model can learn 8 transforms at once (the laptop profile's one claim that
# cannot show: docs/claims.md). ResNet-18 at half width trains at roughly 2x the full-width
# 22,800 images/s measured uncompiled on an H200 (packing.py), ~50k with 8 jobs sharing it.
_GPU_TRAIN = 10000
_GPU_WIDTH = _width(0.5)
_GPU = _scaled(train=_GPU_TRAIN, val=1000, test=2000, width=_GPU_WIDTH, epochs=15, batch=128,
               finetune_epochs=10, pairs=1000)

KINDS: dict[str, Kind] = {k.name: k for k in [
    Kind("dataset", "2", "engine.data.job:run", False,
         "generate or load a dataset into uint8 tensors per split",
         reads_files=True, order=0,
         profiles={"smoke": (Rule(("sizes", "train"), "cap", _SMOKE_TRAIN),
                             Rule(("sizes", "val"), "cap", 128),
                             Rule(("sizes", "test"), "cap", 128)),
                   "laptop": _LAPTOP["dataset"],
                   "gpu": _GPU["dataset"]},
         config="dsl.job_configs:DatasetConfig"),
    Kind("train", "1", "engine.train:run", True,
         "train a source model on a task; writes the checkpoint",
         arch=True, metrics=("accuracy", "loss"), cost="dsl.estimate:train_flop", order=1,
         profiles={"smoke": (_WIDTH, Rule(("epochs",), "cap", 2),
                             Rule(("batch_size",), "cap", 128),
                             Rule(("schedule", "warmup_epochs"), "cap", 1)),
                   "laptop": _LAPTOP["train"],
                   "gpu": _GPU["train"]},
         config="dsl.job_configs:TrainConfig"),
    Kind("features", "1", "engine.features:run", True,
         "penultimate features of a trained model on every split of a dataset",
         arch=True, cost="dsl.estimate:features_flop", order=2,
         profiles={"smoke": (_WIDTH,),
                   "laptop": _LAPTOP["features"],
                   "gpu": _GPU["features"]},
         config="dsl.job_configs:FeaturesConfig"),
    Kind("linear", "3", "engine.probes.linear:run", False,
         "a new linear head on cached features of a target task",
         metrics=("accuracy", "loss"), cost="dsl.estimate:linear_flop", order=3,
         profiles={"smoke": (Rule(("epochs",), "cap", 20),
                             Rule(("n_train",), "cap", _SMOKE_TRAIN, null_is_all=False)),
                   "laptop": _LAPTOP["linear"],
                   "gpu": _GPU["linear"]},
         probe="dsl.spec:LinearProbe", resolve="dsl.probe_jobs:linear_jobs",
         config="dsl.job_configs:LinearConfig"),
    Kind("finetune", "3", "engine.probes.finetune:run", True,
         "linear probe, then the whole model, on n target samples",
         arch=True, metrics=("accuracy", "loss", "linear_accuracy"),
         cost="dsl.estimate:finetune_flop", order=4,
         profiles={"smoke": (_WIDTH, Rule(("epochs",), "cap", 2),
                             Rule(("batch_size",), "cap", 128),
                             Rule(("schedule", "warmup_epochs"), "cap", 1),
                             Rule(("n_train",), "cap", _SMOKE_TRAIN),
                             Rule(("linear", "epochs"), "cap", 20),
                             Rule(("linear", "n_train"), "cap", _SMOKE_TRAIN)),
                   "laptop": _LAPTOP["finetune"],
                   "gpu": _GPU["finetune"]},
         probe="dsl.spec:FinetuneProbe", resolve="dsl.probe_jobs:finetune_jobs",
         config="dsl.job_configs:FinetuneConfig"),
    Kind("sensitivity", "3", "engine.probes.sensitivity:run", True,
         "Eq. 1: pair distance under a varied component over independent-pair distance",
         arch=True, metrics=("sensitivity", "pair_distance", "independent_distance"),
         reads_files=True, cost="dsl.estimate:sensitivity_flop", order=5,
         profiles={"smoke": (_WIDTH, Rule(("pairs",), "cap", 64)),
                   "laptop": _LAPTOP["sensitivity"],
                   "gpu": _GPU["sensitivity"]},
         probe="dsl.spec:SensitivityProbe", resolve="dsl.probe_jobs:sensitivity_jobs",
         config="dsl.job_configs:SensitivityConfig"),
    Kind("accuracy", "1", "engine.probes.accuracy:run", True,
         "the source model's own head evaluated on a dataset",
         arch=True, metrics=("accuracy",), cost="dsl.estimate:accuracy_flop", order=6,
         profiles={"smoke": (_WIDTH,),
                   "laptop": _LAPTOP["accuracy"],
                   "gpu": _GPU["accuracy"]},
         probe="dsl.spec:AccuracyProbe", resolve="dsl.probe_jobs:accuracy_jobs",
         config="dsl.job_configs:AccuracyConfig"),
]}


def register(kind: Kind) -> Kind:
    """Add (or replace) a kind; a probe kind before `dsl.spec` is first imported."""
    KINDS[kind.name] = kind
    return kind


def version(kind: str) -> str:
    return KINDS[kind].version


def probe_kinds() -> tuple[str, ...]:
    """Kinds a [[probe]] table may name, in display order."""
    return tuple(k.name for k in ordered() if k.probe is not None)


def ordered() -> list[Kind]:
    return sorted(KINDS.values(), key=lambda k: (k.order, k.name))


def rank(kind: str) -> tuple:
    """Sort key of a kind name: dependencies first (its display order), unknown kinds last."""
    known = KINDS.get(kind)
    return (known.order if known is not None else float("inf"), kind)


def reads_files() -> tuple[str, ...]:
    """Kinds whose configs carry the fingerprints of the local files they read."""
    return tuple(k.name for k in KINDS.values() if k.reads_files)


def _rule_text(rule: Rule) -> str:
    path = ".".join(rule.path)
    text = f"{path} <= {rule.value}" if rule.op == "cap" else f"{path} x {rule.value}"
    return text + "".join(f" unless {'.'.join(w)} is {', '.join(map(str, v))}"
                          for w, v in rule.unless) + \
        "".join(f" if {'.'.join(w)} is {', '.join(map(str, v))}" for w, v in rule.only)


def markdown() -> str:
    """The registry as the table in docs/jobs.md (tests/test_kind_registry.py keeps them equal;
    `python3 -m dsl.kinds` prints it)."""
    rows = ["| kind | version | metrics | GPU | CPUs | reads local files | smoke profile |",
            "|---|---|---|---|---|---|---|"]
    for k in ordered():
        gpu = ("share by arch" if k.arch else "one slot") if k.gpu else "no"
        smoke = "; ".join(_rule_text(r) for r in k.profiles.get("smoke", ())) or "-"
        rows.append(f"| `{k.name}` | {k.version} | {', '.join(k.metrics) or '-'} | {gpu} | "
                    f"{k.cpu:g} | {'yes' if k.reads_files else 'no'} | {smoke} |")
    return "\n".join(rows) + "\n"


class _Metrics(Mapping[str, tuple[str, ...]]):
    """kind -> metrics of every registered kind that reports any: a live view of the registry,
    so a kind registered later is known to checks and tables alike."""

    def __getitem__(self, kind: str) -> tuple[str, ...]:
        k = KINDS.get(kind)
        if k is None or not k.metrics:
            raise KeyError(kind)
        return k.metrics

    def __iter__(self) -> Iterator[str]:
        return (k.name for k in ordered() if k.metrics)

    def __len__(self) -> int:
        return sum(1 for _ in self)


METRICS: Mapping[str, tuple[str, ...]] = _Metrics()


if __name__ == "__main__":
    print(markdown(), end="")
