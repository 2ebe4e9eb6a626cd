"""transforms2d: objects (a list or an objects draw) on backgrounds, under drawn transforms."""

from __future__ import annotations

from typing import Any, Mapping

from dsl.local_files import FOLDER


def objects(r: Any, ref: Any, seed: int, path: tuple, env: Mapping[str, Any]) -> list[str]:
    """An <objects ref> (a list of names or an objects draw) -> object names."""
    if isinstance(ref, str):
        return list(r._draw(ref, "objects", seed, path, env))
    return list(ref)


def resolve(r: Any, m: Any, seed: int, env: Mapping[str, Any], path: tuple) -> dict[str, Any]:
    return {"kind": m.kind, "objects": objects(r, m.objects, seed, path + ("objects",), env),
            "transforms": r._transforms(m, seed, path, env),
            "resolution": int(m.resolution), "foregrounds": m.foregrounds,
            "backgrounds": m.backgrounds, "object_size": float(m.object_size)}


def class_count(data: Mapping[str, Any], label: str) -> int:
    return len(data["objects"])


def sources(data: Mapping[str, Any]) -> set[str]:
    """Foreground and background folders; the built-in atlas and backgrounds are no files."""
    return {FOLDER + str(data[part]) for part, builtin in
            (("foregrounds", ("openmoji",)), ("backgrounds", ("procedural", "none", None)))
            if data.get(part) not in builtin}
