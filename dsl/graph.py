"""The resolved plan's types: jobs with identities, the cells that use them, and the graph.

These are plain frozen data (no pydantic, no torch): the only input to identity and to the engine.
A `Job` is the unit of work and caching; a `Cell` is one (seed x factor combination) of one spec
and says which jobs hold its results, so tables are built by joining cells with stored metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping

from dsl.identity import JobId, job_id


@dataclass(frozen=True)
class Job:
    """One node of the job graph. `config` is its own resolved parameters (plain JSON data);
    `inputs` maps a role ("data", "model", "features") to the JobId it consumes."""

    id: JobId
    kind: str
    version: str
    config: Mapping[str, Any]
    inputs: Mapping[str, JobId] = field(default_factory=dict)

    @classmethod
    def make(cls, kind: str, version: str, config: Mapping[str, Any],
             inputs: Mapping[str, JobId] | None = None) -> "Job":
        inputs = dict(inputs or {})
        return cls(job_id(kind, version, config, inputs), kind, version, config, inputs)


@dataclass(frozen=True)
class ProbeRef:
    """A probe of one cell: the job that computes it and what a report may group it by."""

    name: str  # the probe's name in the spec (defaults to its kind)
    kind: str  # linear | finetune | sensitivity | accuracy
    job: JobId
    derived: Mapping[str, Any] = field(default_factory=dict)  # e.g. probe_transforms, relation


@dataclass(frozen=True)
class Cell:
    spec: str
    seed: int
    factors: Mapping[str, Any]  # factor name -> the value as written in the spec
    train: JobId
    probes: tuple[ProbeRef, ...]
    derived: Mapping[str, Any] = field(default_factory=dict)  # e.g. train_transforms

    @property
    def key(self) -> str:
        from dsl.identity import canonical
        return canonical({"seed": self.seed, "factors": dict(self.factors)})


@dataclass(frozen=True)
class SpecPlan:
    name: str
    path: str
    text: str  # the spec file's text (extends included separately in `sources`)
    hash: str  # hash of the resolved spec (extends merged, overrides applied)
    title: str
    cells: tuple[Cell, ...]
    jobs: Mapping[JobId, Job]  # this spec's unique jobs, dependencies first
    reports: tuple[Mapping[str, Any], ...]
    requires: frozenset[str] = frozenset()  # local data it reads: {"cifar10", "folder:<path>"}
    resolved: Mapping[str, Any] = field(default_factory=dict)  # the resolved spec, for spec diff
    sources: Mapping[str, str] = field(default_factory=dict)  # path -> text of every file read

    def __repr__(self) -> str:  # the default dumps every job config: tens of KB
        return (f"<SpecPlan {self.name}: {len(self.cells)} cells, {_jobs_text(self.jobs)}"
                f"{'; needs ' + ', '.join(sorted(self.requires)) if self.requires else ''}>")

    def same_jobs(self) -> dict[str, list[list[Any]]]:
        """Factor levels that run exactly the same jobs: {factor: [[levels], ...]}, levels
        grouped when their cells (seed, train job, probe jobs) are the same set. A profile that
        clamps sizes (smoke: n_train 1000 and 3000 both become 512) makes levels coincide; their
        results will be identical, which a table would otherwise show as a flat line. A label
        factor zipped with others (`sweep`) shares a cell at most, so it is not reported."""
        out: dict[str, list[list[Any]]] = {}
        names = list(dict.fromkeys(n for c in self.cells for n in c.factors))
        for name in names:
            runs: dict[str, set] = {}
            value: dict[str, Any] = {}  # by repr: a level may be a list
            for c in self.cells:
                key = repr(c.factors.get(name))
                value.setdefault(key, c.factors.get(name))
                runs.setdefault(key, set()).add((c.seed, c.train, tuple(p.job for p in c.probes)))
            by_jobs: dict[frozenset, list[Any]] = {}
            for key, jobs in runs.items():
                by_jobs.setdefault(frozenset(jobs), []).append(value[key])
            found = [levels for levels in by_jobs.values() if len(levels) > 1]
            if found:
                out[name] = found
        return out


@dataclass(frozen=True)
class Plan:
    specs: tuple[SpecPlan, ...]
    jobs: Mapping[JobId, Job]  # union over specs, deduplicated, dependencies first
    profile: str | None = None
    overrides: tuple[str, ...] = ()
    files: Mapping[str, str] = field(default_factory=dict)  # local data source -> fingerprint
    files_origin: Mapping[str, str] = field(default_factory=dict)  # "files" | "store" | "missing"

    def __repr__(self) -> str:  # the default dumps every job config: tens of KB
        names = ", ".join(s.name for s in self.specs)
        options = " ".join(([f"--profile {self.profile}"] if self.profile else []) +
                           [f"--set {o}" for o in self.overrides])
        return (f"<Plan of {len(self.specs)} spec{'s' if len(self.specs) != 1 else ''} "
                f"({names}): {sum(len(s.cells) for s in self.specs)} cells, "
                f"{_jobs_text(self.jobs)}{'; ' + options if options else ''}>")

    def spec(self, name: str) -> SpecPlan:
        for s in self.specs:
            if s.name == name:
                return s
        raise KeyError(name)

    def dependents(self) -> dict[JobId, list[JobId]]:
        out: dict[JobId, list[JobId]] = {jid: [] for jid in self.jobs}
        for job in self.jobs.values():
            for dep in job.inputs.values():
                out.setdefault(dep, []).append(job.id)
        return out

    def topological(self) -> Iterator[Job]:
        """Jobs with every input before its consumers (the order `jobs` is built in)."""
        seen: set[JobId] = set()

        def visit(jid: JobId) -> Iterator[Job]:
            if jid in seen:
                return
            seen.add(jid)
            job = self.jobs[jid]
            for dep in job.inputs.values():
                yield from visit(dep)
            yield job

        for jid in self.jobs:
            yield from visit(jid)


def with_inputs(jobs: Mapping[JobId, Job], roots: Iterable[str]) -> set[str]:
    """`roots` and every job of `jobs` they read, directly or not (roots outside `jobs` are
    left out: their inputs are not known here)."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        jid = stack.pop()
        if jid in seen or jid not in jobs:
            continue
        seen.add(jid)
        stack.extend(jobs[jid].inputs.values())
    return seen


def _jobs_text(jobs: Mapping[JobId, Job]) -> str:
    """'18 jobs (6 dataset, 4 train, ...)', kinds in first-seen order (dependencies first)."""
    counts: dict[str, int] = {}
    for job in jobs.values():
        counts[job.kind] = counts.get(job.kind, 0) + 1
    return f"{len(jobs)} jobs ({', '.join(f'{n} {k}' for k, n in counts.items())})"
