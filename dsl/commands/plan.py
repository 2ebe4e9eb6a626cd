"""`dsl plan SPEC_OR_DIR...`: what a run would do, before doing it.

Per spec and in total, by job kind: `uses`, `jobs`, `shared`, `cached` and `to_run` (the words
below, the same in every command), plus a compute estimate of the jobs to run. A job several
specs need is one job of the total.

  --explain            every job: new, reused (from which spec and cell) or cached
  --explain --verbose  ... and its canonical config and inputs (what its JobId hashes)
  --json               {"specs": {name: {cells, uses, jobs, shared, cached, to_run, estimate}},
                        "total": {same keys}, "shared_across_specs": n}
  --calibration FILE   also the measured time of the jobs to run on the machine FILE was made
                       on (benchmarks/suite_cost.py writes it; JSON gets "projection")
The store is read, never created: a missing store means nothing is cached.

Counts:
{glossary}
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from typing import Any, Iterable

from dsl.commands._common import add_plan_options
from dsl.commands._selectors import add_selector_options
from dsl.counts import glossary, kind_rank

__doc__ = __doc__.replace("{glossary}", glossary(("cells", "uses", "jobs", "shared", "cached",
                                                  "to run")))



def register(sub):
    p = sub.add_parser("plan", help="count cells and jobs (shared, cached, to run) and estimate "
                                    "compute", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_plan_options(p)
    add_selector_options(p)
    p.add_argument("--explain", action="store_true",
                   help="list every job: new, reused (by which spec and cell) or cached")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="with --explain: print each job's canonical config and inputs")
    p.add_argument("--json", action="store_true", help="machine-readable counts")
    p.add_argument("--calibration", metavar="FILE",
                   help="price the jobs to run with measured seconds per job (a file written "
                        "by benchmarks/suite_cost.py) instead of only the FLOP estimate")
    p.set_defaults(func=_run)


def _by_kind(kinds: Iterable[str]) -> dict[str, int]:
    counts = Counter(kinds)
    return {k: counts[k] for k in sorted(counts, key=kind_rank)}


def cell_label(cell) -> str:
    return " ".join([f"seed={cell.seed}"] + [f"{k}={v}" for k, v in cell.factors.items()])


class Summary:
    """The counts `dsl plan` prints, computed once for text, JSON and --explain."""

    def __init__(self, plan, cached: set[str]):
        from dsl.estimate import estimate

        self.plan, self.cached = plan, cached
        self._closure: dict[str, frozenset[str]] = {}
        self.first: dict[str, tuple[str, str]] = {}  # job -> (spec, cell) that introduced it
        self.uses: Counter = Counter()  # job -> cells (over all specs) that need it
        self.spec_uses: Counter = Counter()  # (spec, job) -> cells of that spec that need it
        self.specs: dict[str, dict[str, Any]] = {}
        for sp in plan.specs:
            refs: Counter = Counter()
            for cell in sp.cells:
                needed = self.cell_jobs(cell)
                for jid in needed:
                    refs[sp.jobs[jid].kind] += 1
                    self.uses[jid] += 1
                    self.spec_uses[sp.name, jid] += 1
                    self.first.setdefault(jid, (sp.name, cell_label(cell)))
            unique = list(sp.jobs)
            to_run = [j for j in unique if j not in cached]
            self.specs[sp.name] = {
                "cells": len(sp.cells),
                "uses": {k: refs[k] for k in sorted(refs, key=kind_rank)},
                "jobs": _by_kind(sp.jobs[j].kind for j in unique),
                "shared": _by_kind(sp.jobs[j].kind for j in unique
                                   if self.spec_uses[sp.name, j] > 1),
                "cached": _by_kind(sp.jobs[j].kind for j in unique if j in cached),
                "to_run": _by_kind(sp.jobs[j].kind for j in to_run),
                "estimate": estimate(plan.jobs, to_run).as_dict(),
            }
        to_run = [j for j in plan.jobs if j not in cached]
        uses: Counter = Counter()
        for s in self.specs.values():
            uses.update(s["uses"])
        self.total = {
            "cells": sum(s["cells"] for s in self.specs.values()),
            "uses": {k: uses[k] for k in sorted(uses, key=kind_rank)},
            "jobs": _by_kind(j.kind for j in plan.jobs.values()),
            "shared": _by_kind(j.kind for j in plan.jobs.values() if self.uses[j.id] > 1),
            "cached": _by_kind(plan.jobs[j].kind for j in plan.jobs if j in cached),
            "to_run": _by_kind(plan.jobs[j].kind for j in to_run),
            "estimate": estimate(plan.jobs, to_run).as_dict(),
        }
        in_specs = Counter(jid for sp in plan.specs for jid in sp.jobs)
        self.shared = sum(1 for n in in_specs.values() if n > 1)  # jobs two specs or more need

    def closure(self, jid: str) -> frozenset[str]:
        """The job and everything it needs."""
        if jid not in self._closure:
            job = self.plan.jobs[jid]
            out = {jid}
            for dep in job.inputs.values():
                out |= self.closure(dep)
            self._closure[jid] = frozenset(out)
        return self._closure[jid]

    def cell_jobs(self, cell) -> list[str]:
        """Every job one cell needs, each once, inputs first."""
        seen: dict[str, None] = {}
        for jid in [cell.train] + [p.job for p in cell.probes]:
            for dep in sorted(self.closure(jid), key=lambda j: len(self.closure(j))):
                seen.setdefault(dep, None)
        return list(seen)

    def as_json(self) -> dict[str, Any]:
        return {"specs": self.specs, "total": self.total, "shared_across_specs": self.shared}


def _table(rows: dict[str, dict[str, int]], indent: str = "  ") -> list[str]:
    kinds = sorted({k for r in rows.values() for k in r}, key=kind_rank)
    cols = list(rows)
    lines = [indent + f"{'kind':<12}" + "".join(f"{c:>9}" for c in cols)]
    for kind in kinds:
        lines.append(indent + f"{kind:<12}" + "".join(f"{rows[c].get(kind, 0):>9}" for c in cols))
    lines.append(indent + f"{'all':<12}" + "".join(f"{sum(rows[c].values()):>9}" for c in cols))
    return lines


def _counts(entry: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {c: entry[c] for c in ("uses", "jobs", "shared", "cached", "to_run")}


def _uses(summary, spec: str, jid: str) -> str:
    """'used by 2 cells', and how many in all when other specs of the plan need it too."""
    here, total = summary.spec_uses[spec, jid], summary.uses[jid]
    text = f"used by {here} cell{'s' if here != 1 else ''}"
    return text if total == here else f"{text}; {total} in all specs"


def _estimate_text(e: dict[str, Any]) -> str:
    return f"{e['pflop']:.3g} PFLOP, {e['gpu_hours']:.3g} GPU-hours to run"


def render(summary: Summary, explain: bool = False, verbose: bool = False) -> str:
    from dsl.estimate import assumption
    from dsl.identity import canonical

    plan = summary.plan
    out: list[str] = []
    for sp in plan.specs:
        s = summary.specs[sp.name]
        out.append(f"{sp.name}  ({sp.path}): {s['cells']} cells, "
                   f"{_estimate_text(s['estimate'])}")
        if len(plan.specs) > 1:  # one spec: its table is the total's, printed once below
            out.extend(_table(_counts(s)))
        out.extend(_same_jobs_notes(sp, plan))
        if explain:
            for jid, job in sp.jobs.items():
                spec, cell = summary.first[jid]
                if jid in summary.cached:
                    status = "cached"
                elif spec != sp.name:
                    status = "reused"
                else:
                    status = "new"
                where = f"from {spec}: {cell}" if status == "reused" else f"first: {cell}"
                if spec != sp.name and status == "cached":
                    where = f"first: {spec}: {cell}"
                out.append(f"    {status:<7}{jid}  {where}  ({_uses(summary, sp.name, jid)})")
                if verbose:
                    out.append(f"           config: {canonical(job.config)}")
                    if job.inputs:
                        out.append("           inputs: " + ", ".join(
                            f"{role}={dep}" for role, dep in job.inputs.items()))
        out.append("")
    t = summary.total
    extra = f", profile {plan.profile}" if plan.profile else ""
    out.append(f"total: {len(plan.specs)} spec{'s' if len(plan.specs) != 1 else ''}, "
               f"{t['cells']} cells{extra}, {_estimate_text(t['estimate'])}")
    out.extend(_table(_counts(t)))
    if len(plan.specs) > 1:
        per_spec = sum(len(sp.jobs) for sp in plan.specs)
        out.append(f"shared across specs: {summary.shared} jobs (the specs' jobs add up to "
                   f"{per_spec}, {len(plan.jobs)} distinct)")
        trains = sum(1 for sp in plan.specs for j in sp.jobs.values() if j.kind == "train")
        unique = sum(1 for j in plan.jobs.values() if j.kind == "train")
        out.append(f"training jobs saved by sharing across specs: {trains - unique} "
                   f"({trains} per spec, {unique} to train once)")
    out.extend(_local_data(plan))
    out.append(assumption())
    return "\n".join(out)


def _same_jobs_notes(sp, plan) -> list[str]:
    """Factor levels that run the same jobs: their results will be identical (see
    SpecPlan.same_jobs); say so before a table shows a flat line."""
    why = "the profile or --set options make them identical" if plan.profile or plan.overrides \
        else "no field of their jobs differs"
    out = []
    for name, groups in sp.same_jobs().items():
        shown = "; ".join(", ".join(map(str, levels)) for levels in groups)
        out.append(f"  note: {name} = {shown} run the same jobs ({why}): their results will be "
                   "identical")
    return out


_ORIGIN = {"files": "the files here",
           "store": "files not here: the version the store last ran with",
           "missing": "files not here, nor in the store: its specs cannot run yet"}


def _local_data(plan) -> list[str]:
    """Which version of each local dataset the plan's job ids stand for, and where it came from."""
    return [f"local data {source}: {fp} ({_ORIGIN[plan.files_origin.get(source, 'files')]})"
            for source, fp in sorted(plan.files.items())]


def plan(paths, profile: str | None = None, overrides=(), store: Any = None,
         data_root: Any = None):
    """`dsl.planner.plan` against a store, as `dsl plan` does: local data absent here takes the
    fingerprint the store (a Store, a folder, or None for the default) last ran with. What
    `dsl.plan` is."""
    from dsl.planner import plan as make_plan
    from engine.store import recorded_lookup

    return make_plan(paths, profile=profile, overrides=tuple(overrides),
                     recorded=recorded_lookup(store), data_root=data_root)


def _run(args) -> int:
    from dsl.commands._common import cached, plan_from_args
    from dsl.commands._stale import provenance_view

    cal = None
    if getattr(args, "calibration", None):
        from dsl import calibration

        cal = calibration.load(args.calibration)  # a bad file fails before planning
    plan = plan_from_args(args)
    extra = provenance_view(args, plan)  # --only, --rerun and stale cached jobs (_stale.py)
    plan = extra.plan
    summary = Summary(plan, cached(plan, args.store))
    projection = None
    if cal is not None:
        from dsl import calibration

        projection = calibration.project(plan.jobs, cal,
                                         [j for j in plan.jobs if j not in summary.cached])
    if args.json:
        data = {**summary.as_json(), **extra.as_json()}
        if projection is not None:
            data["projection"] = {"hours": projection.total / 3600, "machine": cal.machine,
                                  "device": cal.device, "date": cal.date,
                                  "hours_by_kind": {k: v / 3600 for k, v in
                                                    sorted(projection.seconds.items())},
                                  "uncovered": projection.uncovered}
        print(json.dumps(data, indent=2))
    else:
        print(render(summary, explain=args.explain, verbose=args.verbose))
        for line in extra.lines:
            print(line)
        from dsl import compile_rule

        picked, trainings = compile_rule.count(
            plan.jobs, [j for j in plan.jobs if j not in summary.cached])
        if trainings:
            print(f"compile: {picked} of {trainings} trainings to run would be compiled on a "
                  f"GPU; {compile_rule.RULE}")
        if projection is not None:
            from dsl import calibration

            print(calibration.describe(projection, cal, getattr(args, "jobs", 1) or 1))
    return 0
