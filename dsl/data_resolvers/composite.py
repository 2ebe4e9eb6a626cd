"""composite: a foreground (other data, or objects on a transparent canvas) on a background.

Its images, sizes and real source are its background's; labels "foreground" and "background"
count the classes of either part."""

from __future__ import annotations

from typing import Any, Mapping

from dsl import data_resolvers
from dsl.data_resolvers.transforms2d import objects


def resolve(r: Any, m: Any, seed: int, env: Mapping[str, Any], path: tuple) -> dict[str, Any]:
    background = r.data(m.background, seed, env, path + ("background",))
    fg = m.foreground
    resolution = int(background.get("resolution", 32))
    if fg.data is not None:
        foreground = r.data(fg.data, seed, env, path + ("foreground", "data"))
    else:  # objects on a transparent canvas, untransformed
        foreground = {"kind": "transforms2d",
                      "objects": objects(r, fg.objects, seed, path + ("foreground", "objects"),
                                         env),
                      "transforms": [], "resolution": resolution,
                      "foregrounds": "openmoji", "backgrounds": "none", "object_size": 0.7}
    return {"kind": "composite", "background": background, "foreground": foreground,
            "scale": float(fg.scale), "position": fg.position,
            "correlation": float(fg.correlation),
            "availability": float(fg.availability), "resolution": resolution}


def parts(data: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {"background": data["background"], "foreground": data["foreground"]}


def base(data: Mapping[str, Any]) -> Mapping[str, Any]:
    return data["background"]


def class_count(data: Mapping[str, Any], label: str) -> int:
    part = data["foreground"] if label == "foreground" else data["background"]
    return data_resolvers.class_count(part, "class")


def check(r: Any, m: Any, data: Mapping[str, Any], sizes: Mapping[str, int | None],
          path: tuple, env: Mapping[str, Any], main: bool) -> list:
    """The task's splits are the background's; a finite foreground is carved with the same
    n_val, and its objects are picked, not counted."""
    return (data_resolvers.kind_problems(r, m, data["background"], sizes, path, env, main)
            + data_resolvers.kind_problems(r, m, data["foreground"], sizes, path, env, False))
