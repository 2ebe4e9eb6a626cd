"""`--rerun failed|stale|KIND|JOBID`: which jobs of a plan to compute again, and what comes along.

A selected job runs again even when it is finished; every job of the plan that reads it, directly
or not, runs again too when it holds a result (its input changes) or was skipped waiting for it,
and the inputs they need run first if they are not finished. Nothing else of the plan runs: jobs
never tried stay for a plain `dsl run`. The old artifact and metrics of a finished job stay in
the store, readable, until the new ones replace them (engine.store.claim with force).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from dsl.errors import DslError, did_you_mean
from dsl.graph import with_inputs
from engine import provenance

WORDS = ("failed", "stale")


@dataclass(frozen=True)
class Selection:
    selected: frozenset[str]  # what the selectors name
    force: frozenset[str]  # finished jobs to compute again (selected ones and what reads them)
    wanted: frozenset[str]  # every job the run handles: those, and the inputs they need
    counts: Mapping[str, int] = field(default_factory=dict)  # selector -> jobs it named
    staleness: provenance.Staleness | None = None

    def describe(self) -> str:
        named = ", ".join(f"{sel} {n}" for sel, n in self.counts.items())
        extra = len(self.force - self.selected)
        out = f"--rerun selects {len(self.selected)} job(s) ({named})"
        if extra:
            out += f", and {extra} finished job(s) that read them"
        return out


def parse(selectors: Iterable[str]) -> list[str]:
    """The selectors, commas split (`--rerun failed,stale` is `--rerun failed --rerun stale`)."""
    return [s.strip() for arg in selectors for s in str(arg).split(",") if s.strip()]


def _job_by_prefix(text: str, jobs: Mapping[str, Any]) -> list[str]:
    if text in jobs:
        return [text]
    return [j for j in jobs if j.startswith(text)] if "-" in text else []


def select(plan: Any, store: Any, selectors: Sequence[str]) -> Selection | None:
    """The Selection of `selectors` over `plan` (None when there are none)."""
    from engine.kinds import KINDS

    items = parse(selectors)
    if not items:
        return None
    jobs = plan.jobs
    finished = store.finished(jobs) if store.exists() else set()
    selected: set[str] = set()
    counts: dict[str, int] = {}
    staleness = None
    statuses: dict[str, str] | None = None
    for item in items:
        if item == "failed":
            if statuses is None:
                statuses = {j: r.status for j, r in store.jobs(list(jobs)).items()}
            found = {j for j, st in statuses.items() if st == "failed"}
        elif item == "stale":
            staleness = provenance.stale(store, {j: jobs[j].kind for j in finished}, finished)
            found = set(staleness.jobs)
        elif item in KINDS:
            found = {j for j, job in jobs.items() if job.kind == item}
        else:
            matches = _job_by_prefix(item, jobs)
            if len(matches) > 1:
                raise DslError(f"--rerun {item}: the prefix matches {len(matches)} jobs of the plan "
                               f"({', '.join(sorted(matches)[:3])}, ...): give more of the id")
            if not matches:
                raise DslError(_unknown(item, jobs, KINDS))
            found = set(matches)
        counts[item] = len(found)
        selected |= found
    if statuses is None:
        statuses = {j: r.status for j, r in store.jobs(list(jobs)).items()}
    # What reads a selected job comes along when it holds a result that would rest on the old
    # artifact (finished) or was skipped waiting for it; jobs never tried stay out.
    along = _readers(jobs, selected, finished, statuses)
    force = {j for j in selected | along if j in finished}
    return Selection(frozenset(selected), frozenset(force),
                     frozenset(with_inputs(jobs, selected | along)), counts, staleness)


def _readers(jobs: Mapping[str, Any], roots: set[str], finished: set[str],
             statuses: Mapping[str, str]) -> set[str]:
    """Jobs reading `roots`, transitively, through jobs that are finished or were skipped."""
    readers: dict[str, list[str]] = {}
    for jid, job in jobs.items():
        for dep in job.inputs.values():
            readers.setdefault(str(dep), []).append(str(jid))
    out: set[str] = set()
    stack = [r for root in roots for r in readers.get(root, ())]
    while stack:
        jid = stack.pop()
        if jid in out or jid in roots or not (jid in finished or statuses.get(jid) == "skipped"):
            continue
        out.add(jid)
        stack.extend(readers.get(jid, ()))
    return out


def _unknown(item: str, jobs: Mapping[str, Any], kinds: Mapping[str, Any]) -> str:
    choices = [*WORDS, *kinds]
    kind_part = item.rsplit("-", 1)[0]
    if "-" in item and kind_part in kinds:  # a job id that is not in this plan
        hint = did_you_mean(item, [j for j in jobs if j.startswith(kind_part)])
        return (f"--rerun {item}: no job of these specs' plan has that id (`dsl plan --explain` "
                "lists them; check --profile and --set match the run that made it)" +
                (f"; {hint}" if hint else ""))
    hint = did_you_mean(item, choices)
    return (f"--rerun {item}: not a selector (failed, stale, a job kind: {', '.join(kinds)}, or "
            "a job id)" + (f"; {hint}" if hint else ""))
