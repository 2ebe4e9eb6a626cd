"""cifar10 and cifar100: the local CIFAR files, all classes or a list or draw of them."""

from __future__ import annotations

from typing import Any, Mapping

from dsl import catalog


def resolve(r: Any, m: Any, seed: int, env: Mapping[str, Any], path: tuple) -> dict[str, Any]:
    kind, classes = m.kind, m.classes
    if isinstance(classes, str):
        d = r.draw_defs.get(classes)
        if d is not None and d.sort == "classes" and d.of != kind:
            raise r._fail(path + ("classes",), f"draw '{classes}' is of {d.of}, the "
                          f"data is {kind}", None, env)
        classes = list(r._draw(classes, "classes", seed, path + ("classes",), env))
    if classes is not None and list(classes) == list(range(catalog.CIFAR_CLASSES[kind])):
        classes = None  # every class in native order is the default: one identity
    return {"kind": kind, "classes": None if classes is None else list(classes),
            "transforms": r._transforms(m, seed, path, env), "resolution": 32}


def class_count(data: Mapping[str, Any], label: str) -> int:
    classes = data.get("classes")
    return catalog.CIFAR_CLASSES[data["kind"]] if classes is None else len(classes)


def sources(data: Mapping[str, Any]) -> set[str]:
    return {data["kind"]}
