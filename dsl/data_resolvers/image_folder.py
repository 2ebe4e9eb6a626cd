"""image_folder: a local folder with one sub-folder of images per class.

Plan-time checks read the folder where it exists now: its classes (when the spec does not list
them) and its pools, against the sizes the task's dataset job asks for."""

from __future__ import annotations

import os
from typing import Any, Mapping

from dsl.data_kinds import CIFAR_VAL
from dsl.data_resolvers import FolderMissing
from dsl.errors import DataMissing
from dsl.local_files import FOLDER, folder_classes, folder_pools


def resolve(r: Any, m: Any, seed: int, env: Mapping[str, Any], path: tuple) -> dict[str, Any]:
    return {"kind": m.kind, "path": m.path,
            "classes": None if m.classes is None else list(m.classes),
            "transforms": r._transforms(m, seed, path, env),
            "resolution": int(m.resolution)}


def class_count(data: Mapping[str, Any], label: str) -> int:
    if data.get("classes") is not None:
        return len(data["classes"])
    path = os.path.expanduser(data["path"])  # as the engine reads it
    if not os.path.isdir(path):
        where = "" if os.path.isabs(path) else \
            f" (relative paths start from the folder dsl runs in, {os.getcwd()})"
        raise FolderMissing(f"image folder '{path}' not found{where}: list its classes in "
                            "the spec (classes = [...]) or create it, so the model's class "
                            "count is known")
    return len(folder_classes(path))


def sources(data: Mapping[str, Any]) -> set[str]:
    return {FOLDER + str(data["path"])}


def pool_sizes(r: Any, data: Mapping[str, Any]) -> tuple[int, int] | None:
    """(train pool, test pool) image counts of an image folder, or None when it (or a class
    folder) is absent or a split has no images: the dataset job says so when it runs, and
    `dsl run` skips a spec whose folder is absent. Memoised on the resolver."""
    classes = data.get("classes")
    key = ("pools", str(data["path"]), tuple(classes) if classes else None)
    if key not in r._memo:
        try:
            _, files = folder_pools(data["path"], classes)
            counts = (len(files["train"]), len(files["test"]))
        except (DataMissing, OSError):
            counts = None
        r._memo[key] = counts if counts and all(counts) else None
    return r._memo[key]


def check(r: Any, m: Any, data: Mapping[str, Any], sizes: Mapping[str, int | None],
          path: tuple, env: Mapping[str, Any], main: bool) -> list:
    """The sizes a task's dataset job asks for (after the profile) against the folder, where it
    exists now: the same arithmetic as the job's (engine.data.sources: val is carved from the
    training pool, train is the rest, test is the test pool)."""
    counts = pool_sizes(r, data)
    if counts is None:
        return []
    problems: list = []

    def fail(field: str, message: str, suggestion: str) -> None:
        problems.extend(r._fail(path + (field,), message, suggestion, env).problems)

    def asked(field: str, split: str) -> str:
        value, own = sizes.get(split), getattr(m, field)
        text = f"{field} = {value}"
        if r.profile is not None and value != own:
            text += (f" (--profile {r.profile.name}'s cap; the spec "
                     + (f"leaves {field} unset)" if own is None else f"says {own})"))
        return text

    keep = (f" (--profile {r.profile.name} keeps a smaller one)"
            if r.profile is not None else "")
    pool, test = counts
    where = f"image folder {data['path']}"
    more = f"or add images to {data['path']}"
    val = sizes.get("val")
    n_val = min(CIFAR_VAL, pool // 10) if val is None else int(val)
    if n_val >= pool:
        fail("n_val", f"{asked('n_val', 'val')} but {where} has only {pool} training "
             "images: val is taken from them and must leave some to train on",
             f"set n_val below {pool}{keep}, {more}")
    train = sizes.get("train") if main else None
    if train is not None and n_val < pool and train > pool - n_val:
        fail("n_train", f"{asked('n_train', 'train')} but {where} has only "
             f"{pool - n_val} training images left after the {n_val} taken for val",
             f"set n_train to at most {pool - n_val}{keep}, {more}")
    elif train is not None and n_val >= pool and train >= pool:
        fail("n_train", f"{asked('n_train', 'train')} but {where} has only {pool} "
             "training images, val included", f"set n_train to at most {pool} - n_val"
             f"{keep}, {more}")
    n_test = sizes.get("test") if main else None
    if n_test is not None and n_test > test:
        fail("n_test", f"{asked('n_test', 'test')} but {where} has only {test} test "
             "images", f"set n_test to at most {test}{keep}, {more}")
    return problems
