"""Raw spec models: the TOML document as written, checked field by field against `dsl.catalog`.

These are the *raw* types (dbt's lesson: raw and resolved nodes differ). References between
sections (task -> data, probe -> task, draw -> draw, "{factor}") are only checked by `dsl.load`,
which sees the whole document; resolution into concrete jobs is the back end's (`dsl.resolve`).

Factor placeholders. Any value in [data.*], [task.*], [train] and [[probe]] may be a string
holding "{NAME}". A field whose final type is not a string (`n_train = "{n_train}"`,
`epochs = "{epochs}"`) accepts exactly one placeholder; string fields (names, references) accept
any string containing a placeholder ("chain[{k}]", "{relation}_objects"). Such values pass here
unchecked. After substituting a cell's factor values, the back end validates the substituted
section again with the same model (`TrainSpec.model_validate(section)` etc., see
`validate_section`): by then no placeholder is left, so every check of this module applies.
[spec], [draw], [factors] and [[report]] take no placeholders: they define the grid itself.
Longer than 400 lines: the whole raw language, one model per section (`dsl schema` is made from
it).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from pydantic import (BaseModel, ConfigDict, Discriminator, Field, PlainValidator, StrictBool,
                      StrictFloat, StrictInt, StrictStr, Tag, TypeAdapter, ValidationError, WithJsonSchema, field_validator,
                      model_validator)
from pydantic_core import PydanticCustomError

from dsl import catalog, data_kinds, kinds

# ---------------------------------------------------------------------------------------------
# Placeholders and flexible scalar types
# ---------------------------------------------------------------------------------------------

FACTOR_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
PLACEHOLDER_RE = re.compile(r"\{(" + FACTOR_NAME + r")\}")
EXACT_PLACEHOLDER_RE = re.compile(r"^\{(" + FACTOR_NAME + r")\}$")
PLACEHOLDER_SCHEMA = {"type": "string", "pattern": r"^\{[A-Za-z_][A-Za-z0-9_]*\}$",
                      "description": 'a factor placeholder "{NAME}"'}

# Built-in data references usable wherever a <data ref> is expected (from the data-kind registry).
BUILTIN_DATA = tuple(data_kinds.builtins())
# Sensitivity components and the special words of a <transforms ref>.
TRANSFORM_WORDS = ("none", "all")
# Metrics each job kind reports (docs/jobs.md); reports address them as "probe.metric".
METRICS = kinds.METRICS  # kind -> metrics, from the job-kind registry
# Columns the planner derives for every (cell, probe); usable as report dimensions.
DERIVED_COLUMNS = ("probe", "transform_relation", "train_transforms", "probe_transforms")
CHART_KINDS = ("line", "bar", "heatmap")


def placeholders(value: Any) -> list[str]:
    """Factor names written as "{NAME}" anywhere inside `value` (strings, lists, tables)."""
    if isinstance(value, str):
        return PLACEHOLDER_RE.findall(value)
    if isinstance(value, dict):
        return [n for v in value.values() for n in placeholders(v)]
    if isinstance(value, list):
        return [n for v in value for n in placeholders(v)]
    return []


def is_placeholder(value: Any) -> bool:
    """True for a string that is exactly one "{NAME}" (it takes the factor value's type)."""
    return isinstance(value, str) and EXACT_PLACEHOLDER_RE.match(value) is not None


def has_placeholder(value: Any) -> bool:
    return isinstance(value, str) and PLACEHOLDER_RE.search(value) is not None


def flex(tp: Any, what: str) -> Any:
    """The type `tp` (strictly: TOML types are exact, "50" is not an int) or a "{NAME}".

    A single plain validator instead of a `tp | str` union so a wrong value gives one clear
    error, not one per union member.
    """
    adapter = TypeAdapter(tp, config=ConfigDict(strict=True))

    def check(value: Any) -> Any:
        if is_placeholder(value):
            return value
        try:
            return adapter.validate_python(value)
        except ValidationError as err:
            first = err.errors()[0]
            detail = first["msg"]
            if first["type"].endswith("_type") or first["type"] in (
                    "int_from_float", "greater_than", "greater_than_equal", "less_than",
                    "less_than_equal"):
                detail = f"expected {what}"  # what says the bound too: "an integer >= 1"
            elif first["loc"]:
                detail = f"{detail} (item {'.'.join(map(str, first['loc']))})"
            raise PydanticCustomError(
                "wrong_value", "{detail}, got {got}",
                {"detail": detail, "got": _show(value), "expected": what}) from None

    schema = adapter.json_schema()
    return Annotated[Any, PlainValidator(check),
                     WithJsonSchema({"anyOf": [schema, PLACEHOLDER_SCHEMA]})]


def name_of(what: str, choices: tuple[str, ...] | list[str], *, placeholder: bool = True) -> Any:
    """A name out of a catalog table; unknown names carry the choices for a did-you-mean."""
    choices = tuple(choices)

    def check(value: Any) -> Any:
        if not isinstance(value, str):
            raise PydanticCustomError("wrong_value", "expected {expected} name, got {got}",
                                      {"expected": f"a {what}", "got": _show(value)})
        if value in choices or (placeholder and has_placeholder(value)):
            return value
        raise PydanticCustomError(
            "unknown_name", "unknown {what} '{value}' (one of: {listing})",
            {"what": what, "value": value, "choices": list(choices),
             "listing": _listing(choices)})

    schema: dict[str, Any] = {"enum": list(choices)}
    if placeholder:
        schema = {"anyOf": [schema, {"type": "string", "pattern": r"\{[A-Za-z_][A-Za-z0-9_]*\}"}]}
    return Annotated[str, PlainValidator(check), WithJsonSchema(schema)]


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, bool) else str(value).lower()
    return text if len(text) <= 40 else text[:37] + "..."


def _listing(choices: tuple[str, ...]) -> str:
    return ", ".join(choices) if len(choices) <= 20 else ", ".join(choices[:20]) + ", ..."


# Factor values and filter values: TOML scalars, strictly (no "1" -> 1 coercion).
Scalar = Union[StrictBool, StrictInt, StrictFloat, StrictStr]

PosInt = Annotated[int, Field(ge=1)]
NonNegInt = Annotated[int, Field(ge=0)]
PosFloat = Annotated[float, Field(gt=0)]
NonNegFloat = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]
OpenFraction = Annotated[float, Field(gt=0, le=1)]

FPosInt = flex(PosInt, "an integer >= 1")
FNonNegInt = flex(NonNegInt, "an integer >= 0")
FPosFloat = flex(PosFloat, "a number > 0")
FNonNegFloat = flex(NonNegFloat, "a number >= 0")
FFraction = flex(Fraction, "a number in [0, 1]")
FOpenFraction = flex(OpenFraction, "a number in (0, 1]")
FResolution = flex(Annotated[int, Field(ge=8, le=1024)], "an integer in [8, 1024]")
FOptPosInt = flex(Union[PosInt, None], "an integer >= 1")
# Eq. 1's independent samples are the images of two different pairs (engine/probes/sensitivity.py)
FPairs = flex(Annotated[int, Field(ge=2)], "an integer >= 2")

Arch = name_of("arch", tuple(catalog.ARCHS))
Optimizer = name_of("optimizer", catalog.OPTIMIZERS)
Schedule = name_of("schedule", catalog.SCHEDULES)
Checkpoint = name_of("checkpoint", catalog.CHECKPOINTS)
Label = name_of("label", catalog.LABELS)
Position = name_of("position", catalog.POSITIONS)
Split = name_of("split", catalog.SPLITS)
CifarName = name_of("dataset", tuple(catalog.CIFAR_CLASSES), placeholder=False)
ChartKind = name_of("chart kind", CHART_KINDS, placeholder=False)

# <transforms ref>: a draw name, a transform name, "none", "all", "CHAIN[k]", or a list of
# transform names and draw names. Names are checked in dsl.load (draw names need the document).
TransformsRef = Union[str, list[str]]
# <objects ref>: an objects draw name, or a list of object names (checked here).
ObjectName = name_of("object", catalog.OBJECT_NAMES)
ObjectsRef = Union[str, list[ObjectName]]


class Raw(BaseModel):
    """Every raw model refuses unknown keys: a typo must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# ---------------------------------------------------------------------------------------------
# [spec]
# ---------------------------------------------------------------------------------------------

# A spec's name becomes file names (reports, charts): one path component, never '.' or '..'.
SPEC_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"


class SpecMeta(Raw):
    name: str | None = Field(None, description="default: the file stem", pattern=SPEC_NAME)
    title: str
    description: str | None = None
    seeds: Annotated[int, Field(ge=1, strict=True)] | Annotated[
        list[Annotated[int, Field(ge=0, strict=True)]], Field(min_length=1)] = Field(
        1, description="a count n (seeds 0..n-1) or a list of seeds")
    extends: str | list[str] | None = Field(
        None, description="base spec file(s), relative to this file; merged under this one")

    @field_validator("name", mode="before")
    @classmethod
    def _identifier(cls, v):
        if isinstance(v, str) and not re.fullmatch(SPEC_NAME, v):
            raise PydanticCustomError(
                "wrong_value", "a spec name is letters, digits, '_', '-' and '.', starting with "
                "a letter, digit or '_' (it names the spec's report files), got {got}",
                {"got": _show(v)})
        return v

    @field_validator("seeds")
    @classmethod
    def _unique_seeds(cls, v):
        if isinstance(v, list) and len(set(v)) != len(v):
            raise PydanticCustomError("duplicate", "seeds must not repeat, got {got}",
                                      {"got": _show(v)})
        return v

    def seed_list(self) -> list[int]:
        return list(range(self.seeds)) if isinstance(self.seeds, int) else list(self.seeds)


# ---------------------------------------------------------------------------------------------
# [draw]
# ---------------------------------------------------------------------------------------------

def _as_list(v: Any) -> Any:
    return [v] if isinstance(v, str) else v


class _DrawBase(Raw):
    # one name or a list of names; always a list after validation
    disjoint_from: list[str] | str = Field(default_factory=list,
                                           description="draw names whose members are excluded")
    includes: str | None = Field(None, description="a draw whose members are all included")

    @field_validator("disjoint_from")
    @classmethod
    def _one_or_list(cls, v):
        return _as_list(v)


class ObjectsDraw(_DrawBase):
    objects: Annotated[int, Field(ge=1, le=len(catalog.OBJECT_NAMES), strict=True)]
    from_: str | list[ObjectName] | None = Field(
        None, alias="from", description="a draw name or a list of object names to draw from")


class TransformsDraw(_DrawBase):
    transforms: Annotated[int, Field(ge=0, le=len(catalog.TRANSFORMS), strict=True)]
    from_: str | list[name_of("transform", tuple(catalog.TRANSFORMS))] | None = Field(
        None, alias="from", description="a draw name or a list of transform names to draw from")
    nested: bool = Field(False, description='a random order; "NAME[k]" is its first k')


class ClassesDraw(_DrawBase):
    classes: Annotated[int, Field(ge=1, strict=True)]
    of: CifarName
    from_: str | list[Annotated[int, Field(ge=0, strict=True)]] | None = Field(None, alias="from")

    @model_validator(mode="after")
    def _fits(self):
        total = catalog.CIFAR_CLASSES[self.of]
        if self.classes > total:
            raise PydanticCustomError("too_many", "{of} has only {total} classes, asked for {n}",
                                      {"of": self.of, "total": total, "n": self.classes})
        return self


class PatternsDraw(_DrawBase):
    patterns: Annotated[int, Field(ge=1, le=catalog.N_PATTERNS, strict=True)]
    from_: str | list[Annotated[int, Field(ge=0, lt=catalog.N_PATTERNS, strict=True)]] | None = (
        Field(None, alias="from"))


DRAW_SORTS = ("objects", "transforms", "classes", "patterns")


def _draw_sort(v: Any) -> str | None:
    """The draw's sort is the one of objects/transforms/classes/patterns it names."""
    if isinstance(v, BaseModel):
        return next(s for s in DRAW_SORTS if hasattr(v, s))
    if isinstance(v, dict):
        found = [s for s in DRAW_SORTS if s in v]
        return found[0] if len(found) == 1 else ("ambiguous" if found else None)
    return None


DrawEntry = Annotated[
    Union[Annotated[ObjectsDraw, Tag("objects")], Annotated[TransformsDraw, Tag("transforms")],
          Annotated[ClassesDraw, Tag("classes")], Annotated[PatternsDraw, Tag("patterns")]],
    Discriminator(_draw_sort, custom_error_type="draw_sort",
                  custom_error_message="a draw names exactly one of objects, transforms, "
                                       "classes, patterns"),
]


# ---------------------------------------------------------------------------------------------
# [data.*]
# ---------------------------------------------------------------------------------------------

def _check_params(params: dict[str, dict[str, Any]], table: dict[str, catalog.TransformInfo]
                  = catalog.TRANSFORMS) -> dict[str, dict[str, Any]]:
    """Per-transform overrides: transform and parameter names and types from the catalog
    (`table`: the data transforms, or those and the augmentation-only ops).

    Every problem is collected: the first is raised, the others ride in its ctx ("more") and
    dsl.load turns each into its own Problem."""
    found: list[tuple[str, str, dict[str, Any]]] = []
    for tname, values in params.items():
        if tname not in table:
            found.append(("unknown_name", "unknown transform '{value}' in params",
                          {"what": "transform", "value": tname,
                           "choices": list(table), "key": tname}))
            continue
        if not isinstance(values, dict):
            found.append(("wrong_value", "params.{t} must be a table, got {got}",
                          {"t": tname, "got": _show(values), "key": tname}))
            continue
        known = table[tname].params
        for pname, value in values.items():
            if pname not in known:
                found.append((
                    "unknown_name", "transform '{t}' has no parameter '{value}' (it has: {listing})",
                    {"t": tname, "what": "parameter", "value": pname, "choices": list(known),
                     "listing": ", ".join(known) or "none", "key": f"{tname}.{pname}"}))
                continue
            if is_placeholder(value) or (isinstance(value, list)
                                         and any(is_placeholder(x) for x in value)):
                continue  # checked again once the cell's values are substituted
            problem = _param_problem(known[pname].type, value) or _out_of_bounds(
                known[pname], value)
            if problem:
                found.append(("wrong_value", "expected {detail}, got {got}",
                              {"t": tname, "p": pname, "detail": problem, "got": _show(value),
                               "key": f"{tname}.{pname}"}))
    if found:
        kind, template, ctx = found[0]
        raise PydanticCustomError(kind, template, {**ctx, "more": found[1:]} if found[1:] else ctx)
    return params


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _param_problem(kind: str, v: Any) -> str | None:
    if kind == "range":
        ok = (isinstance(v, list) and len(v) == 2 and all(_is_number(x) for x in v)
              and v[0] <= v[1])
        return None if ok else "a range [low, high] with low <= high"
    if kind == "prob":
        return None if _is_number(v) and 0 <= v <= 1 else "a probability in [0, 1]"
    if kind == "int":
        return None if isinstance(v, int) and not isinstance(v, bool) else "an integer"
    return None if _is_number(v) else "a number"


def _out_of_bounds(param: catalog.Param, v: Any) -> str | None:
    """A well-typed value outside what the parameter can mean (a zero blur sigma, 9 bits)."""
    values = v if isinstance(v, list) else [v]
    if all(param.allows(x) for x in values):
        return None
    return f"{'both ends ' if isinstance(v, list) else 'a value '}{param.allowed()}"


def _params_schema(table: dict[str, catalog.TransformInfo] = catalog.TRANSFORMS
                   ) -> dict[str, Any]:
    props = {}
    for name, info in table.items():
        p = {}
        for pname, param in info.params.items():
            bounds = {k: v for k, v in (("minimum", param.low), ("maximum", param.high))
                      if v is not None}
            if param.positive:
                bounds["exclusiveMinimum"] = 0
            base = {"range": {"type": "array", "items": {"type": "number", **bounds},
                              "minItems": 2, "maxItems": 2},
                    "prob": {"type": "number", "minimum": 0, "maximum": 1},
                    "int": {"type": "integer", **bounds},
                    "float": {"type": "number", **bounds}}[param.type]
            p[pname] = {"anyOf": [base, PLACEHOLDER_SCHEMA], "description": param.doc}
        props[name] = {"type": "object", "properties": p, "additionalProperties": False}
    return {"type": "object", "properties": props, "additionalProperties": False,
            "description": "per-transform parameter overrides"}


TransformParams = Annotated[dict[str, Any], PlainValidator(
    lambda v: _check_params(v) if isinstance(v, dict) else _raise_table(v)),
    WithJsonSchema(_params_schema())]
# Online augmentation's overrides: the data transforms' parameters and the augment-only ops'.
AUGMENT_TABLE = {**catalog.TRANSFORMS, **catalog.AUGMENT_OPS}
AugmentParams = Annotated[dict[str, Any], PlainValidator(
    lambda v: _check_params(v, AUGMENT_TABLE) if isinstance(v, dict) else _raise_table(v)),
    WithJsonSchema(_params_schema(AUGMENT_TABLE))]


def _raise_table(v: Any):
    raise PydanticCustomError("wrong_value", "expected a table, got {got}", {"got": _show(v)})


class Transforms2dData(Raw):
    kind: Literal["transforms2d"]
    objects: ObjectsRef
    transforms: TransformsRef = "none"
    resolution: FResolution = 32
    foregrounds: str = Field("openmoji", description='"openmoji" or a folder of RGBA images')
    backgrounds: str = Field("procedural", description='"procedural" or a folder of images')
    object_size: FOpenFraction = 0.7
    params: TransformParams = Field(default_factory=dict)


class RandomPatternsData(Raw):
    kind: Literal["random_patterns"]
    patterns: str | Annotated[int, Field(ge=1, le=catalog.N_PATTERNS, strict=True)] = Field(
        description="a patterns draw name or a count")
    transforms: TransformsRef = "none"
    resolution: FResolution = 32
    pattern_size: FOpenFraction = 0.7
    params: TransformParams = Field(default_factory=dict)


class CifarData(Raw):
    kind: Literal["cifar10", "cifar100"]
    classes: str | list[Annotated[int, Field(ge=0, lt=100, strict=True)]] | None = Field(
        None, description="a classes draw name or class indices; default all")
    transforms: TransformsRef = "none"
    params: TransformParams = Field(default_factory=dict)

    @model_validator(mode="after")
    def _in_range(self):
        if isinstance(self.classes, list):
            total = catalog.CIFAR_CLASSES[self.kind]
            bad = [c for c in self.classes if c >= total]
            if bad:
                raise PydanticCustomError("wrong_value", "{kind} has classes 0..{last}, got {bad}",
                                          {"kind": self.kind, "last": total - 1, "bad": bad,
                                           "key": "classes"})
        return self


class ImageFolderData(Raw):
    kind: Literal["image_folder"]
    path: str = Field(description="a folder with one sub-folder of images per class")
    classes: list[str] | None = Field(None, description="class folder names; default all")
    transforms: TransformsRef = "none"
    resolution: FResolution = 32
    params: TransformParams = Field(default_factory=dict)


class SolidData(Raw):
    kind: Literal["solid"]
    color: flex(Annotated[list[Annotated[int, Field(ge=0, le=255)]],
                          Field(min_length=3, max_length=3)], "[r, g, b] in 0..255") = (
        Field(default_factory=lambda: [0, 0, 0]))
    resolution: FResolution = 32


class Foreground(Raw):
    """What a composite pastes: another dataset (`data`) or objects on a transparent canvas."""

    data: DataRef | None = None
    objects: ObjectsRef | None = None
    scale: FOpenFraction = 0.55
    position: Position = "upper_right"
    correlation: FFraction = Field(0.0, description="how often the foreground class follows "
                                                    "the background class")
    availability: FFraction = Field(1.0, description="fraction of images with a foreground")

    @model_validator(mode="after")
    def _one_source(self):
        if (self.data is None) == (self.objects is None):
            raise PydanticCustomError("one_of", "a foreground needs exactly one of data, objects",
                                      {})
        return self


class CompositeData(Raw):
    kind: Literal["composite"]
    background: DataRef
    foreground: Foreground


# Each data kind's model is named by its record in the registry; a kind registered after this
# module is imported is not one a spec can name (dsl.data_kinds).
DATA_MODELS: dict[str, type[Raw]] = {
    name: kinds.load(k.model) for name, k in data_kinds.DATA_KINDS.items()}


def _data_tag(v: Any) -> str | None:
    if isinstance(v, str):
        return "ref"
    if isinstance(v, BaseModel):
        return v.kind  # type: ignore[attr-defined]
    if isinstance(v, dict):
        kind = v.get("kind")
        return kind if isinstance(kind, str) else None
    return None


def _data_union(with_ref: bool) -> Any:
    members = [Annotated[model, Tag(kind)] for kind, model in DATA_MODELS.items()]
    if with_ref:
        members.insert(0, Annotated[str, Tag("ref")])
    return Annotated[Union[tuple(members)], Discriminator(
        _data_tag, custom_error_type="data_kind",
        custom_error_message="a dataset needs kind = one of " + ", ".join(data_kinds.names())
        + (" (or is a data name)" if with_ref else ""))]


DataDef = _data_union(with_ref=False)
# <data ref>: a [data.NAME] name, a built-in ("cifar10", "cifar100", "black"), or an inline table.
DataRef = _data_union(with_ref=True)

Foreground.model_rebuild()
CompositeData.model_rebuild()


# ---------------------------------------------------------------------------------------------
# [task.*], [factors], [train]
# ---------------------------------------------------------------------------------------------

class TaskSpec(Raw):
    data: DataRef
    label: Label = "class"
    n_train: FOptPosInt = Field(None, description="default 50000 for generated data; all "
                                                  "remaining after val for cifar")
    n_val: FOptPosInt = Field(None, description="default 10000; 5000 taken from train for cifar")
    n_test: FOptPosInt = Field(None, description="default 10000; the whole test set for cifar")


AUGMENT_DOC = ("online augmentation of every training batch: transform names, transforms draws, "
               "'crop' or the preset 'standard' (crop + hflip)")

FactorValues = Annotated[list[Scalar], Field(min_length=1)]


class FactorsSpec(BaseModel):
    """Named swept values; `zip` and `exclude` are reserved. Factor names are free, so this is the
    one table that allows extra keys (each must be a non-empty list of scalars)."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, FactorValues]

    zip: list[Annotated[list[str], Field(min_length=2)]] = Field(
        default_factory=list, description="groups of factors that vary together")
    exclude: list[dict[str, Scalar]] = Field(
        default_factory=list, description="drop every cell matching all given pairs")

    def values(self) -> dict[str, list[Any]]:
        """The factors in written order, without the reserved keys."""
        return dict(self.__pydantic_extra__ or {})


class TrainSpec(Raw):
    task: str = Field(description="a task name")
    arch: Arch = "resnet18"
    width: FPosFloat = 1.0
    optimizer: Optimizer = "adam"
    lr: FPosFloat = 1e-3
    weight_decay: FNonNegFloat = 0.0
    momentum: FFraction = 0.9
    schedule: Schedule = "constant"
    warmup_epochs: FNonNegInt = 0
    final_lr: FNonNegFloat = 0.0
    epochs: FPosInt = 50
    batch_size: FPosInt = 512
    checkpoint: Checkpoint = "last"
    augment: TransformsRef = Field(default_factory=list, description=AUGMENT_DOC)
    augment_params: AugmentParams = Field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# [[probe]]
# ---------------------------------------------------------------------------------------------

class _ProbeBase(Raw):
    name: str | None = Field(None, description="default: the kind; unique within the spec")

    @property
    def name_or_kind(self) -> str:
        """The probe's name in reports: `name`, else its kind."""
        return self.name or self.kind  # type: ignore[attr-defined]


class LinearProbe(_ProbeBase):
    kind: Literal["linear"]
    task: str
    epochs: FPosInt = 200
    lr: FPosFloat = 1e-3
    batch_size: FPosInt = 512
    weight_decay: FNonNegFloat = 0.0
    n_train: FOptPosInt = None


class FinetuneProbe(_ProbeBase):
    kind: Literal["finetune"]
    task: str
    n_train: FPosInt
    epochs: FPosInt = 50
    lr: FPosFloat = 1e-4
    batch_size: FPosInt = 256
    optimizer: Optimizer = "adam"
    weight_decay: FNonNegFloat = 0.0
    schedule: Schedule = "linear"
    warmup_epochs: FNonNegInt = 0
    final_lr: FNonNegFloat = 0.0
    linear_epochs: FPosInt = 200
    linear_lr: FPosFloat = 1e-3
    augment: TransformsRef = Field(default_factory=list, description=AUGMENT_DOC)
    augment_params: AugmentParams = Field(default_factory=dict)


class SensitivityProbe(_ProbeBase):
    kind: Literal["sensitivity"]
    task: str | None = Field(None, description="default: the train task")
    vary: TransformsRef = Field(description='a <transforms ref>, "background" or "foreground"')
    pairs: FPairs = 10000


class AccuracyProbe(_ProbeBase):
    kind: Literal["accuracy"]
    task: str | None = Field(None, description="default: the train task")
    splits: Annotated[list[Split], Field(min_length=1)] = Field(
        default_factory=lambda: ["test"])


# Each probe kind's model is named by its record in the registry; a kind registered after this
# module is imported is not a probe a spec can name (dsl.kinds).
PROBE_MODELS: dict[str, type[Raw]] = {
    name: kinds.load(kinds.KINDS[name].probe) for name in kinds.probe_kinds()}
assert set(PROBE_MODELS) == set(catalog.PROBE_KINDS)


def _kind_tag(v: Any) -> str | None:
    if isinstance(v, BaseModel):
        return v.kind  # type: ignore[attr-defined]
    if isinstance(v, dict) and isinstance(v.get("kind"), str):
        return v["kind"]
    return None


Probe = Annotated[
    Union[tuple(Annotated[m, Tag(k)] for k, m in PROBE_MODELS.items())],
    Discriminator(_kind_tag, custom_error_type="probe_kind",
                  custom_error_message="a probe needs kind = one of "
                                       + ", ".join(catalog.PROBE_KINDS)),
]


# ---------------------------------------------------------------------------------------------
# [[report]]
# ---------------------------------------------------------------------------------------------

class TableReport(Raw):
    rows: str = Field(description="a DIM: factor, 'probe' or a derived column")
    columns: str | None = Field(None, description="a DIM")
    value: str = Field(description='"PROBE.METRIC[@split]", a bare METRIC or "train.METRIC"')


class ChartReport(Raw):
    x: str = Field(description="a DIM")
    y: str = Field(description="a VALUE (a DIM for heatmaps)")
    color: str | None = Field(None, description="a DIM (the VALUE for heatmaps)")
    column: str | None = Field(None, description="a DIM: one small chart per value")
    kind: ChartKind = "line"


class Report(Raw):
    title: str | None = None
    table: TableReport | None = None
    chart: ChartReport | None = None
    filter: dict[str, Scalar | list[
        Scalar]] = Field(
        default_factory=dict, description="DIM = value (or a list of values) to keep")

    @model_validator(mode="after")
    def _one_view(self):
        if (self.table is None) == (self.chart is None):
            raise PydanticCustomError("one_of", "a report needs exactly one of table, chart", {})
        return self


# ---------------------------------------------------------------------------------------------
# [[claim]]: statements about the results, checked after a run (dsl.claims judges them)
# ---------------------------------------------------------------------------------------------

class Claim(Raw):
    """A finding the results should show: `compare`'s levels in order, each pair related by
    `expect` (">" first beats second, "<" first below second, "~" equal within `within`)."""

    text: str = Field(description="the finding, in words")
    metric: str = Field(description='a VALUE, as in reports: "PROBE.METRIC[@split]"')
    compare: dict[str, Annotated[list[Scalar], Field(min_length=2)]] = Field(
        description="one DIM and two or more of its levels, e.g. { invariance = [\"same\", "
                    "\"other\"] }")
    expect: Literal[">", "<", "~"] | Annotated[list[Literal[">", "<", "~"]], Field(
        min_length=1)] = Field(">", description="the relation of each neighbouring pair of "
                                                "levels; one for all, or one per pair")
    at_least: NonNegFloat = Field(0.0, description='margin for ">" and "<": the difference must '
                                                   "exceed it")
    within: PosFloat | None = Field(None, description='tolerance of "~" (required by it)')
    for_every: str | list[str] = Field(default_factory=list,
                                       description="DIMs judged level by level: the claim "
                                                   "must hold at every level")
    filter: dict[str, Scalar | list[Scalar]] = Field(
        default_factory=dict, description="DIM = value (or a list of values) to keep")

    @model_validator(mode="after")
    def _consistent(self):
        if len(self.compare) != 1:
            raise PydanticCustomError(
                "one_of", "compare names exactly one DIM with its levels, got {n}",
                {"n": len(self.compare), "key": "compare"})
        levels = next(iter(self.compare.values()))
        relations = self.relations()
        if isinstance(self.expect, list) and len(self.expect) != len(levels) - 1:
            raise PydanticCustomError(
                "wrong_value", "expect lists {got} relations for {n} levels: give {want} (one "
                "per neighbouring pair) or one for all", {"got": len(self.expect), "n": len(levels),
                                                          "want": len(levels) - 1, "key": "expect"})
        if "~" in relations and self.within is None:
            raise PydanticCustomError("claim", '"~" needs within = TOLERANCE (e.g. 0.05)',
                                      {"key": "within"})
        if "~" not in relations and self.within is not None:
            raise PydanticCustomError("wrong_value", 'within is the tolerance of "~"; this claim '
                                      "expects {rel}", {"rel": " ".join(relations),
                                                        "key": "within"})
        return self

    def relations(self) -> list[str]:
        """One relation per neighbouring pair of levels."""
        levels = next(iter(self.compare.values()), [])
        if isinstance(self.expect, list):
            return list(self.expect)
        return [self.expect] * max(len(levels) - 1, 0)


# ---------------------------------------------------------------------------------------------
# The whole spec
# ---------------------------------------------------------------------------------------------

class Spec(Raw):
    """One spec file (after `extends` merging and `--set` overrides), as written."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True,
                              title="dsl spec", json_schema_extra={
                                  "description": "A dsl experiment spec (TOML). See "
                                                 "docs/spec-language.md."})

    spec: SpecMeta
    draw: dict[str, DrawEntry] = Field(default_factory=dict)
    data: dict[str, DataDef] = Field(default_factory=dict)
    task: dict[str, TaskSpec] = Field(default_factory=dict)
    factors: FactorsSpec = Field(default_factory=FactorsSpec)
    train: TrainSpec
    probe: list[Probe] = Field(default_factory=list)
    report: list[Report] = Field(default_factory=list)
    claim: list[Claim] = Field(default_factory=list)

    def probe_names(self) -> list[str]:
        return [p.name_or_kind for p in self.probe]


# Section models by document key, for the back end's re-validation after factor substitution.
SECTION_MODELS: dict[str, Any] = {
    "train": TrainSpec, "task": TaskSpec, "data": DataDef, "probe": Probe,
}


def validate_section(section: str, value: Any) -> Any:
    """Validate one substituted section value (a [train] table, one task, one data definition,
    one probe) with the same raw model; raises pydantic.ValidationError (convert it with
    `dsl.load.problems_from_error`)."""
    model = SECTION_MODELS[section]
    if isinstance(model, type) and issubclass(model, BaseModel):
        return model.model_validate(value)
    return TypeAdapter(model).validate_python(value)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the language (what `dsl schema` prints)."""
    schema = Spec.model_json_schema(by_alias=True)
    # A spec that `extends` a base may leave any section to it (even [train]); what is required
    # is checked on the merged document, so the schema of one file requires nothing.
    schema.pop("required", None)
    # the same holds inside the tables that merge key by key: a base's [train] has no task
    for name in ("SpecMeta", "TrainSpec", "TaskSpec"):
        schema.get("$defs", {}).get(name, {}).pop("required", None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema

