"""A profile's rewrite of one number in a resolved job config (cap it, scale it).

Core layer: the job-kind registry (dsl.kinds) holds each kind's rules per profile, and
dsl.profiles applies them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping


@dataclass(frozen=True)
class Rule:
    """Change the number at `path` of a config: "cap" (at most `value`; null = all counts as
    above any cap) or "scale" (multiply). `unless` skips configs whose value at a path is one of
    the listed values (e.g. small_cnn keeps its width); `only` applies the rule to those configs
    alone (e.g. fewer epochs for the costliest architectures)."""

    path: tuple[str, ...]
    op: str  # "cap" | "scale"
    value: float | int
    unless: tuple[tuple[tuple[str, ...], tuple[Any, ...]], ...] = ()
    null_is_all: bool = True  # False: null means "not set" (e.g. a linear probe's n_train)
    only: tuple[tuple[tuple[str, ...], tuple[Any, ...]], ...] = ()

    def apply(self, config: dict) -> None:
        for where, values in self.unless:
            if _get(config, where) in values:
                return
        for where, values in self.only:
            if _get(config, where) not in values:
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
