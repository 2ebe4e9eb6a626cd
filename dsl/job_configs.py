"""Typed job configs: one frozen dataclass per job kind's `config` (docs/jobs.md).

The planner builds them (dsl.resolve, dsl.probe_jobs) and hashes `to_config()`, the plain dict a
JobId is computed from: key for key the dict the planner always built (same keys, same types,
`augment` and `files` absent when empty), so no JobId moves. The engine reads a recorded config
back with `parse`, which is strict (a missing or unknown field, or a value of the wrong type, is a
DslError naming the kind and the field), and reads attributes: no default is restated below the
language. Every value in a config was filled from the spec models (dsl.spec) when it was planned;
dsl.job_config_docs shows, per field, which spec field (and default) it comes from.

Data definitions (a dataset's and a sensitivity's `data`) and local-file fingerprints (`files`)
stay plain mappings here: each data kind types its own definition (dsl.spec's data models).
A kind's record in dsl.kinds names its class (`config`), so a plugin kind may bring its own.
No torch: the planner and the engine both import this module.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping as AbcMapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, Iterable, Mapping, Union

from dsl import catalog, kinds
from dsl.errors import DslError, did_you_mean


class JobConfigError(DslError):
    """A recorded config that does not fit its kind's config class."""


def _doc(meaning: str, spec: str | None = None, choices: tuple[str, ...] = (),
         default: Any = MISSING) -> Any:
    """A field with its meaning for docs/jobs.md, the spec field it is filled from ("train.lr":
    [train] lr; "linear.epochs": a linear [[probe]]'s epochs) and the values it may take."""
    meta = {"doc": meaning, "spec": spec, "choices": choices}
    return field(metadata=meta) if default is MISSING else field(default=default, metadata=meta)


@dataclass(frozen=True)
class Part:
    """A typed piece of a config: `to_config()` is its dict, `parse(dict)` is the strict way
    back. Fields named in OMIT_EMPTY are written only when not empty (and may be absent)."""

    OMIT_EMPTY: ClassVar[tuple[str, ...]] = ()

    def to_config(self) -> dict[str, Any]:
        out = {}
        for name, _, omit, _ in _layout(type(self)):
            value = getattr(self, name)
            if omit and (value is None or value == ()):
                continue
            out[name] = _plain(value)
        return out

    @classmethod
    def parse(cls, config: Any, kind: str | None = None, at: str = ""):
        kind = kind or getattr(cls, "KIND", cls.__name__)
        if not isinstance(config, Mapping):
            raise _error(kind, at or "config", f"is {config!r}, not a table of fields")
        layout = _layout(cls)
        names = [name for name, *_ in layout]
        for key in config:
            if key not in names:
                hint = did_you_mean(str(key), names)
                raise _error(kind, _join(at, key), "is not a field of this kind's config"
                             + (f" ({hint})" if hint else ""), unknown=True)
        values = {}
        for name, tp, omit, _ in layout:
            if name not in config:
                if omit:
                    continue
                raise _error(kind, _join(at, name), "is missing")
            values[name] = _value(tp, config[name], kind, _join(at, name))
        part = cls(**values)
        part.check(kind, at)
        return part

    def check(self, kind: str, at: str) -> None:
        """Rules across fields, and the allowed values of those with choices."""
        for name, _, _, choices in _layout(type(self)):
            value = getattr(self, name)
            if choices and value is not None:
                for v in (value if isinstance(value, tuple) else (value,)):
                    if v not in choices:
                        raise _error(kind, _join(at, name),
                                     f"is {v!r}, not one of {', '.join(choices)}")


def _join(at: str, name: str) -> str:
    return f"{at}.{name}" if at else name


def _error(kind: str, path: str, what: str, unknown: bool = False) -> JobConfigError:
    fix = ("a config recorded by another version of dsl, or written by hand: plan the spec "
           "again" + ("" if unknown else " (the planner fills every field)"))
    return JobConfigError(f"{kind} config: field '{path}' {what}; {fix}")


_LAYOUTS: dict[type, tuple[tuple[str, Any, bool, tuple[str, ...]], ...]] = {}


def _layout(cls: type) -> tuple[tuple[str, Any, bool, tuple[str, ...]], ...]:
    """(name, type, omitted when empty, choices) of each field, computed once per class: a
    plan builds tens of thousands of configs, and dataclasses.fields is slow."""
    if cls not in _LAYOUTS:
        hints = field_types(cls)
        _LAYOUTS[cls] = tuple((f.name, hints[f.name], f.name in cls.OMIT_EMPTY,
                               f.metadata.get("choices") or ()) for f in fields(cls))
    return _LAYOUTS[cls]


_HINTS: dict[type, dict[str, Any]] = {}


def field_types(cls: type) -> dict[str, Any]:
    """Field name -> resolved annotation (class variables left out)."""
    if cls not in _HINTS:
        _HINTS[cls] = {k: v for k, v in typing.get_type_hints(cls).items()
                       if typing.get_origin(v) is not ClassVar and v is not ClassVar}
    return _HINTS[cls]


_SCALARS = (str, int, float, bool, type(None))


def _plain(value: Any) -> Any:
    if type(value) in _SCALARS:  # the common case first: planning is hot
        return value
    if isinstance(value, Part):
        return value.to_config()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _value(tp: Any, value: Any, kind: str, at: str) -> Any:
    """`value` checked against the annotation `tp` (never converted: `to_config` gives back the
    very values parsed); tuples of parts are read from lists."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _value(inner, value, kind, at)
    if isinstance(tp, type) and issubclass(tp, Part):
        return tp.parse(value, kind, at)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise _error(kind, at, f"is {value!r}, not a list")
        item = typing.get_args(tp)[0]
        return tuple(_value(item, v, kind, f"{at}[{i}]") for i, v in enumerate(value))
    if origin is AbcMapping:
        if not isinstance(value, Mapping):
            raise _error(kind, at, f"is {value!r}, not a table")
        return value
    if tp is Any:
        return value
    ok = {int: lambda v: type(v) is int, float: lambda v: type(v) in (int, float),
          str: lambda v: type(v) is str, bool: lambda v: type(v) is bool}[tp]
    if not ok(value):
        raise _error(kind, at, f"is {value!r}, not {tp.__name__}")
    return value


# --- shared parts --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelConfig(Part):
    arch: str = _doc("the network", "train.arch")
    width: float = _doc("channel width multiplier", "train.width")
    num_classes: int = _doc("classes of the head: those of the train task's label")


@dataclass(frozen=True)
class OptimizerConfig(Part):
    name: str = _doc("the optimiser", "train.optimizer", catalog.OPTIMIZERS)
    lr: float = _doc("peak learning rate", "train.lr")
    weight_decay: float = _doc("L2 penalty (adam, sgd) or decoupled decay (adamw)",
                               "train.weight_decay")
    momentum: float = _doc("momentum, Nesterov (sgd only)", "train.momentum")


@dataclass(frozen=True)
class ScheduleConfig(Part):
    name: str = _doc("learning-rate schedule after warm-up", "train.schedule", catalog.SCHEDULES)
    warmup_epochs: int = _doc("linear warm-up to lr over these epochs", "train.warmup_epochs")
    final_lr: float = _doc("lr reached at the last step (cosine, linear)", "train.final_lr")


@dataclass(frozen=True)
class Transform(Part):
    """A TF: a transform (or augment-only op) with every catalog parameter filled."""

    name: str = _doc("a transform of dsl.catalog")
    params: Mapping[str, Any] = _doc("every parameter of it")


def transforms(tfs: Iterable[Mapping[str, Any]]) -> tuple[Transform, ...]:
    """TF dicts as typed transforms."""
    return tuple(Transform(tf["name"], tf["params"]) for tf in tfs)


@dataclass(frozen=True)
class Vary(Part):
    """What a sensitivity pair differs in: transforms, or a composite's component."""

    OMIT_EMPTY = ("component", "transforms")
    component: str | None = _doc("the composite's part varied, instead of transforms",
                                 "sensitivity.vary", catalog.COMPONENTS, None)
    transforms: tuple[Transform, ...] | None = _doc(
        "the transforms varied, drawn afresh for each image of a pair", "sensitivity.vary", (),
        None)

    def check(self, kind: str, at: str) -> None:
        super().check(kind, at)
        if (self.component is None) == (self.transforms is None):
            raise _error(kind, at, "needs exactly one of 'component' and 'transforms'")


# --- one class per kind ---------------------------------------------------------------------------

@dataclass(frozen=True)
class JobConfig(Part):
    KIND: ClassVar[str] = ""


@dataclass(frozen=True)
class DatasetConfig(JobConfig):
    KIND = "dataset"
    OMIT_EMPTY = ("files",)
    data: Mapping[str, Any] = _doc("the data definition (DataConfig above)", "task.data")
    sizes: Mapping[str, Any] = _doc(
        "train, val, test sample counts, from the task's n_train, n_val, n_test (null: every "
        "available image of real data)")
    seed: int = _doc("the cell's seed: draws and rendering")
    files: Mapping[str, Any] | None = _doc(
        "fingerprints of the local files the data reads (docs/data.md)", None, (), None)


@dataclass(frozen=True)
class TrainConfig(JobConfig):
    KIND = "train"
    OMIT_EMPTY = ("augment",)
    model: ModelConfig = _doc("the network trained")
    label: str = _doc("which label of the dataset it learns", "task.label")
    optimizer: OptimizerConfig = _doc("")
    schedule: ScheduleConfig = _doc("")
    epochs: int = _doc("passes over the training split", "train.epochs")
    batch_size: int = _doc("images per step", "train.batch_size")
    checkpoint: str = _doc("weights kept: after the last epoch, or of the best val accuracy",
                           "train.checkpoint", catalog.CHECKPOINTS)
    seed: int = _doc("the cell's seed: init and batch order")
    augment: tuple[Transform, ...] = _doc(
        "online augmentation, in the order applied (docs/augmentation.md)",
        "train.augment", (), ())

    @classmethod
    def from_spec(cls, t: Any, label: str, num_classes: int, seed: int,
                  augment: Iterable[Mapping[str, Any]] = ()) -> "TrainConfig":
        """The config of a validated [train] table (dsl.spec.TrainSpec, factors substituted)
        for a task's `label` with `num_classes` classes, and its resolved augment TFs."""
        return cls(
            model=ModelConfig(t.arch, float(t.width), num_classes), label=label,
            optimizer=OptimizerConfig(t.optimizer, float(t.lr), float(t.weight_decay),
                                      float(t.momentum)),
            schedule=ScheduleConfig(t.schedule, int(t.warmup_epochs), float(t.final_lr)),
            epochs=int(t.epochs), batch_size=int(t.batch_size), checkpoint=t.checkpoint,
            seed=seed, augment=transforms(augment))


@dataclass(frozen=True)
class FeaturesConfig(JobConfig):
    KIND = "features"
    model: ModelConfig = _doc("the trained network whose penultimate layer is read")


@dataclass(frozen=True)
class LinearConfig(JobConfig):
    KIND = "linear"
    label: str = _doc("the target task's label", "task.label")
    epochs: int = _doc("passes over the training features", "linear.epochs")
    lr: float = _doc("Adam learning rate", "linear.lr")
    batch_size: int = _doc("features per step", "linear.batch_size")
    weight_decay: float = _doc("L2 penalty", "linear.weight_decay")
    n_train: int | None = _doc("first n training samples; null: all", "linear.n_train")
    seed: int = _doc("the cell's seed: init and batch order")


# A finetune's linear stage: what its [[probe]] table does not set (the rest: linear_epochs,
# linear_lr, and the probe's own label, n_train and seed).
FINETUNE_LINEAR = {"batch_size": 512, "weight_decay": 0.0}


@dataclass(frozen=True)
class FinetuneConfig(JobConfig):
    KIND = "finetune"
    OMIT_EMPTY = ("augment",)
    CHECKPOINT: ClassVar[str] = "last"  # fine-tuning keeps its final weights
    model: ModelConfig = _doc("the trained network fine-tuned")
    label: str = _doc("the target task's label", "task.label")
    n_train: int = _doc("first n training samples", "finetune.n_train")
    linear: LinearConfig = _doc(
        "the linear probe fitted first (a `linear` config): epochs and lr from the probe's "
        "linear_epochs and linear_lr; label, n_train and seed the probe's; "
        + ", ".join(f"{k} {v}" for k, v in FINETUNE_LINEAR.items()))
    epochs: int = _doc("fine-tuning passes", "finetune.epochs")
    lr: float = _doc("peak learning rate", "finetune.lr")
    batch_size: int = _doc("images per step", "finetune.batch_size")
    optimizer: str = _doc("the optimiser", "finetune.optimizer", catalog.OPTIMIZERS)
    weight_decay: float = _doc("as train's", "finetune.weight_decay")
    schedule: ScheduleConfig = _doc("", "finetune")
    seed: int = _doc("the cell's seed: batch order")
    augment: tuple[Transform, ...] = _doc("as train's, for the fine-tuning phase",
                                          "finetune.augment", (), ())

    @property
    def momentum(self) -> float:
        """sgd's momentum: the spec's default one ([train] momentum), not a field of this kind."""
        from dsl.spec import TrainSpec  # the language's default, read where it is written

        return float(TrainSpec.model_fields["momentum"].default)


@dataclass(frozen=True)
class SensitivityConfig(JobConfig):
    KIND = "sensitivity"
    OMIT_EMPTY = ("files",)
    model: ModelConfig = _doc("the trained network measured")
    data: Mapping[str, Any] = _doc("the data pairs are drawn from (DataConfig above)",
                                   "task.data")
    vary: Vary = _doc("what the two images of a pair differ in: one of these two")
    pairs: int = _doc("pairs averaged over", "sensitivity.pairs")
    seed: int = _doc("the cell's seed: the pairs drawn")
    files: Mapping[str, Any] | None = _doc("as dataset's", None, (), None)


@dataclass(frozen=True)
class AccuracyConfig(JobConfig):
    KIND = "accuracy"
    model: ModelConfig = _doc("the trained network, with its own head")
    label: str = _doc("the target task's label; its class count must be the model's",
                      "task.label")
    splits: tuple[str, ...] = _doc("splits scored: a set, written in this order",
                                   "accuracy.splits", catalog.SPLITS)


def config_class(kind: str) -> type[JobConfig] | None:
    """The config class a kind's record names (None: the kind's configs stay plain dicts)."""
    record = kinds.KINDS.get(kind)
    return kinds.load(record.config) if record is not None and record.config else None


def parse(kind: str, config: Mapping[str, Any]) -> Any:
    """A recorded config as its kind's typed config (as given for a kind without a class)."""
    cls = config_class(kind)
    return config if cls is None else cls.parse(config, kind)
