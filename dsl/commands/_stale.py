"""What `dsl plan` says about stale cached jobs and about --rerun / --only: lines of text."""

from __future__ import annotations

import shlex
from collections import Counter
from typing import Any

from dsl.counts import kind_rank as _kind_rank


def rerun_command(args: Any, selector: str = "stale") -> str:
    """The `dsl run` line that reruns with the same specs and options as this command."""
    parts = ["dsl", "run", *args.paths]
    if args.profile:
        parts += ["--profile", args.profile]
    for o in args.overrides:
        parts += ["--set", o]
    for o in getattr(args, "only", ()):
        parts += ["--only", o]
    if args.store:
        parts += ["--store", args.store]
    return shlex.join(parts + ["--rerun", selector])


def stale_lines(staleness: Any, args: Any, plan: Any = None, done: set = frozenset()) -> list[str]:
    """Per kind: how many cached results other code made, and which files changed."""
    from engine.provenance import downstream, files_text

    out = []
    if staleness:
        out.append("stale: cached results made by other code than today's (kept, and used, "
                   "until you rerun them):")
        for kind in sorted(staleness.kinds, key=_kind_rank):
            n, files = staleness.kinds[kind]
            out.append(f"  {kind}: {n:,} cached result{'s' if n != 1 else ''} "
                       f"{'was' if n == 1 else 'were'} made by other code: "
                       f"{files_text(files)} changed")
        total = len(downstream(plan.jobs, staleness.jobs) & set(done)) if plan else 0
        along = f" ({total:,} cached jobs with what reads them)" if total > len(staleness.jobs) \
            else ""
        out.append(f"  rerun them{along}: {rerun_command(args)}")
    unknown = sum(staleness.unrecorded.values()) if staleness is not None else 0
    if unknown:
        out.append(f"note: {unknown:,} cached job(s) finished before code fingerprints were "
                   "recorded: whether their code is today's is unknown")
    return out


def selection_lines(selection: Any, plan: Any, cached: set) -> list[str]:
    """What --rerun selects and what the run would compute."""
    if selection is None:
        return []
    runs = [j for j in plan.jobs if j in selection.wanted and
            (j in selection.force or j not in cached)]
    by_kind = Counter(plan.jobs[j].kind for j in runs)
    kinds = ", ".join(f"{k} {by_kind[k]}" for k in sorted(by_kind, key=_kind_rank)) or "nothing"
    return [selection.describe(),
            f"  would run {len(runs)} job(s): {kinds}; the other jobs of the plan are left as "
            "they are"]


class ProvenanceView:
    """The plan restricted by --only, the staleness of its cached jobs and the --rerun choice."""

    def __init__(self, plan: Any, staleness: Any, selection: Any, lines: list[str]):
        self.plan, self.staleness, self.selection, self.lines = plan, staleness, selection, lines

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.staleness:  # present only when some cached job is stale
            out["stale"] = {k: {"jobs": n, "changed": list(files)}
                            for k, (n, files) in self.staleness.kinds.items()}
        if self.selection is not None:
            out["rerun"] = {"selected": sorted(self.selection.selected),
                            "force": sorted(self.selection.force),
                            "counts": dict(self.selection.counts)}
        return out


def provenance_view(args: Any, plan: Any) -> ProvenanceView:
    """The plan as --only restricts it, with the lines on stale jobs and --rerun to print."""
    from dsl.only import restrict
    from dsl.commands._common import cached
    from engine.provenance import stale
    from engine.rerun import select
    from engine.store import Store, resolve_root

    plan = restrict(plan, args.only)
    store = Store(resolve_root(args.store))
    done = cached(plan, store) if store.exists() else set()
    staleness = stale(store, {j: plan.jobs[j].kind for j in done}) if store.exists() else None
    selection = select(plan, store, args.rerun)
    return ProvenanceView(plan, staleness, selection,
                          stale_lines(staleness, args, plan, done) +
                          selection_lines(selection, plan, done))
