"""The resolved plan's types: jobs with identities, the cells that use them, and the graph.

These are plain frozen data (no pydantic, no torch): the only input to identity and to the engine.
A `Job` is the unit of work and caching; a `Cell` is one (seed x factor combination) of one spec
and says which jobs hold its results, so tables are built by joining cells with stored metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

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


@dataclass(frozen=True)
class Plan:
    specs: tuple[SpecPlan, ...]
    jobs: Mapping[JobId, Job]  # union over specs, deduplicated, dependencies first
    profile: str | None = None
    overrides: tuple[str, ...] = ()
    files: Mapping[str, str] = field(default_factory=dict)  # local data source -> fingerprint
    files_origin: Mapping[str, str] = field(default_factory=dict)  # "files" | "store" | "missing"

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
