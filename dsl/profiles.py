"""Named profiles: rewrite resolved job configs before hashing, to run any spec small.

A profile is data: a rule list per job kind (cap a number, scale a number; each kind's record in
dsl.kinds holds its rules) and whether only the first seed runs. Rewriting *resolved* configs
(not the spec) means a profile shrinks every spec the same way whatever its shape, and the shrunk
jobs get their own JobIds, so smoke results never mix with full-size ones in the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from dsl import kinds
from dsl.archs import ARCHES
from dsl.config_rules import Rule
from dsl.errors import DslError, did_you_mean


@dataclass(frozen=True)
class Profile:
    name: str
    doc: str
    first_seed_only: bool = False
    max_seeds: int | None = None  # only the spec's first N seeds run (None: all)
    # job kind -> rules, for a profile made outside the registry (a benchmark's); empty: each
    # kind's record in dsl.kinds holds its rules under this profile's name
    rules: Mapping[str, tuple[Rule, ...]] = field(default_factory=dict)

    def apply(self, kind: str, config: dict) -> dict:
        """A rewritten copy of `config` (the input is left alone)."""
        if self.rules:
            rules = self.rules.get(kind)
        else:
            known = kinds.KINDS.get(kind)
            rules = known.profiles.get(self.name) if known is not None else None
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


_KEPT = ", ".join(a.name for a in ARCHES.values() if a.keeps_width)  # (dsl.archs)

SMOKE = Profile(
    "smoke",
    f"CPU minutes: first seed only, 512/128/128 samples, width x 0.125 (not {_KEPT}), "
    "train <= 2 epochs at batch <= 128, linear <= 20 epochs, finetune <= 2 epochs, "
    "sensitivity <= 64 pairs",
    first_seed_only=True,
)

# The scale at which a spec's findings show on a 2-core CPU in about 15 minutes, chosen by
# measurement (docs/claims.md); each kind's rules are in its record in dsl.kinds. 5 seeds: the t
# interval's half-width is 1.2 sd of the per-seed difference, against 2.5 sd at 3 seeds.
LAPTOP = Profile(
    "laptop",
    f"CPU, about 15 minutes a spec: first 5 seeds, <= 2000/500/1000 samples, width x 0.125 (not "
    f"{_KEPT}), train <= 8 epochs (ResNet-50, DenseNet-121: 4) at batch <= 32, linear <= 100 "
    "epochs, finetune <= 5 epochs at batch <= 32, sensitivity <= 500 pairs",
    max_seeds=5,
)

# A quick profile for one GPU, about 10 minutes for every spec that needs no CIFAR: sized by
# arithmetic from the packing and training benchmarks, not yet run on a GPU (README says so).
GPU = Profile(
    "gpu",
    f"one GPU, about 10 minutes for specs/ (not yet measured): first 5 seeds, <= 10000/1000/2000 "
    f"samples, width x 0.5 (not {_KEPT}), train <= 15 epochs at batch <= 128, linear <= 100 "
    "epochs, finetune <= 10 epochs, sensitivity <= 1000 pairs",
    max_seeds=5,
)

PROFILES: dict[str, Profile] = {p.name: p for p in (SMOKE, LAPTOP, GPU)}


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
