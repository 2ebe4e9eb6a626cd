"""Marks on results that rest on stale jobs: cached results made by other code than today's.

A number rests on a stale job when the job behind it, or any job it read (its features, model,
dataset), was made by code whose fingerprint differs from today's (engine.provenance). Tables,
reports and diffs put STALE_MARK beside such a number and a footnote naming the changed files
and the command that recomputes them; the numbers themselves are shown as stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from engine import provenance

STALE_MARK = "†"


@dataclass(frozen=True)
class StaleView:
    affected: frozenset[str] = frozenset()  # stale jobs and every job that read one
    staleness: provenance.Staleness = field(default_factory=provenance.Staleness)

    def __bool__(self) -> bool:
        return bool(self.affected)

    def touches(self, jobs: Iterable[str]) -> bool:
        return any(str(j) in self.affected for j in jobs)

    def footnote(self, spec_path: str | None = None) -> str:
        kinds = "; ".join(f"{k}: {n} job(s), {provenance.files_text(files)} changed"
                          for k, (n, files) in sorted(self.staleness.kinds.items()))
        fix = f"`dsl run {spec_path} --rerun stale`" if spec_path else "`dsl run SPEC --rerun stale`"
        return (f"{STALE_MARK} rests on results made by other code than today's ({kinds}); "
                f"{fix} recomputes them (with the same --profile and --set)")


def stale_view(store: Any, job_ids: Iterable[str]) -> StaleView:
    """Which of `job_ids` rest on stale jobs, following the inputs the store recorded."""
    if store is None or not store.exists():
        return StaleView()
    records: dict = {}
    provenance.with_recorded_inputs(store, job_ids, records)
    done = store.finished(records)
    staleness = provenance.stale(store, {j: records[j].kind for j in done})
    if not staleness:
        return StaleView(staleness=staleness)
    return StaleView(frozenset(provenance.downstream(records, staleness.jobs)), staleness)


def mark_tables(tables: list, view: StaleView, spec_path: str | None = None) -> None:
    """Mark the positions of `tables` whose jobs rest on stale ones, and add the footnote."""
    if not view:
        return
    for t in tables:
        for row in t.data.iter_rows(named=True):
            if view.touches(row["jobs"]):
                t.stale.add((row["row"], row["column"]))
        if t.stale:
            t.notes.append(view.footnote(spec_path))


def mark_diff(result: Any, view: StaleView) -> None:
    """Add a `stale` column to a results diff ("A", "B", "A and B" or null) and a note."""
    import polars as pl

    from dsl.identity import canonical

    def jobs_of(side) -> dict[tuple[str, str], set[str]]:
        out: dict[tuple[str, str], set[str]] = {}
        for c in side.cells:
            fkey = canonical(c["factors"])
            for probe, jid in [("train", c["train"])] + [(p["name"], p["job"])
                                                         for p in c["probes"]]:
                out.setdefault((fkey, probe), set()).add(str(jid))
        return out

    ja, jb = jobs_of(result.a), jobs_of(result.b)
    marks = []
    for fkey, probe in result.results.select("factors", "probe").iter_rows():
        a = view.touches(ja.get((fkey, probe), ()))
        b = view.touches(jb.get((fkey, probe), ()))
        marks.append("A and B" if a and b else "A" if a else "B" if b else None)
    result.results = result.results.with_columns(stale=pl.Series(marks, dtype=pl.String))
    if any(marks):
        result.notes.append(view.footnote())
