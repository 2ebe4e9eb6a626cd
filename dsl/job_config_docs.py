"""The config fields of every job kind, as the section of docs/jobs.md that lists them: generated
from the classes in dsl.job_configs (their fields, types and meanings) and the spec models in
dsl.spec (the spec field each value is filled from and its default there, the one place a default
is written). tests/test_job_configs.py keeps docs/jobs.md equal to `markdown()`.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Mapping
from dataclasses import fields
from typing import Any, Union

from dsl import kinds
from dsl import spec as models
from dsl.job_configs import JobConfig, Part, Transform, config_class, field_types


def _source(spec: str | None) -> str:
    """'`[train] lr` (default 0.001)' for a field filled from the spec."""
    if spec is None:
        return "-"
    section, name = spec.split(".")
    if section == "train":
        model, where = models.TrainSpec, "[train]"
    elif section == "task":
        model, where = models.TaskSpec, "[task.NAME]"
    else:
        model, where = models.PROBE_MODELS[section], f'[[probe]] kind = "{section}":'
    f = model.model_fields[name]
    if f.is_required():
        default = "required"
    else:
        value = f.get_default(call_default_factory=True)
        default = "default " + ("none" if value in (None, [], {}) else f"`{json.dumps(value)}`")
    return f"`{where} {f.alias or name}` ({default})"


def _type(tp: Any) -> str:
    """A field's type as JSON data: `int | null`, `list[TF]`, `table`, `float`."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, types.UnionType):
        return " or ".join("null" if a is type(None) else _type(a) for a in args)
    if origin is tuple:
        return f"list[{_type(args[0])}]"
    if origin is Mapping:
        return "table"
    if tp is Transform:
        return "TF"
    return tp.__name__


def _rows(cls: type, at: str = "", section: str | None = None) -> list[str]:
    """Table rows of a config's fields, a part's flattened as `part.field`; `section` is the
    spec table its part's fields come from where it is not [train] (finetune's schedule)."""
    rows = []
    hints = field_types(cls)
    for f in fields(cls):
        name, tp = f"{at}.{f.name}" if at else f.name, hints[f.name]
        if isinstance(tp, type) and issubclass(tp, Part) and not issubclass(tp, JobConfig) \
                and tp is not Transform:
            rows += _rows(tp, name, f.metadata.get("spec"))
            continue
        meaning = f.metadata.get("doc", "")
        if f.metadata.get("choices"):
            meaning += f" ({', '.join(f.metadata['choices'])})"
        if f.name in cls.OMIT_EMPTY:  # written only when set: its type is what it is then
            meaning += "; absent when empty"
            if typing.get_origin(tp) in (Union, types.UnionType):
                tp = next(a for a in typing.get_args(tp) if a is not type(None))
        spec = f.metadata.get("spec")
        if spec is not None and section is not None:
            spec = f"{section}.{spec.split('.')[1]}"
        rows.append(f"| `{name}` | `{_type(tp)}` | {_source(spec)} | "
                    f"{meaning} |")
    return rows


def markdown() -> str:
    """Every registered kind's config fields, as in docs/jobs.md (tests/test_job_configs.py
    keeps them equal; `python3 -m dsl.job_config_docs` prints it)."""
    out = []
    for record in kinds.ordered():
        cls = config_class(record.name)
        if cls is None:
            continue
        out += [f"### `{record.name}` config ({cls.__name__})", "",
                "| field | type | from the spec | meaning |", "|---|---|---|---|",
                *_rows(cls), ""]
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown(), end="")
