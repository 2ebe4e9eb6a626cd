"""The factor grid and "{NAME}" substitution.

Cells are the product of factor groups in written order (the first factor varies slowest); a
`zip` group contributes its rows together, and `exclude` drops every combination matching all of
an entry's pairs. Substitution replaces a string that is exactly "{NAME}" by the value itself (an
int stays an int) and interpolates "{NAME}" inside longer strings.
"""

from __future__ import annotations

import itertools
import re
from typing import Any, Iterable, Mapping

from dsl.errors import DslError, did_you_mean

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
RESERVED = ("zip", "exclude")


def grid(factors: Mapping[str, list], zips: Iterable[Iterable[str]] = (),
         exclude: Iterable[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
    """Every factor combination as {name: value}, in a stable order; [{}] without factors."""
    factors = {k: list(v) for k, v in factors.items() if k not in RESERVED}
    group_of: dict[str, tuple[str, ...]] = {}
    for group in zips:
        group = tuple(group)
        for name in group:
            if name not in factors:
                raise DslError(f"factors.zip names '{name}', which is not a factor"
                               + _suffix(did_you_mean(name, factors)))
            group_of[name] = group
        lengths = {len(factors[n]) for n in group}
        if len(lengths) > 1:
            raise DslError(f"factors.zip group {list(group)} has lists of different lengths "
                           f"({', '.join(f'{n}: {len(factors[n])}' for n in group)})")
    groups: list[tuple[str, ...]] = []
    for name in factors:
        group = group_of.get(name, (name,))
        if group not in groups:
            groups.append(group)
    rows_per_group = [list(zip(*(factors[n] for n in group))) for group in groups]
    exclude = [dict(e) for e in exclude]
    cells = []
    for combo in itertools.product(*rows_per_group):
        cell = {}
        for group, row in zip(groups, combo):
            cell.update(zip(group, row))
        if not any(_matches(cell, e) for e in exclude):
            cells.append(cell)
    return cells


def _same(a: Any, b: Any) -> bool:
    """TOML equality: 1 == 1.0, but true is not 1 and "1" is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return type(a) is type(b) and a == b or (
        isinstance(a, (int, float)) and isinstance(b, (int, float)) and a == b)


def _matches(cell: Mapping[str, Any], pairs: Mapping[str, Any]) -> bool:
    return all(k in cell and _same(cell[k], v) for k, v in pairs.items())


def _suffix(suggestion: str | None) -> str:
    return f"; {suggestion}" if suggestion else ""


def names_in(value: Any) -> set[str]:
    """Factor names written as "{NAME}" anywhere inside a value."""
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value)) if "{" in value else set()
    if isinstance(value, Mapping):
        out: set[str] = set()
        for v in value.values():
            out |= names_in(v)
        return out
    if isinstance(value, (list, tuple)):
        out = set()
        for v in value:
            out |= names_in(v)
        return out
    return set()


def text(value: Any) -> str:
    """A factor value as it reads inside a string (TOML spelling for booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def substitute(value: Any, env: Mapping[str, Any]) -> Any:
    """`value` with every "{NAME}" replaced from `env`; unknown names raise DslError."""
    if isinstance(value, str):
        if "{" not in value:
            return value
        whole = PLACEHOLDER.fullmatch(value)
        if whole:
            return _lookup(whole.group(1), env)
        return PLACEHOLDER.sub(lambda m: text(_lookup(m.group(1), env)), value)
    if isinstance(value, Mapping):
        return {k: substitute(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, env) for v in value]
    return value


def _lookup(name: str, env: Mapping[str, Any]) -> Any:
    try:
        return env[name]
    except KeyError:
        raise DslError(f"unknown factor '{{{name}}}'" + _suffix(did_you_mean(name, env))) from None
