"""Which factors each section of a spec can depend on, found once, before any cell is resolved.

A section depends on its own "{NAME}"s plus those of any task or data definition it may refer to,
for every value of the factors in that reference (a reference with more than MAX_ENUMERATION
combinations counts as "any"). The resolver memoises each section per seed on just those factor
values, so a probe that ignores a factor is built and hashed once for all its values.
"""

from __future__ import annotations

import itertools
from typing import Any, Mapping

from dsl import data_kinds
from dsl import factors as fx
from dsl.errors import DslError

MAX_ENUMERATION = 4096  # reference strings with more factor combinations count as "any"


class FactorDeps:
    """Factor dependencies of the raw [task.X] and [data.X] tables of one spec."""

    def __init__(self, raw_tasks: Mapping[str, Any], raw_data: Mapping[str, Any],
                 factor_values: Mapping[str, list[Any]]):
        self.raw_tasks, self.raw_data, self.factor_values = raw_tasks, raw_data, factor_values
        self._deps_data: dict[str, frozenset[str]] = {}
        self._deps_task: dict[str, frozenset[str]] = {}

    def own(self, raw: Any) -> frozenset[str]:
        return frozenset(fx.names_in(raw))

    def possible(self, ref: Any) -> set[str] | None:
        """Every string a reference can become over all factor values (None: too many)."""
        if not isinstance(ref, str):
            return set()
        names = sorted(fx.names_in(ref))
        if not names:
            return {ref}
        pools = [self.factor_values.get(n, []) for n in names]
        total = 1
        for pool in pools:
            total *= max(len(pool), 1)
        if total > MAX_ENUMERATION:
            return None
        out = set()
        for combo in itertools.product(*pools):
            try:
                out.add(str(fx.substitute(ref, dict(zip(names, combo)))))
            except DslError:
                pass
        return out

    def data_refs(self, value: Any) -> list[Any]:
        """Data reference values inside a raw data definition (composite parts, recursively)."""
        if not isinstance(value, dict):
            return [value]
        out = []
        kind = value.get("kind")
        record = data_kinds.DATA_KINDS.get(kind) if isinstance(kind, str) else None
        for path in record.nested if record else ():
            ref = data_kinds.at(value, path)
            if ref is None:
                continue
            out.extend(self.data_refs(ref) if isinstance(ref, dict) else [ref])
        return out

    def deps_of_data_ref(self, ref: Any, seen: tuple[str, ...]) -> frozenset[str]:
        out = set(fx.names_in(ref))
        possible = self.possible(ref) if isinstance(ref, str) else set()
        if possible is None:  # unbounded: depend on every factor any data definition uses
            for raw in self.raw_data.values():
                out |= fx.names_in(raw)
            return frozenset(out)
        for name in possible:
            if name in self.raw_data and name not in seen:
                out |= self.data_deps(name, seen)
        return frozenset(out)

    def data_deps(self, name: str, seen: tuple[str, ...] = ()) -> frozenset[str]:
        if name not in self._deps_data:
            raw = self.raw_data[name]
            out = set(fx.names_in(raw))
            for ref in self.data_refs(raw):
                out |= self.deps_of_data_ref(ref, seen + (name,))
            self._deps_data[name] = frozenset(out)
        return self._deps_data[name]

    def task_deps(self, name: str) -> frozenset[str]:
        if name not in self._deps_task:
            raw = self.raw_tasks.get(name)
            out = set(fx.names_in(raw))
            if isinstance(raw, dict):
                ref = raw.get("data")
                for inner in (self.data_refs(ref) if isinstance(ref, dict) else [ref]):
                    out |= self.deps_of_data_ref(inner, ())
            self._deps_task[name] = frozenset(out)
        return self._deps_task[name]

    def deps_of_tasks(self, ref: Any) -> frozenset[str]:
        possible = self.possible(ref)
        if possible is None:
            out: set[str] = set()
            for name in self.raw_tasks:
                out |= self.task_deps(name)
            return frozenset(out)
        out = set()
        for name in possible:
            if name in self.raw_tasks:
                out |= self.task_deps(name)
        return frozenset(out)
