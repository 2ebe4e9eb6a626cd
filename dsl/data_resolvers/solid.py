"""solid: one colour, one class (the built-in "black")."""

from __future__ import annotations

from typing import Any, Mapping


def resolve(r: Any, m: Any, seed: int, env: Mapping[str, Any], path: tuple) -> dict[str, Any]:
    return {"kind": m.kind, "color": [int(c) for c in m.color], "resolution": int(m.resolution)}


def class_count(data: Mapping[str, Any], label: str) -> int:
    return 1
