"""Per-seed random draws of objects, transforms, classes and patterns.

A draw is a function of (seed, draw name) only: `numpy.random.default_rng` seeded from
sha256(f"{seed}:{name}"), so adding, removing or reordering other draws never changes it, and the
same name with the same constraints gives the same members in every spec. Draws that depend on
others (`from`, `includes`, `disjoint_from`) are drawn after them.

Members are returned in catalog order (object names as in `catalog.OBJECT_NAMES`, transforms in
composition order, class and pattern ids ascending), so a draw is a set with one canonical
spelling; a class index is its position there. A `nested` transforms draw keeps its random order:
"NAME[k]" is the first k of that chain.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np

from dsl import catalog
from dsl.errors import Problem

SORTS = ("objects", "transforms", "classes", "patterns")


@dataclass(frozen=True)
class DrawDef:
    """One [draw] entry, independent of how it was parsed (pydantic model or plain table)."""

    name: str
    sort: str
    n: int
    source: str | tuple | None = None  # `from`: a draw name or explicit members
    disjoint_from: tuple[str, ...] = ()
    includes: str | None = None
    nested: bool = False
    of: str | None = None  # classes draws: "cifar10" | "cifar100"

    def refs(self) -> list[tuple[str, str]]:
        """(field, draw name) of every draw this one needs first."""
        out = [("disjoint_from", r) for r in self.disjoint_from]
        if self.includes:
            out.append(("includes", self.includes))
        if isinstance(self.source, str):
            out.append(("from", self.source))
        return out


class DrawError(Exception):
    """A draw that cannot be made; `field` names the key of the [draw] entry to blame."""

    def __init__(self, name: str, field: str | None, message: str):
        super().__init__(message)
        self.name, self.field, self.message = name, field, message

    def path(self) -> tuple:
        return ("draw", self.name) + ((self.field,) if self.field else ())


def definition(name: str, entry: Any) -> DrawDef:
    """A DrawDef from a validated model (`dsl.spec.ObjectsDraw`, ...) or a plain TOML table."""
    get = (lambda k, d=None: entry.get(k, d)) if isinstance(entry, Mapping) else (
        lambda k, d=None: getattr(entry, k, d))
    sort = next((s for s in SORTS if get(s) is not None), None)
    if sort is None:
        raise DrawError(name, None, "a draw names one of " + ", ".join(SORTS))
    source = get("from_") if not isinstance(entry, Mapping) else get("from")
    disjoint = get("disjoint_from") or ()
    disjoint = (disjoint,) if isinstance(disjoint, str) else tuple(disjoint)
    return DrawDef(name, sort, int(get(sort)),
                   source if source is None or isinstance(source, str) else tuple(source),
                   disjoint, get("includes"), bool(get("nested", False)), get("of"))


def definitions(draws: Mapping[str, Any]) -> dict[str, DrawDef]:
    return {name: definition(name, entry) for name, entry in draws.items()}


def universe(sort: str, of: str | None = None) -> tuple:
    if sort == "objects":
        return catalog.OBJECT_NAMES
    if sort == "transforms":
        return tuple(catalog.TRANSFORMS)
    if sort == "patterns":
        return tuple(range(catalog.N_PATTERNS))
    return tuple(range(catalog.CIFAR_CLASSES[of or "cifar10"]))


def rng_for(seed: int, name: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def order(defs: Mapping[str, DrawDef]) -> list[str]:
    """Draw names with every dependency first; unknown references, mixed sorts and cycles raise
    DrawError (the whole-document checks report the same, this keeps the resolver safe alone)."""
    for d in defs.values():
        for field, ref in d.refs():
            if ref not in defs:
                raise DrawError(d.name, field, f"unknown draw '{ref}'")
            other = defs[ref]
            if other.sort != d.sort:
                raise DrawError(d.name, field, f"a {d.sort} draw cannot be {field} '{ref}', "
                                f"a {other.sort} draw")
            if d.sort == "classes" and other.of != d.of:
                raise DrawError(d.name, field, f"draw '{ref}' is of {other.of}, this one of {d.of}")
    done: list[str] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = trail[trail.index(name):] + (name,)
            raise DrawError(cycle[0], None,
                            "draws depend on each other in a cycle: " + " -> ".join(cycle))
        state[name] = 1
        for _, ref in defs[name].refs():
            visit(ref, trail + (name,))
        state[name] = 2
        done.append(name)

    for name in defs:
        visit(name, ())
    return done


def draw_one(d: DrawDef, seed: int, drawn: Mapping[str, tuple]) -> tuple:
    """The members of draw `d` for `seed`, given the draws it depends on."""
    pool = universe(d.sort, d.of)
    if d.source is None:
        allowed = list(pool)
        where = f"the {len(pool)} {d.sort}"
    else:
        members = set(drawn[d.source] if isinstance(d.source, str) else d.source)
        allowed = [x for x in pool if x in members]
        where = (f"'{d.source}' ({len(allowed)})" if isinstance(d.source, str)
                 else f"the {len(allowed)} listed in `from`")
    excluded: set = set()
    for ref in d.disjoint_from:
        excluded.update(drawn[ref])
    candidates = [x for x in allowed if x not in excluded]

    base = tuple(drawn[d.includes]) if d.includes else ()
    if d.includes:
        if d.n < len(base):
            raise DrawError(d.name, "includes", f"{d.n} {d.sort} cannot include all "
                            f"{len(base)} of '{d.includes}'")
        cand = set(candidates)
        lost = [x for x in base if x not in cand]
        if lost:
            why = "disjoint_from" if any(x in excluded for x in lost) else "from"
            raise DrawError(d.name, why, f"includes '{d.includes}', but {len(lost)} of its "
                            f"members are excluded by `{why}`")
    base_set = set(base)
    rest = [x for x in candidates if x not in base_set]
    need = d.n - len(base)
    if need > len(rest):
        field = "disjoint_from" if d.disjoint_from else ("from" if d.source is not None
                                                         else d.sort)
        detail = ""
        if d.disjoint_from:
            taken = ", ".join(f"'{r}' ({len(drawn[r])})" for r in d.disjoint_from)
            detail = f" disjoint from {taken}"
        available = len(base) + len(rest)
        raise DrawError(d.name, field, f"cannot draw {d.n} {d.sort}{detail} out of {where}: "
                        f"only {available} available")
    rng = rng_for(seed, d.name)
    picked = [rest[i] for i in rng.permutation(len(rest))[:need]]
    chosen = set(base) | set(picked)
    if d.nested:
        # the chain's order is itself random; its prefixes are the nested sets
        members = [x for x in pool if x in chosen]
        return tuple(members[i] for i in rng.permutation(len(members)))
    return tuple(x for x in pool if x in chosen)


def draw_all(defs: Mapping[str, DrawDef], seed: int,
             names: Iterable[str] | None = None) -> dict[str, tuple]:
    """Every draw (in dependency order) for one seed: name -> members."""
    drawn: dict[str, tuple] = {}
    for name in (names if names is not None else order(defs)):
        drawn[name] = draw_one(defs[name], seed, drawn)
    return drawn


def check_draws(spec: Any, doc: Any) -> list[Problem]:
    """Problems of the spec's draws (cycles, impossible sizes) for every seed it runs, each at the
    line of the field to change. Called by `dsl.load.validate_document` after field checks."""
    try:
        defs = definitions(spec.draw)
        names = order(defs)
    except DrawError as err:
        return [doc.problem(err.path(), err.message)]
    seeds = spec.spec.seed_list()
    failures: dict[str, tuple[DrawError, list[int]]] = {}
    for seed in seeds:
        drawn: dict[str, tuple] = {}
        for name in names:
            if any(ref not in drawn for _, ref in defs[name].refs()):
                continue  # a draw it needs failed already; that one is reported
            try:
                drawn[name] = draw_one(defs[name], seed, drawn)
            except DrawError as err:
                failures.setdefault(name, (err, []))[1].append(seed)
    problems = []
    for err, failed in failures.values():
        message = err.message
        if len(failed) < len(seeds):
            message += f" (for seed{'s' if len(failed) > 1 else ''} " \
                       f"{', '.join(map(str, failed))}; other seeds happen to fit)"
        problems.append(doc.problem(err.path(), message, _advice(defs[err.name])))
    return problems


def _advice(d: DrawDef) -> str:
    return f"draw fewer {d.sort}" + (" or drop a disjoint_from" if d.disjoint_from else "")
