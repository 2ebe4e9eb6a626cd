"""Spec files -> `dsl.graph.Plan`: every cell's jobs, deduplicated by JobId across specs.

`plan` reads each spec (extends merged, --set applied, validated, draws checked), resolves its
cells (`dsl.resolve`) and keeps one Job per JobId: a job shared by two cells or two specs is one
node of the graph. Folders mean their *.toml files, sorted, except files whose name starts with
"_": those are bases that exist to be extended (`dsl validate` still checks them when named).
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Mapping, Sequence

from dsl import kinds, profiles
from dsl.errors import DslError, did_you_mean
from dsl.graph import Cell, Job, Plan, SpecPlan
from dsl.identity import JobId, canonical, normalise, text_hash


def _load(path: str | os.PathLike, overrides: Sequence[str]):
    from dsl.load import read_document, validate_document

    doc = read_document(path, overrides)
    return doc, validate_document(doc)


def _plain(value: Any) -> Any:
    """The TOML document as identity-safe data (dates, should a spec hold one, as text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def plan_spec(path: str | os.PathLike, profile: str | None = None,
              overrides: Sequence[str] = (), files: Any = None) -> SpecPlan:
    """One spec's plan: its cells and its own unique jobs, dependencies first. `files` maps a
    local data source to its fingerprint (dsl.local_files.LocalFiles)."""
    from dsl.data_resolvers import local_sources
    from dsl.resolve import Resolver

    prof = profiles.get(profile)
    doc, spec = _load(path, overrides)
    resolver = Resolver(spec, doc, prof, files)
    if files is not None:
        files.for_spec(resolver.name, profile)
    jobs: dict[JobId, Job] = {}
    cells: list[Cell] = []
    for seed, env in resolver.cells():
        cell, cell_jobs = resolver.cell(seed, env)
        cells.append(cell)
        for job in cell_jobs:
            if job.id not in jobs:
                jobs[job.id] = job
    requires: set[str] = set()
    readers = kinds.reads_files()
    for job in jobs.values():
        if job.kind in readers:
            requires |= local_sources(job.config["data"])
    resolved = normalise(_plain(doc.data))
    return SpecPlan(
        name=resolver.name,
        path=str(path),
        text=doc.texts[doc.files[0]],
        hash=text_hash(canonical({"spec": resolved, "profile": profile})),
        title=spec.spec.title,
        cells=tuple(cells),
        jobs=jobs,
        reports=tuple(r.model_dump(by_alias=True, exclude_none=True) for r in spec.report),
        requires=frozenset(requires),
        resolved=resolved,
        sources=dict(doc.texts),
    )


def spec_files(paths: Iterable[str | os.PathLike]) -> list:
    from dsl.load import expand_paths

    paths = list(paths)
    files = expand_paths(paths)
    if not files:
        raise DslError("no spec files found in " + ", ".join(str(p) for p in paths))
    unique: dict = {}
    for f in files:  # `dsl plan specs/ specs/x.toml` plans x once
        unique.setdefault(f.resolve(), f)
    return list(unique.values())


def plan(paths: str | os.PathLike | Iterable[str | os.PathLike], profile: str | None = None,
         overrides: Sequence[str] = (), recorded: Any = None, data_root: Any = None) -> Plan:
    """The deduplicated job graph of every spec at `paths` (files or folders).

    Identity never depends on what has run, with one exception: jobs that read local data
    (CIFAR under `data_root`, default $DSL_DATA else ./data; image folders) carry the content
    fingerprint of those files, and when the files are absent here, the fingerprint the store
    last ran with (so results stay findable without the data): `recorded` asks it, a lookup
    (source, spec, profile) -> fingerprint or None from the layer above
    (engine.store.recorded_lookup); without one, absent files are "missing".
    """
    from dsl.local_files import LocalFiles

    files = LocalFiles(data_root, recorded)
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    profiles.get(profile)  # an unknown profile fails before any spec is read
    specs: list[SpecPlan] = []
    seen: dict[str, str] = {}
    for path in spec_files(paths):
        sp = plan_spec(path, profile, overrides, files)
        if sp.name in seen:
            raise DslError(f"two specs are named '{sp.name}': {seen[sp.name]} and {sp.path}; "
                           "give one a distinct [spec] name")
        seen[sp.name] = sp.path
        specs.append(sp)
    jobs: dict[JobId, Job] = {}
    for sp in specs:
        for jid, job in sp.jobs.items():
            jobs.setdefault(jid, job)
    return Plan(tuple(specs), jobs, profile, tuple(overrides), dict(files.used),
                dict(files.origin))


def resolve_task(spec_path: str | os.PathLike, task: str, seed: int = 0,
                 profile: str | None = None, overrides: Sequence[str] = ()
                 ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(data config, sizes, info) of one task of a spec, for `dsl preview`. A task that uses
    factors is shown with the first factor combination; info is {"seeds": the spec's seeds,
    "factors": {factor: (value shown, number of values)}} for the factors the task uses, so the
    caption can say which."""
    from dsl.resolve import Resolver

    prof = profiles.get(profile)
    doc, spec = _load(spec_path, overrides)
    resolver = Resolver(spec, doc, prof)
    if task not in resolver.raw_tasks:
        hint = did_you_mean(task, resolver.raw_tasks)
        raise DslError(f"spec '{resolver.name}' has no task '{task}' (tasks: "
                       f"{', '.join(resolver.raw_tasks) or 'none'})" + (f"; {hint}" if hint else ""))
    grid = resolver.grid()
    env: Mapping[str, Any] = grid[0] if grid else {}
    t = resolver.task(task, seed, env, ("task", task))
    config = t.dataset.config
    used = resolver.task_deps(task)
    return dict(config["data"]), dict(config["sizes"]), {"seeds": resolver.seeds(), "factors": {
        f: (env[f], len({repr(g[f]) for g in grid})) for f in env if f in used}}
