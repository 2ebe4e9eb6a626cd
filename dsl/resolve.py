"""One validated spec -> concrete jobs per cell (seed x factor combination), per docs/jobs.md.

For each cell the factors are substituted into [train], the tasks, the data definitions and the
probes; each substituted section is validated again with its raw model (so `epochs = "{e}"` is
checked once its value is known); draws become concrete names and indices; transforms become the
catalog-ordered list of {"name", "params"} with every parameter filled. Configs carry only this
resolved data (no factor or draw names), so a probe that ignores a factor yields one JobId for
every value of it, and identical jobs collapse wherever they come from.

Speed: every section remembers which factors it can depend on (its own "{NAME}"s plus those of
any task or data it may refer to, for every value of the factors in that reference), and its
resolution is memoised per seed on just those factor values. A 10,000-job spec plans in well
under two seconds because each distinct job is built and hashed once.
Longer than 400 lines: that memoisation ties factor analysis, data resolution and task building
to one Resolver; probe jobs are built by each kind's builder (dsl.probe_jobs, named by dsl.kinds).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Mapping

from pydantic import ValidationError

from dsl import catalog, kinds
from dsl import draws as drawlib
from dsl import factors as fx
from dsl.errors import DataMissing, DslError, SpecError, did_you_mean
from dsl.factor_deps import FactorDeps
from dsl.graph import Cell, Job, ProbeRef
from dsl.job_configs import JobConfig, TrainConfig
from dsl.profiles import Profile
from dsl.spec import BUILTIN_DATA, SECTION_MODELS, TrainSpec, validate_section
from dsl.local_files import FOLDER, folder_classes, folder_pools

GENERATED_SIZES = {"train": 50000, "val": 10000, "test": 10000}
CIFAR_VAL = 5000  # taken from the training set; the test set is used whole
CHAIN = re.compile(r"^(.+)\[(\d+)\]$")
REAL_KINDS = ("cifar10", "cifar100", "image_folder")
_TRAIN_FIELDS = frozenset(f.alias or n for n, f in TrainSpec.model_fields.items())
MAX_GENERATED_BYTES = 64 * 2 ** 30  # one generated dataset, uint8 (500k at 32x32: 1.4 GiB)

BUILTINS: dict[str, dict[str, Any]] = {
    "cifar10": {"kind": "cifar10", "classes": None, "transforms": [], "resolution": 32},
    "cifar100": {"kind": "cifar100", "classes": None, "transforms": [], "resolution": 32},
    "black": {"kind": "solid", "color": [0, 0, 0], "resolution": 32},
}
assert set(BUILTINS) == set(BUILTIN_DATA)


@dataclass(frozen=True)
class Task:
    """A task resolved for one seed: its data, sizes, label and the dataset job that makes it."""

    name: str
    data: Mapping[str, Any]
    sizes: Mapping[str, int | None]
    label: str
    num_classes: int
    transforms: tuple[str, ...]  # sorted transform names of its data (a derived column)
    dataset: Job


def relation(train: Iterable[str], probe: Iterable[str]) -> str:
    """transform_relation: how the training transforms relate to the probed ones."""
    a, b = set(train), set(probe)
    if not a:
        return "none"
    if a == b:
        return "same"
    if a < b:
        return "subset"
    if a > b:
        return "superset"
    return "other"


def data_transform_names(data: Mapping[str, Any]) -> set[str]:
    """Transform names a data config applies (a composite: those of both of its parts)."""
    if data["kind"] == "composite":
        return data_transform_names(data["background"]) | data_transform_names(data["foreground"])
    return {tf["name"] for tf in data.get("transforms", ())}


def real_kind(data: Mapping[str, Any]) -> str | None:
    """The finite, real image source under a data config (a composite's is its background's)."""
    if data["kind"] == "composite":
        return real_kind(data["background"])
    return data["kind"] if data["kind"] in REAL_KINDS else None


def local_sources(data: Mapping[str, Any]) -> set[str]:
    """The local files a data config reads, as fingerprint sources (dsl.local_files):
    "cifar10", "cifar100", or "folder:<path>" for image, foreground and background folders."""
    kind = data["kind"]
    if kind == "composite":
        return local_sources(data["background"]) | local_sources(data["foreground"])
    if kind in catalog.CIFAR_CLASSES:
        return {kind}
    if kind == "image_folder":
        return {FOLDER + str(data["path"])}
    if kind == "transforms2d":
        return {FOLDER + str(data[part]) for part, builtin in
                (("foregrounds", ("openmoji",)), ("backgrounds", ("procedural", "none", None)))
                if data.get(part) not in builtin}
    return set()


def _image_folders(data: Mapping[str, Any], main: bool = True
                   ) -> Iterable[tuple[Mapping[str, Any], bool]]:
    """The image folder configs a data config reads, each with whether its splits are the
    data's own (a composite's sizes are its background's; a finite foreground is carved with
    the same n_val, and its objects are picked, not counted)."""
    if data["kind"] == "composite":
        yield from _image_folders(data["background"], main)
        yield from _image_folders(data["foreground"], False)
    elif data["kind"] == "image_folder":
        yield data, main


class FolderMissing(DslError):
    """An image folder whose classes are needed to plan is absent (a problem of its `path`)."""


def class_count(data: Mapping[str, Any], label: str = "class") -> int:
    """How many classes `label` has in a data config (raises DslError when it has none)."""
    kind = data["kind"]
    if kind == "composite":
        part = data["foreground"] if label == "foreground" else data["background"]
        return class_count(part, "class")
    if label != "class":
        raise DslError(f"label '{label}' needs composite data; this data is {kind}")
    if kind == "transforms2d":
        return len(data["objects"])
    if kind == "random_patterns":
        return len(data["patterns"])
    if kind in catalog.CIFAR_CLASSES:
        classes = data.get("classes")
        return catalog.CIFAR_CLASSES[kind] if classes is None else len(classes)
    if kind == "image_folder":
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
    if kind == "solid":
        return 1
    raise DslError(f"unknown data kind {kind!r}")  # pragma: no cover - validated earlier


def _transform(name: str, overrides: Mapping[str, Any],
               table: Mapping[str, catalog.TransformInfo] = catalog.TRANSFORMS) -> dict[str, Any]:
    """{"name", "params"} with every catalog parameter present, typed by the catalog so that
    `degrees = [0, 90]` and `[0.0, 90.0]` are one identity."""
    params = {}
    for pname, param in table[name].params.items():
        value = overrides.get(pname, param.default)
        if param.type == "range":
            value = [float(value[0]), float(value[1])]
        elif param.type == "int":
            value = int(value)
        else:
            value = float(value)
        params[pname] = value
    return {"name": name, "params": params}


class Resolver:
    """Resolves the cells of one validated spec (`dsl.spec.Spec` + its `dsl.load.Document`)."""

    def __init__(self, spec, doc, profile: Profile | None = None,
                 files: Callable[[str], str] | None = None):
        self.spec, self.doc, self.profile = spec, doc, profile
        self.files = files  # local source -> fingerprint; None: configs carry no fingerprints
        self.name = spec.spec.name or doc.path.stem
        raw = doc.data
        self.raw_train = raw["train"]
        self.raw_tasks: dict[str, Any] = raw.get("task", {}) or {}
        self.raw_data: dict[str, Any] = raw.get("data", {}) or {}
        self.raw_probes: list[Any] = raw.get("probe", []) or []
        self.factor_values = spec.factors.values()
        try:
            self.draw_defs = drawlib.definitions(spec.draw)
            self.draw_order = drawlib.order(self.draw_defs)
        except drawlib.DrawError as err:
            raise SpecError([doc.problem(err.path(), err.message)]) from None
        self.versions = {k: kinds.version(k) for k in kinds.KINDS}
        self._memo: dict[Any, Any] = {}
        self._names: dict[tuple, frozenset[str]] = {}  # section path -> its own "{NAME}"s
        self._drawn: dict[int, dict[str, tuple]] = {}
        self.deps = FactorDeps(self.raw_tasks, self.raw_data, self.factor_values)
        self.train_deps = self.deps.own(self.raw_train) | self.deps.deps_of_tasks(
            self.raw_train.get("task"))
        self.probe_deps = [
            self.deps.own(p) | self.train_deps | self.deps.deps_of_tasks(p.get("task"))
            for p in self.raw_probes]
        self._check_factors_used()

    def _check_factors_used(self) -> None:
        """A factor with several levels that no field uses makes cells that run the same jobs
        (a forgotten "{lr}" reads as "lr does not matter"): a problem. A factor zipped with a
        used one is a label of its group (`sweep` in relevance_availability) and is fine."""
        used = self.train_deps.union(*self.probe_deps)
        groups = [set(g) for g in (self.spec.factors.zip or ())]
        problems = []
        for name, levels in self.factor_values.items():
            labels = any(name in g and g & used for g in groups)
            if name in used or labels or len(levels) < 2:
                continue
            fix = f"write \"{{{name}}}\" as the value of the field it sweeps"
            if name in _TRAIN_FIELDS:
                fix = f"set {name} = \"{{{name}}}\" under [train]"
            problems.append(self.doc.problem(
                ("factors", name), f"factor '{name}' is used by no field: its {len(levels)} "
                "levels would run the same jobs", f"{fix}, or remove the factor"))
        if problems:
            raise SpecError(problems)

    # --- the grid ------------------------------------------------------------------------------
    def seeds(self) -> list[int]:
        seeds = self.spec.spec.seed_list()
        if self.profile and self.profile.first_seed_only:
            return seeds[:1]
        return seeds[:self.profile.max_seeds] if self.profile and self.profile.max_seeds else seeds

    def grid(self) -> list[dict[str, Any]]:
        f = self.spec.factors
        try:
            return fx.grid(self.factor_values, f.zip, f.exclude)
        except DslError as err:
            raise SpecError([self.doc.problem(("factors",), str(err))]) from None

    def cells(self) -> list[tuple[int, dict[str, Any]]]:
        grid = self.grid()
        return [(seed, env) for seed in self.seeds() for env in grid]

    def task_deps(self, name: str) -> frozenset[str]:
        return self.deps.task_deps(name)

    @staticmethod
    def _key(deps: Iterable[str], env: Mapping[str, Any]) -> tuple:
        # the type is part of the key: true, 1 and 1.0 are different factor values
        return tuple((n, type(env[n]).__name__, env[n]) for n in sorted(deps) if n in env)

    # --- errors ---------------------------------------------------------------------------------
    def _fail(self, path: tuple, message: str, suggestion: str | None = None,
              env: Mapping[str, Any] | None = None) -> SpecError:
        if env and fx.names_in(self._raw_at(path)):
            message += " (with " + ", ".join(f"{k} = {fx.text(v)}" for k, v in env.items()) + ")"
        return SpecError([self.doc.problem(path, message, suggestion)])

    def _raw_at(self, path: tuple) -> Any:
        node: Any = self.doc.data
        for part in path:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return node
        return node

    # --- sections -------------------------------------------------------------------------------
    def _section(self, section: str, path: tuple, raw: Any, env: Mapping[str, Any]) -> Any:
        """The raw section with this cell's factors substituted, validated by its raw model."""
        names = self._names.get(path)
        if names is None:
            names = self._names[path] = frozenset(fx.names_in(raw))
        key = ("section", path, self._key(names, env))
        if key in self._memo:
            return self._memo[key]
        try:
            value = fx.substitute(raw, env)
        except DslError as err:
            raise self._fail(path, str(err)) from None
        try:
            model = validate_section(section, value)
        except ValidationError as err:
            from dsl.load import problems_from_error

            note = " (with " + ", ".join(f"{k} = {fx.text(env[k])}"
                                         for k in sorted(fx.names_in(raw)) if k in env) + ")"
            problems = problems_from_error(err, self.doc, prefix=path,
                                           root=SECTION_MODELS[section])
            raise SpecError([replace(p, message=p.message + note) for p in problems]) from None
        self._memo[key] = model
        return model

    def drawn(self, seed: int) -> dict[str, tuple]:
        if seed not in self._drawn:
            try:
                self._drawn[seed] = drawlib.draw_all(self.draw_defs, seed, self.draw_order)
            except drawlib.DrawError as err:
                raise SpecError([self.doc.problem(err.path(), err.message + f" (seed {seed})")]
                                ) from None
        return self._drawn[seed]

    def job(self, kind: str, config: dict | JobConfig,
            inputs: Mapping[str, Any] | None = None) -> Job:
        """A job of `kind` (a typed config is hashed as its dict), shrunk by the profile."""
        if isinstance(config, JobConfig):
            config = config.to_config()
        if self.profile is not None:
            config = self.profile.apply(kind, config)
        return Job.make(kind, self.versions[kind], config, inputs)

    def with_files(self, config: dict) -> dict:
        """`config` (of a job that reads `config["data"]`) plus the fingerprints of the local
        files that data reads, so the job's id changes when they do; as is for generated data."""
        sources = local_sources(config["data"]) if self.files is not None else ()
        if sources:
            config = {**config, "files": {s: self.files(s) for s in sorted(sources)}}
        return config

    # --- data -----------------------------------------------------------------------------------
    def _draw(self, name: str, sort: str, seed: int, path: tuple, env) -> tuple:
        d = self.draw_defs.get(name)
        if d is None or d.sort != sort:
            what = f"'{name}' is a {d.sort} draw, not a {sort} draw" if d else \
                f"unknown {sort} draw '{name}'"
            raise self._fail(path, what, did_you_mean(
                name, [n for n, x in self.draw_defs.items() if x.sort == sort]), env)
        return self.drawn(seed)[name]

    def transform_names(self, ref: Any, seed: int, path: tuple, env) -> tuple[str, ...]:
        """A <transforms ref> -> transform names in catalog (composition) order."""
        chosen: set[str] = set()
        for item in (ref if isinstance(ref, list) else [ref]):
            if item == "none":
                continue
            if item == "all":
                chosen.update(catalog.TRANSFORMS)
            elif item in catalog.TRANSFORMS:
                chosen.add(item)
            elif (m := CHAIN.match(item)) and m.group(1) in self.draw_defs:
                d, k = self.draw_defs[m.group(1)], int(m.group(2))
                if d.sort != "transforms" or not d.nested:
                    raise self._fail(path, f"'{item}': draw '{d.name}' is not a nested "
                                     "transforms draw", "add nested = true to it", env)
                if k > d.n:
                    raise self._fail(path, f"'{item}': draw '{d.name}' has only {d.n} "
                                     "transforms", None, env)
                chosen.update(self.drawn(seed)[d.name][:k])
            else:
                chosen.update(self._draw(item, "transforms", seed, path, env))
        return tuple(t for t in catalog.TRANSFORMS if t in chosen)

    def _transforms(self, m: Any, seed: int, path: tuple, env) -> list[dict[str, Any]]:
        params = getattr(m, "params", None) or {}
        return [_transform(n, params.get(n, {}))
                for n in self.transform_names(m.transforms, seed, path + ("transforms",), env)]

    def augment(self, m: Any, seed: int, path: tuple, env) -> list[dict[str, Any]]:
        """`augment` (+ `augment_params`) -> TF dicts in the order they are applied: the data
        transforms in composition order, then the augment-only ops; presets expanded."""
        items = m.augment if isinstance(m.augment, list) else [m.augment]
        names = [n for item in items for n in catalog.AUGMENT_PRESETS.get(item, (item,))]
        ops = [o for o in catalog.AUGMENT_OPS if o in names]
        tfs = self.transform_names([n for n in names if n not in catalog.AUGMENT_OPS], seed,
                                   path + ("augment",), env)
        params = m.augment_params or {}
        return [_transform(n, params.get(n, {})) for n in tfs] + [
            _transform(o, params.get(o, {}), catalog.AUGMENT_OPS) for o in ops]

    def data(self, ref: Any, seed: int, env: Mapping[str, Any], path: tuple) -> dict[str, Any]:
        """A <data ref> (a name, a built-in or an inline model) -> a DataConfig."""
        if not isinstance(ref, str):
            return self._data_model(ref, seed, env, path)
        if ref in self.raw_data:
            key = ("data", ref, seed, self._key(self.deps.data_deps(ref), env))
            if key not in self._memo:
                dpath = ("data", ref)
                model = self._section("data", dpath, self.raw_data[ref], env)
                self._memo[key] = self._data_model(model, seed, env, dpath)
            return self._memo[key]
        if ref in BUILTINS:
            return BUILTINS[ref]
        raise self._fail(path, f"unknown data '{ref}'",
                         did_you_mean(ref, list(self.raw_data) + list(BUILTINS)), env)

    def _objects(self, ref: Any, seed: int, path: tuple, env) -> list[str]:
        if isinstance(ref, str):
            return list(self._draw(ref, "objects", seed, path, env))
        return list(ref)

    def _data_model(self, m: Any, seed: int, env, path: tuple) -> dict[str, Any]:
        kind = m.kind
        if kind == "transforms2d":
            return {"kind": kind, "objects": self._objects(m.objects, seed, path + ("objects",), env),
                    "transforms": self._transforms(m, seed, path, env),
                    "resolution": int(m.resolution), "foregrounds": m.foregrounds,
                    "backgrounds": m.backgrounds, "object_size": float(m.object_size)}
        if kind == "random_patterns":
            patterns = (list(self._draw(m.patterns, "patterns", seed, path + ("patterns",), env))
                        if isinstance(m.patterns, str) else list(range(m.patterns)))
            return {"kind": kind, "patterns": patterns,
                    "transforms": self._transforms(m, seed, path, env),
                    "resolution": int(m.resolution), "pattern_size": float(m.pattern_size)}
        if kind in catalog.CIFAR_CLASSES:
            classes = m.classes
            if isinstance(classes, str):
                d = self.draw_defs.get(classes)
                if d is not None and d.sort == "classes" and d.of != kind:
                    raise self._fail(path + ("classes",), f"draw '{classes}' is of {d.of}, the "
                                     f"data is {kind}", None, env)
                classes = list(self._draw(classes, "classes", seed, path + ("classes",), env))
            if classes is not None and list(classes) == list(range(catalog.CIFAR_CLASSES[kind])):
                classes = None  # every class in native order is the default: one identity
            return {"kind": kind, "classes": None if classes is None else list(classes),
                    "transforms": self._transforms(m, seed, path, env), "resolution": 32}
        if kind == "image_folder":
            return {"kind": kind, "path": m.path,
                    "classes": None if m.classes is None else list(m.classes),
                    "transforms": self._transforms(m, seed, path, env),
                    "resolution": int(m.resolution)}
        if kind == "solid":
            return {"kind": kind, "color": [int(c) for c in m.color],
                    "resolution": int(m.resolution)}
        if kind == "composite":
            background = self.data(m.background, seed, env, path + ("background",))
            fg = m.foreground
            resolution = int(background.get("resolution", 32))
            if fg.data is not None:
                foreground = self.data(fg.data, seed, env, path + ("foreground", "data"))
            else:  # objects on a transparent canvas, untransformed
                foreground = {"kind": "transforms2d",
                              "objects": self._objects(fg.objects, seed,
                                                       path + ("foreground", "objects"), env),
                              "transforms": [], "resolution": resolution,
                              "foregrounds": "openmoji", "backgrounds": "none",
                              "object_size": 0.7}
            return {"kind": "composite", "background": background, "foreground": foreground,
                    "scale": float(fg.scale), "position": fg.position,
                    "correlation": float(fg.correlation),
                    "availability": float(fg.availability), "resolution": resolution}
        raise DslError(f"unknown data kind {kind!r}")  # pragma: no cover - validated earlier

    # --- tasks ----------------------------------------------------------------------------------
    def task(self, name: Any, seed: int, env: Mapping[str, Any], where: tuple) -> Task:
        if not isinstance(name, str) or name not in self.raw_tasks:
            raise self._fail(where, f"unknown task {name!r}",
                             did_you_mean(str(name), self.raw_tasks), env)
        key = ("task", name, seed, self._key(self.task_deps(name), env))
        if key in self._memo:
            return self._memo[key]
        path = ("task", name)
        m = self._section("task", path, self.raw_tasks[name], env)
        data = self.data(m.data, seed, env, path + ("data",))
        try:
            n_classes = class_count(data, m.label)
        except FolderMissing as err:
            raise self._fail(self._data_path_of(name), str(err), None, env) from None
        except DslError as err:
            raise self._fail(path + ("label",), str(err), None, env) from None
        sizes = self.sizes(data, m)
        dataset = self.job("dataset", self.with_files({"data": data, "sizes": sizes,
                                                       "seed": seed}))
        self._check_folder_sizes(m, data, dataset.config["sizes"], path, env)
        self._check_generated_bytes(data, dataset.config["sizes"], path, env)
        task = Task(name, data, sizes, m.label, n_classes,
                    tuple(sorted(data_transform_names(data))), dataset)
        self._memo[key] = task
        return task

    def _pool_sizes(self, data: Mapping[str, Any]) -> tuple[int, int] | None:
        """(train pool, test pool) image counts of an image folder, or None when it (or a class
        folder) is absent or a split has no images: the dataset job says so when it runs, and
        `dsl run` skips a spec whose folder is absent."""
        classes = data.get("classes")
        key = ("pools", str(data["path"]), tuple(classes) if classes else None)
        if key not in self._memo:
            try:
                _, files = folder_pools(data["path"], classes)
                counts = (len(files["train"]), len(files["test"]))
            except (DataMissing, OSError):
                counts = None
            self._memo[key] = counts if counts and all(counts) else None
        return self._memo[key]

    def _check_folder_sizes(self, m: Any, data: Mapping[str, Any],
                            sizes: Mapping[str, int | None], path: tuple, env) -> None:
        """The sizes a task's dataset job asks for (after the profile) against the image folders
        it reads, where they exist now: the same arithmetic as the job's (engine.data.sources:
        val is carved from the training pool, train is the rest, test is the test pool)."""
        problems = []

        def fail(field: str, message: str, suggestion: str) -> None:
            problems.extend(self._fail(path + (field,), message, suggestion, env).problems)

        def asked(field: str, split: str) -> str:
            value, own = sizes.get(split), getattr(m, field)
            text = f"{field} = {value}"
            if self.profile is not None and value != own:
                text += (f" (--profile {self.profile.name}'s cap; the spec "
                         + (f"leaves {field} unset)" if own is None else f"says {own})"))
            return text

        keep = (f" (--profile {self.profile.name} keeps a smaller one)"
                if self.profile is not None else "")
        for folder, main in _image_folders(data):
            counts = self._pool_sizes(folder)
            if counts is None:
                continue
            pool, test = counts
            where = f"image folder {folder['path']}"
            more = f"or add images to {folder['path']}"
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
        if problems:
            raise SpecError(problems)

    @staticmethod
    def sizes(data: Mapping[str, Any], m: Any) -> dict[str, int | None]:
        real = real_kind(data)
        if real is None:
            return {"train": m.n_train or GENERATED_SIZES["train"],
                    "val": m.n_val or GENERATED_SIZES["val"],
                    "test": m.n_test or GENERATED_SIZES["test"]}
        # real data: null = every image available (val is carved from the training set)
        val = m.n_val if m.n_val is not None else (CIFAR_VAL if real != "image_folder" else None)
        return {"train": m.n_train, "val": val, "test": m.n_test}

    # --- a cell ---------------------------------------------------------------------------------
    def train(self, seed: int, env: Mapping[str, Any]) -> tuple[Task, dict, Job]:
        key = ("train", seed, self._key(self.train_deps, env))
        if key in self._memo:
            return self._memo[key]
        t = self._section("train", ("train",), self.raw_train, env)
        task = self.task(t.task, seed, env, ("train", "task"))
        config = TrainConfig.from_spec(t, task.label, task.num_classes, seed,
                                       self.augment(t, seed, ("train",), env))
        out = (task, config.model.to_config(),
               self.job("train", config, {"data": task.dataset.id}))
        self._memo[key] = out
        return out

    def probe(self, index: int, seed: int, env: Mapping[str, Any], source: Task, model: dict,
              train: Job) -> tuple[ProbeRef, list[Job]]:
        key = ("probe", index, seed, self._key(self.probe_deps[index], env))
        if key in self._memo:
            return self._memo[key]
        path = ("probe", index)
        p = self._section("probe", path, self.raw_probes[index], env)
        target = source if p.task is None else self.task(p.task, seed, env, path + ("task",))
        kind = p.kind
        build = kinds.load(kinds.KINDS[kind].resolve)
        job, jobs, probed = build(self, p, target, seed, env, path, model, train)
        derived = {"train_transforms": list(source.transforms),
                   "probe_transforms": list(probed),
                   "transform_relation": relation(source.transforms, probed)}
        out = (ProbeRef(p.name or kind, kind, job.id, derived), jobs)
        self._memo[key] = out
        return out

    def _check_generated_bytes(self, data, sizes: Mapping[str, Any], path: tuple, env) -> None:
        """Generated data is rendered once and kept whole as uint8 (in memory while it is made,
        then in the store): a size typed with three zeros too many is a problem now, not an
        out-of-memory error hours into a run."""
        if real_kind(data) is not None:
            return
        r = int(data.get("resolution") or 32)
        counts = {k: int(v or 0) for k, v in sizes.items()}
        size = sum(counts.values()) * 3 * r * r
        if size <= MAX_GENERATED_BYTES:
            return
        biggest = max(counts, key=lambda k: counts[k])
        raise self._fail(path + (f"n_{biggest}",),
                         f"{sum(counts.values()):,} images at {r}x{r} make a "
                         f"{size / 2 ** 30:,.0f} GiB dataset (generated data is kept whole as "
                         f"uint8; at most {MAX_GENERATED_BYTES // 2 ** 30} GiB)",
                         "the paper's largest pretraining set is 500,000 images", env)

    def _data_path_of(self, task: str) -> tuple:
        """Where a task's image folder `path` is written: inline in the task, in the [data.X]
        it names, else the task's data line."""
        ref = (self.raw_tasks.get(task) or {}).get("data")
        if isinstance(ref, dict) and "path" in ref:
            return ("task", task, "data", "path")
        if isinstance(ref, str) and isinstance(self.raw_data.get(ref), dict) and \
                "path" in self.raw_data[ref]:
            return ("data", ref, "path")
        return ("task", task, "data")

    def _check_n_train(self, n: int | None, target: Task, path: tuple, env) -> None:
        available = target.sizes["train"]
        if n is not None and available is not None and n > available:
            raise self._fail(path + ("n_train",), f"n_train = {n} but task '{target.name}' has "
                             f"only {available} training samples", None, env)

    def _vary(self, vary: Any, target: Task, seed: int, env, path: tuple
              ) -> tuple[dict[str, Any], tuple[str, ...]]:
        if vary in catalog.COMPONENTS:
            if target.data["kind"] != "composite":
                raise self._fail(path, f"vary = '{vary}' needs composite data; task "
                                 f"'{target.name}' is {target.data['kind']}", None, env)
            return {"component": vary}, ()
        names = self.transform_names(vary, seed, path, env)
        if not names:
            raise self._fail(path, "vary names no transform", "name at least one", env)
        # the varied transforms use the task data's parameters where it has them
        own = {tf["name"]: tf["params"] for tf in target.data.get("transforms", ())}
        tfs = [{"name": n, "params": own[n]} if n in own else _transform(n, {}) for n in names]
        return {"transforms": tfs}, names

    def cell(self, seed: int, env: Mapping[str, Any]) -> tuple[Cell, list[Job]]:
        """One cell and every job it needs, each after its inputs."""
        source, model, train = self.train(seed, env)
        jobs = [source.dataset, train]
        refs = []
        for index in range(len(self.raw_probes)):
            ref, probe_jobs = self.probe(index, seed, env, source, model, train)
            refs.append(ref)
            jobs.extend(probe_jobs)
        cell = Cell(self.name, seed, dict(env), train.id, tuple(refs),
                    {"train_transforms": list(source.transforms)})
        return cell, jobs
