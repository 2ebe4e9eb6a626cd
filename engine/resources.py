"""What one job asks a cluster for (GPU share, CPUs), from its kind and its model's architecture.

The policy is data, so it can be read, printed and overridden from the command line:

- `KIND_DEFAULTS`: whether a kind wants a GPU at all and how many CPUs it takes (each kind's
  record in dsl.kinds says). Jobs keep their data in memory as tensors (no loader processes), so
  one CPU per job feeds a GPU; dataset generation and linear probes on cached features are
  single-core CPU work.
- `ARCH_WEIGHT`: how many "packing slots" of a GPU a model of that architecture takes. The slot is
  `1 / --per-gpu` of a device, the share the local executor gives every job. The CIFAR-sized
  small_cnn, ResNet-18 and VGG-11 leave an H100 mostly idle and pack well. ResNet-50 costs about
  4x ResNet-18's FLOPs per image, DenseNet-121 keeps every concatenated activation for backward,
  and a ViT's attention maps grow with the square of the token count: each needs roughly twice the
  memory and compute of a small model, so it takes two slots (never more than one whole GPU), and
  packing K of them onto one device would run out of memory or just time-slice.

`--resources KIND[:ARCH]=gpu:F,cpu:N` overrides the defaults; the most specific rule wins field by
field (`train=cpu:4` plus `train:resnet50=gpu:1` gives ResNet-50 training 1 GPU and 4 CPUs).
Explicit values are taken as they are, never scaled by `ARCH_WEIGHT`. Torch-free: the command
line validates rules before anything starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping

from dsl.archs import ARCHES
from dsl.kinds import KINDS

SYNTAX = "KIND[:ARCH]=gpu:F,cpu:N"
EXAMPLE = "train:resnet50=gpu:1,cpu:4"
FIELDS = ("gpu", "cpu")


@dataclass(frozen=True)
class KindDefault:
    gpu: bool  # takes a share of a GPU (sized by the architecture) when the cluster has GPUs
    cpu: float  # CPUs reserved for each job
    arch: bool  # its config names a model (config["model"]["arch"]), so ARCH rules apply


class _KindDefaults(Mapping[str, KindDefault]):
    """kind -> its KindDefault, read live from the job-kind registry (dsl.kinds), so a kind
    registered later is placed by what it declares."""

    def __getitem__(self, kind: str) -> KindDefault:
        k = KINDS[kind]
        return KindDefault(gpu=k.gpu, cpu=k.cpu, arch=k.arch)

    def __iter__(self) -> Iterator[str]:
        return iter(list(KINDS))

    def __len__(self) -> int:
        return len(KINDS)


KIND_DEFAULTS: Mapping[str, KindDefault] = _KindDefaults()

ARCH_WEIGHT: dict[str, int] = {a.name: a.gpu_slots for a in ARCHES.values()}  # (dsl.archs)

# Ray keeps resource amounts to 4 decimals; rounding down keeps K shares of 1/K within one GPU.
_QUANTUM = 10_000


@dataclass(frozen=True)
class Request:
    """Resources for one task: a GPU share (0 = none; above 1 only whole GPUs) and CPUs."""

    gpu: float = 0.0
    cpu: float = 1.0

    def __str__(self) -> str:
        return f"gpu:{self.gpu:g},cpu:{self.cpu:g}"


@dataclass(frozen=True)
class Override:
    gpu: float | None = None
    cpu: float | None = None


def arch_of(config: Mapping[str, Any]) -> str | None:
    """The architecture a job's config trains or loads (docs/jobs.md), or None."""
    model = config.get("model") if isinstance(config, Mapping) else None
    arch = model.get("arch") if isinstance(model, Mapping) else None
    return str(arch) if arch is not None else None


def _share(value: float) -> float:
    return math.floor(value * _QUANTUM + 1e-9) / _QUANTUM


@dataclass(frozen=True)
class ResourcePolicy:
    per_gpu: int = 1
    rules: Mapping[tuple[str, str | None], Override] = field(default_factory=dict)

    @classmethod
    def from_options(cls, options: Iterable[str] = (), per_gpu: int = 1) -> "ResourcePolicy":
        """The policy for `--per-gpu` and the `--resources` options (later rules win)."""
        rules: dict[tuple[str, str | None], Override] = {}
        for text in options:
            key, override = parse_rule(text)
            old = rules.get(key, Override())
            rules[key] = Override(override.gpu if override.gpu is not None else old.gpu,
                                  override.cpu if override.cpu is not None else old.cpu)
        return cls(per_gpu=max(int(per_gpu), 1), rules=rules)

    def default(self, kind: str, arch: str | None, gpu_hint: bool = False) -> Request:
        """The request without rules. Kinds outside the table (plugins, tests) follow their
        registry flag `gpu_hint` at one slot, since nothing is known about their size."""
        base = KIND_DEFAULTS.get(kind)
        wants_gpu = base.gpu if base is not None else gpu_hint
        cpu = base.cpu if base is not None else 1.0
        if not wants_gpu:
            return Request(0.0, cpu)
        weight = ARCH_WEIGHT.get(arch, 1) if arch is not None else 1
        return Request(_share(min(1.0, weight / self.per_gpu)), cpu)

    def request(self, kind: str, config: Mapping[str, Any] | None = None,
                gpu_hint: bool = False) -> Request:
        """What a job of `kind` with `config` asks for: rules for kind:arch, then kind, then
        the defaults, field by field."""
        arch = arch_of(config or {})
        req = self.default(kind, arch, gpu_hint)
        gpu, cpu = req.gpu, req.cpu
        keys = [(kind, None)] + ([(kind, arch)] if arch is not None else [])
        for key in keys:  # the more specific rule last, so it wins
            rule = self.rules.get(key)
            if rule is not None:
                gpu = rule.gpu if rule.gpu is not None else gpu
                cpu = rule.cpu if rule.cpu is not None else cpu
        return Request(gpu, cpu)

    def min_cpu(self) -> float:
        """The fewest CPUs any job can ask for: no more tasks than CPUs / this can run at once."""
        values = [self.request(kind).cpu for kind in KIND_DEFAULTS]
        values += [r.cpu for r in self.rules.values() if r.cpu is not None]
        return min(values)

    def describe(self) -> str:
        slot = _share(1.0 / self.per_gpu)
        big = sorted(a for a, w in ARCH_WEIGHT.items() if w > 1)
        text = (f"{slot:g} GPU per GPU job, {_share(min(1.0, 2 / self.per_gpu)):g} for "
                f"{', '.join(big)}")
        if self.rules:
            text += "; " + " ".join(format_rule(k, r) for k, r in self.rules.items())
        return text


def format_rule(key: tuple[str, str | None], rule: Override) -> str:
    name = key[0] if key[1] is None else f"{key[0]}:{key[1]}"
    values = [f"{f}:{getattr(rule, f):g}" for f in FIELDS if getattr(rule, f) is not None]
    return f"{name}={','.join(values)}"


def _fail(text: str, message: str, hint: str | None = None) -> None:
    from dsl.errors import DslError

    raise DslError(f"--resources {text!r}: {message}" + (f"; {hint}" if hint else ""))


def _kinds() -> list[str]:
    return sorted(KINDS)


def parse_rule(text: str) -> tuple[tuple[str, str | None], Override]:
    """`KIND[:ARCH]=gpu:F,cpu:N` -> ((kind, arch or None), Override); DslError naming the bad
    part otherwise."""
    from dsl.catalog import ARCHS
    from dsl.errors import did_you_mean

    target, eq, values = str(text).partition("=")
    target, values = target.strip(), values.strip()
    if not eq or not target or not values:
        _fail(text, f"expected {SYNTAX}", f"e.g. --resources {EXAMPLE}")
    kind, colon, arch = (s.strip() for s in target.partition(":"))
    kinds = _kinds()
    if kind not in kinds:
        _fail(text, f"unknown kind {kind!r}",
              did_you_mean(kind, kinds) or f"choose one of {', '.join(kinds)}")
    if colon:
        if arch not in ARCHS:
            _fail(text, f"unknown architecture {arch!r}",
                  did_you_mean(arch, ARCHS) or f"choose one of {', '.join(ARCHS)}")
        known = KIND_DEFAULTS.get(kind)
        if known is not None and not known.arch:
            _fail(text, f"{kind} jobs have no model, so an architecture never applies",
                  f"write --resources {kind}={values}")
    found: dict[str, float] = {}
    for part in (p.strip() for p in values.split(",")):
        name, sep, number = (s.strip() for s in part.partition(":"))
        if name not in FIELDS:
            _fail(text, f"unknown resource {name!r}",
                  did_you_mean(name, FIELDS) or "use gpu:F and/or cpu:N")
        if not sep or not number:
            _fail(text, f"{name!r} needs a value", f"e.g. {name}:{1 if name == 'cpu' else 0.5}")
        try:
            value = float(number)
        except ValueError:
            _fail(text, f"{name}:{number} is not a number")
        if not math.isfinite(value):
            _fail(text, f"{name}:{number} is not a finite number")
        if name in found:
            _fail(text, f"{name} is given twice")
        found[name] = value
    gpu, cpu = found.get("gpu"), found.get("cpu")
    if gpu is not None:
        if gpu < 0:
            _fail(text, f"gpu:{gpu:g} is negative", "use gpu:0 for CPU only")
        if gpu > 1 and gpu != int(gpu):
            _fail(text, f"gpu:{gpu:g}: more than one GPU must be a whole number",
                  f"use gpu:{math.ceil(gpu)} or a share below 1")
        gpu = _share(gpu) if gpu < 1 else float(gpu)
        if 0 < gpu < 1 / _QUANTUM:
            _fail(text, "gpu share is below 0.0001, the smallest Ray can hand out")
    if cpu is not None and cpu <= 0:
        _fail(text, f"cpu:{cpu:g} must be above 0", "each job needs some CPU")
    return (kind, arch if colon else None), Override(gpu, cpu)
