"""random_patterns: a count (patterns 0..n-1) or a patterns draw of fixed random patterns."""

from __future__ import annotations

from typing import Any, Mapping


def resolve(r: Any, m: Any, seed: int, env: Mapping[str, Any], path: tuple) -> dict[str, Any]:
    patterns = (list(r._draw(m.patterns, "patterns", seed, path + ("patterns",), env))
                if isinstance(m.patterns, str) else list(range(m.patterns)))
    return {"kind": m.kind, "patterns": patterns,
            "transforms": r._transforms(m, seed, path, env),
            "resolution": int(m.resolution), "pattern_size": float(m.pattern_size)}


def class_count(data: Mapping[str, Any], label: str) -> int:
    return len(data["patterns"])
