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
The Resolver keeps that memoisation, the draws and task building; each data kind's table is
resolved, sized, counted and checked by its own module (dsl.data_resolvers, named by
dsl.data_kinds), which factors a section may depend on is dsl.factor_deps', and probe jobs are
built by each probe kind's builder (dsl.probe_jobs, named by dsl.kinds).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Mapping

from pydantic import ValidationError

from dsl import catalog, data_kinds, data_resolvers, kinds
from dsl import draws as drawlib
from dsl import factors as fx
from dsl.data_resolvers import (FolderMissing, class_count, data_transform_names,
                                 local_sources)
from dsl.data_resolvers import transform as _transform
from dsl.errors import DslError, SpecError, did_you_mean
from dsl.factor_deps import FactorDeps
from dsl.graph import Cell, Job, ProbeRef
from dsl.job_configs import JobConfig, TrainConfig
from dsl.profiles import Profile
from dsl.spec import SECTION_MODELS, TrainSpec, validate_section

CHAIN = re.compile(r"^(.+)\[(\d+)\]$")
_TRAIN_FIELDS = frozenset(f.alias or n for n, f in TrainSpec.model_fields.items())


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
            return data_resolvers.resolve(self, ref, seed, env, path)
        if ref in self.raw_data:
            key = ("data", ref, seed, self._key(self.deps.data_deps(ref), env))
            if key not in self._memo:
                dpath = ("data", ref)
                model = self._section("data", dpath, self.raw_data[ref], env)
                self._memo[key] = data_resolvers.resolve(self, model, seed, env, dpath)
            return self._memo[key]
        builtins = data_kinds.builtins()
        if ref in builtins:
            return builtins[ref]
        raise self._fail(path, f"unknown data '{ref}'",
                         did_you_mean(ref, list(self.raw_data) + list(builtins)), env)

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
        sizes = data_resolvers.sizes(data, m)
        dataset = self.job("dataset", self.with_files({"data": data, "sizes": sizes,
                                                       "seed": seed}))
        data_resolvers.check(self, m, data, dataset.config["sizes"], path, env)
        task = Task(name, data, sizes, m.label, n_classes,
                    tuple(sorted(data_transform_names(data))), dataset)
        self._memo[key] = task
        return task

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
            if vary not in data_resolvers.parts(target.data):  # a composite's components
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
