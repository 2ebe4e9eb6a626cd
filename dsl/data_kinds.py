"""The data-kind registry: one record per `kind` of a [data.*] table, keyed by that kind.

A record names the pydantic model of the table as written (`dsl.spec` builds its data union from
these), the module that resolves a validated table into the data config jobs carry
(`dsl.data_resolvers`, docs/jobs.md "Data config"), whether the kind is a finite set of real
images (null sizes then mean "all of them", and it is never rendered) with the split sizes a task
gets when it leaves them unset, the labels a task on it may use, which of its fields hold other
data or may name a draw (the language's static checks and factor analysis read these), the
built-in data names it provides, and the engine function that makes its pixels.

Core layer: no torch, nothing above it; models and resolvers are "module:attribute" / module
strings, imported by whoever uses them. A kind registered from outside (`register`) must be
registered before `dsl.spec` is imported, since the spec models are built once, at import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

# Generated data: this many images per split when a task leaves its size unset.
GENERATED = {"train": 50000, "val": 10000, "test": 10000}
CIFAR_VAL = 5000  # taken from the training set; the test set is used whole


@dataclass(frozen=True)
class DataKind:
    name: str
    model: str  # "module:Model": the pydantic model of its table (`kind: Literal[name]`)
    resolver: str  # module: resolve(r, m, seed, env, path) and class_count(data, label), ...
    doc: str
    real: bool = False  # a finite set of real images: null sizes mean all of them
    # split -> its size when the task leaves it unset (None: all the images there are, or, for
    # val, the dataset job's own share of the training pool)
    sizes: Mapping[str, int | None] = field(default_factory=lambda: dict(GENERATED))
    labels: tuple[str, ...] = ("class",)  # the labels a task on it may use
    # fields of its table, as key paths, that hold other data (<data ref>s: a composite's parts)
    nested: tuple[tuple[str, ...], ...] = ()
    # fields of its table, as key paths, that may name a draw -> the draw's sort (a classes
    # draw must be of this kind)
    draws: Mapping[tuple[str, ...], str] = field(default_factory=dict)
    builtins: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # name -> config
    # real data: images per class in its "train" and "test" pools, for the cost estimate of a
    # null size (None: not known before the files are read)
    per_class: Mapping[str, int] | None = None
    # "module:function" (config, seed, sizes, data root, sub) -> the engine's image source
    # (engine.data.sources); `sub` builds a nested config's source. None: plan-only.
    source: str | None = None


_CIFAR_SIZES = {"train": None, "val": CIFAR_VAL, "test": None}
_RESOLVE = "dsl.data_resolvers."
_SOURCE = "engine.data.generation:"

DATA_KINDS: dict[str, DataKind] = {k.name: k for k in [
    DataKind("transforms2d", "dsl.spec:Transforms2dData", _RESOLVE + "transforms2d",
             "objects on backgrounds, one class per object, under drawn transforms",
             draws={("objects",): "objects"}, source=_SOURCE + "transforms2d_source"),
    DataKind("random_patterns", "dsl.spec:RandomPatternsData", _RESOLVE + "random_patterns",
             "fixed random patterns, one class each",
             draws={("patterns",): "patterns"}, source=_SOURCE + "random_patterns_source"),
    *(DataKind(name, "dsl.spec:CifarData", _RESOLVE + "cifar",
               f"{title} (local files), optionally a subset of its classes",
               real=True, sizes=_CIFAR_SIZES, draws={("classes",): "classes"},
               per_class=per_class, source=_SOURCE + "cifar_source",
               builtins={name: {"kind": name, "classes": None, "transforms": [],
                                "resolution": 32}})
      for name, title, per_class in (("cifar10", "CIFAR-10", {"train": 5000, "test": 1000}),
                                     ("cifar100", "CIFAR-100", {"train": 500, "test": 100}))),
    DataKind("image_folder", "dsl.spec:ImageFolderData", _RESOLVE + "image_folder",
             "a local folder with one sub-folder of images per class",
             real=True, sizes={"train": None, "val": None, "test": None},
             source=_SOURCE + "image_folder_source"),
    DataKind("composite", "dsl.spec:CompositeData", _RESOLVE + "composite",
             "a foreground pasted on a background, each labelled",
             labels=("class", "foreground", "background"),
             nested=(("background",), ("foreground", "data")),
             draws={("foreground", "objects"): "objects"}, source=_SOURCE + "composite_source"),
    DataKind("solid", "dsl.spec:SolidData", _RESOLVE + "solid", "one colour, one class",
             source=_SOURCE + "solid_source",
             builtins={"black": {"kind": "solid", "color": [0, 0, 0], "resolution": 32}}),
]}
_SHIPPED = dict(DATA_KINDS)


def register(kind: DataKind) -> DataKind:
    """Add (or replace) a data kind; before `dsl.spec` is first imported."""
    DATA_KINDS[kind.name] = kind
    return kind


def plugins() -> tuple[DataKind, ...]:
    """The records registered from outside (new kinds, or shipped ones replaced): what a worker
    process registers again before it runs a job, since a job's config names a data kind but
    not the module that registered it (records are plain data, so they travel with the task)."""
    return tuple(k for name, k in DATA_KINDS.items() if _SHIPPED.get(name) is not k)


def names() -> tuple[str, ...]:
    return tuple(DATA_KINDS)


def at(table: Any, path: tuple[str, ...]) -> Any:
    """The value at a key path of a raw table (None where the path does not lead to one)."""
    for key in path:
        if not isinstance(table, dict):
            return None
        table = table.get(key)
    return table


def builtins() -> dict[str, Mapping[str, Any]]:
    """Built-in data name -> its resolved data config, over every kind."""
    return {n: c for k in DATA_KINDS.values() for n, c in k.builtins.items()}
