"""Named profiles: rewrite resolved job configs before hashing, to run any spec small.

A profile is data: a rule list per job kind (cap a number, scale a number) and whether only the
first seed runs. Rewriting *resolved* configs (not the spec) means a profile shrinks every spec
the same way whatever its shape, and the shrunk jobs get their own JobIds, so smoke results never
mix with full-size ones in the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from dsl.errors import DslError, did_you_mean

MODEL_KINDS = ("train", "features", "finetune", "sensitivity", "accuracy")


@dataclass(frozen=True)
class Rule:
    """Change the number at `path` of a config: "cap" (at most `value`; null = all counts as
    above any cap) or "scale" (multiply). `unless` skips configs whose value at a path is one of
    the listed values (e.g. small_cnn keeps its width)."""

    path: tuple[str, ...]
    op: str  # "cap" | "scale"
    value: float | int
    unless: tuple[tuple[tuple[str, ...], tuple[Any, ...]], ...] = ()
    null_is_all: bool = True  # False: null means "not set" (e.g. a linear probe's n_train)

    def apply(self, config: dict) -> None:
        for where, values in self.unless:
            if _get(config, where) in values:
                return
        parent = config
        for key in self.path[:-1]:
            parent = parent.get(key)
            if not isinstance(parent, dict):
                return
        key = self.path[-1]
        if key not in parent:
            return
        old = parent[key]
        if self.op == "cap":
            if old is None:
                if self.null_is_all:
                    parent[key] = self.value
            else:
                parent[key] = min(old, self.value)
        elif self.op == "scale" and old is not None:
            parent[key] = type(old)(old * self.value)
        else:  # pragma: no cover - a malformed profile is a bug in this file
            raise ValueError(f"unknown profile op {self.op!r}")


def _get(config: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = config
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


@dataclass(frozen=True)
class Profile:
    name: str
    doc: str
    first_seed_only: bool = False
    max_seeds: int | None = None  # only the spec's first N seeds run (None: all)
    rules: Mapping[str, tuple[Rule, ...]] = field(default_factory=dict)  # job kind -> rules

    def apply(self, kind: str, config: dict) -> dict:
        """A rewritten copy of `config` (the input is left alone)."""
        rules = self.rules.get(kind)
        if not rules:
            return config
        out = _copy(config)
        for rule in rules:
            rule.apply(out)
        return out


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


_WIDTH = Rule(("model", "width"), "scale", 0.125, unless=((("model", "arch"), ("small_cnn",)),))
_SMOKE_TRAIN = 512

SMOKE = Profile(
    "smoke",
    "CPU minutes: first seed only, 512/128/128 samples, width x 0.125 (not small_cnn), "
    "train <= 2 epochs at batch <= 128, linear <= 20 epochs, finetune <= 2 epochs, "
    "sensitivity <= 64 pairs",
    first_seed_only=True,
    rules={
        "dataset": (Rule(("sizes", "train"), "cap", _SMOKE_TRAIN),
                    Rule(("sizes", "val"), "cap", 128),
                    Rule(("sizes", "test"), "cap", 128)),
        "train": (_WIDTH, Rule(("epochs",), "cap", 2), Rule(("batch_size",), "cap", 128),
                  Rule(("schedule", "warmup_epochs"), "cap", 1)),
        "features": (_WIDTH,),
        # n_train may not exceed the (capped) training split it is taken from
        "linear": (Rule(("epochs",), "cap", 20),
                   Rule(("n_train",), "cap", _SMOKE_TRAIN, null_is_all=False)),
        "finetune": (_WIDTH, Rule(("epochs",), "cap", 2), Rule(("batch_size",), "cap", 128),
                     Rule(("schedule", "warmup_epochs"), "cap", 1),
                     Rule(("n_train",), "cap", _SMOKE_TRAIN),
                     Rule(("linear", "epochs"), "cap", 20),
                     Rule(("linear", "n_train"), "cap", _SMOKE_TRAIN)),
        "sensitivity": (_WIDTH, Rule(("pairs",), "cap", 64)),
        "accuracy": (_WIDTH,),
    },
)

_LAPTOP_TRAIN = 2000

# The scale at which a spec's findings should show on a 2-core CPU in about 15 minutes
# (docs/claims.md has the arithmetic): 3 seeds (the fewest at which a claim's interval means
# more than "both seeds agreed"), 2,000 training images for 8 epochs, width-1/8 networks (a
# ResNet-18 step costs ~1.75 ms of one core per image at that width, measured).
LAPTOP = Profile(
    "laptop",
    "CPU, about 15 minutes a spec: first 3 seeds, <= 2000/500/1000 samples, width x 0.125 (not "
    "small_cnn), train <= 8 epochs at batch <= 128, linear <= 100 epochs, finetune <= 5 epochs, "
    "sensitivity <= 500 pairs",
    max_seeds=3,
    rules={
        "dataset": (Rule(("sizes", "train"), "cap", _LAPTOP_TRAIN),
                    Rule(("sizes", "val"), "cap", 500),
                    Rule(("sizes", "test"), "cap", 1000)),
        "train": (_WIDTH, Rule(("epochs",), "cap", 8), Rule(("batch_size",), "cap", 128),
                  Rule(("schedule", "warmup_epochs"), "cap", 1)),
        "features": (_WIDTH,),
        "linear": (Rule(("epochs",), "cap", 100),
                   Rule(("n_train",), "cap", _LAPTOP_TRAIN, null_is_all=False)),
        "finetune": (_WIDTH, Rule(("epochs",), "cap", 5), Rule(("batch_size",), "cap", 128),
                     Rule(("schedule", "warmup_epochs"), "cap", 1),
                     Rule(("n_train",), "cap", _LAPTOP_TRAIN),
                     Rule(("linear", "epochs"), "cap", 100),
                     Rule(("linear", "n_train"), "cap", _LAPTOP_TRAIN)),
        "sensitivity": (_WIDTH, Rule(("pairs",), "cap", 500)),
        "accuracy": (_WIDTH,),
    },
)

PROFILES: dict[str, Profile] = {p.name: p for p in (SMOKE, LAPTOP)}


def get(name: str | None) -> Profile | None:
    """The profile called `name` (None for none); unknown names list the known ones."""
    if name is None:
        return None
    try:
        return PROFILES[name]
    except KeyError:
        hint = did_you_mean(name, PROFILES)
        raise DslError(f"unknown profile '{name}' (known: {', '.join(PROFILES)})"
                       + (f"; {hint}" if hint else "")) from None


def options_text(profile: str | None, overrides=()) -> str:
    """The --profile and --set options a plan was made with, as typed ('' when neither): what
    diffs, tables and reports quote when they say which options results belong to."""
    return " ".join(([f"--profile {profile}"] if profile else []) +
                    [f"--set {o}" for o in overrides or ()])
