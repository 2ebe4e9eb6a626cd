"""Per-data-kind resolvers: a validated [data.*] table -> the data config jobs carry, and what the
planner asks of a data config (docs/jobs.md "Data config").

One module per data kind, named by its record in `dsl.data_kinds`. A module defines
    resolve(r, m, seed, env, path) -> dict   the config of model `m` for one cell; `r` is the
                                             `dsl.resolve.Resolver` (draws, transforms, nested
                                             data, errors at `path`)
    class_count(data, label) -> int          classes of `label` (one of the record's labels)
and, where the kind has them,
    parts(data) -> {role: data config}       data configs nested in it (a composite's two)
    base(data) -> data config                the part whose images and sizes it is built on
    sources(data) -> set[str]                local files it reads itself (dsl.local_files)
    check(r, m, data, sizes, path, env, main) -> list[Problem]
                                             problems of a task's sizes against it (`main`: the
                                             splits are its own, not a foreground's)
The functions below apply these to any data config, nested parts included.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, Mapping

from dsl import catalog
from dsl.data_kinds import DATA_KINDS, DataKind
from dsl.errors import DslError, SpecError

MAX_GENERATED_BYTES = 64 * 2 ** 30  # one generated dataset, uint8 (500k at 32x32: 1.4 GiB)


def transform(name: str, overrides: Mapping[str, Any],
              table: Mapping[str, catalog.TransformInfo] = catalog.TRANSFORMS) -> dict[str, Any]:
    """{"name", "params"} with every catalog parameter present, typed by the catalog so that
    `degrees = [0, 90]` and `[0.0, 90.0]` are one identity."""
    params = {}
    for pname, param in table[name].params.items():
        value = overrides.get(pname, param.default)
        if param.type == "range":
            value = [float(value[0]), float(value[1])]
        elif param.type == "int":
            value = int(value)
        else:
            value = float(value)
        params[pname] = value
    return {"name": name, "params": params}


class FolderMissing(DslError):
    """An image folder whose classes are needed to plan is absent (a problem of its `path`)."""


def record(data: Mapping[str, Any]) -> DataKind:
    kind = data["kind"]
    if kind not in DATA_KINDS:  # pragma: no cover - validated earlier
        raise DslError(f"unknown data kind {kind!r}")
    return DATA_KINDS[kind]


def module(data: Mapping[str, Any]) -> ModuleType:
    return importlib.import_module(record(data).resolver)


def resolve(r: Any, m: Any, seed: int, env: Mapping[str, Any], path: tuple) -> dict[str, Any]:
    """A validated data model -> its data config."""
    return module({"kind": m.kind}).resolve(r, m, seed, env, path)


def parts(data: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    fn = getattr(module(data), "parts", None)
    return dict(fn(data)) if fn else {}


def base(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """The data config whose images (and so sizes) `data` is built on, through every level."""
    fn = getattr(module(data), "base", None)
    return base(fn(data)) if fn else data


def real_kind(data: Mapping[str, Any]) -> str | None:
    """The finite, real image source under a data config (a composite's is its background's)."""
    under = base(data)
    return under["kind"] if record(under).real else None


def data_transform_names(data: Mapping[str, Any]) -> set[str]:
    """Transform names a data config applies (a composite: those of both of its parts)."""
    own = {tf["name"] for tf in data.get("transforms", ())}
    return own.union(*(data_transform_names(p) for p in parts(data).values()))


def local_sources(data: Mapping[str, Any]) -> set[str]:
    """The local files a data config reads, as fingerprint sources (dsl.local_files):
    "cifar10", "cifar100", or "folder:<path>" for image, foreground and background folders."""
    fn = getattr(module(data), "sources", None)
    own = set(fn(data)) if fn else set()
    return own.union(*(local_sources(p) for p in parts(data).values()))


def class_count(data: Mapping[str, Any], label: str = "class") -> int:
    """How many classes `label` has in a data config (raises DslError when it has none)."""
    if label not in record(data).labels:
        raise DslError(f"label '{label}' needs composite data; this data is {data['kind']}")
    return module(data).class_count(data, label)


def sizes(data: Mapping[str, Any], m: Any) -> dict[str, int | None]:
    """A task's split sizes: its own, else its data's defaults (real data: null = every image
    available, val carved from the training set)."""
    defaults = record(base(data)).sizes
    own = {"train": m.n_train, "val": m.n_val, "test": m.n_test}
    return {s: own[s] if own[s] is not None else defaults[s] for s in ("train", "val", "test")}


def kind_problems(r: Any, m: Any, data: Mapping[str, Any], sizes: Mapping[str, int | None],
                  path: tuple, env: Mapping[str, Any], main: bool = True) -> list:
    """Each kind's own checks of a task's (profiled) sizes, nested parts included."""
    fn = getattr(module(data), "check", None)
    return list(fn(r, m, data, sizes, path, env, main)) if fn else []


def check(r: Any, m: Any, data: Mapping[str, Any], sizes: Mapping[str, int | None],
          path: tuple, env: Mapping[str, Any]) -> None:
    """The sizes a task's dataset job asks for (after the profile) against its data."""
    problems = kind_problems(r, m, data, sizes, path, env)
    if problems:
        raise SpecError(problems)
    check_generated_bytes(r, data, sizes, path, env)


def check_generated_bytes(r: Any, data: Mapping[str, Any], sizes: Mapping[str, Any],
                          path: tuple, env: Mapping[str, Any]) -> None:
    """Generated data is rendered once and kept whole as uint8 (in memory while it is made,
    then in the store): a size typed with three zeros too many is a problem now, not an
    out-of-memory error hours into a run."""
    if real_kind(data) is not None:
        return
    res = int(data.get("resolution") or 32)
    counts = {k: int(v or 0) for k, v in sizes.items()}
    size = sum(counts.values()) * 3 * res * res
    if size <= MAX_GENERATED_BYTES:
        return
    biggest = max(counts, key=lambda k: counts[k])
    raise r._fail(path + (f"n_{biggest}",),
                  f"{sum(counts.values()):,} images at {res}x{res} make a "
                  f"{size / 2 ** 30:,.0f} GiB dataset (generated data is kept whole as "
                  f"uint8; at most {MAX_GENERATED_BYTES // 2 ** 30} GiB)",
                  "the paper's largest pretraining set is 500,000 images", env)
