"""Cells x metrics -> one long polars frame: the single shape every table, chart and diff reads.

A *slot* is one place a number can come from: a (cell, probe) pair, or a cell's own train job
(probe = "train"). Slots come from the plan (or a recorded run), never from the metrics, so a
job that has not run or has failed still has its row, with a null value and a status saying why:
results are joined onto what was asked for, and nothing asked for can silently disappear.

Pure functions over plain data: cells are the dicts `engine.store.cells_json` writes (seed,
factors, train, probes [{name, kind, job, derived}], derived), metrics the store's frame
[job_id, name, split, value]. `cell_dicts` turns a SpecPlan or a RunRecord into that form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import polars as pl

from dsl import kinds
from dsl.errors import DslError

DERIVED = ("transform_relation", "train_transforms", "probe_transforms")
# Columns every slot has besides its factors; a factor may not take one of these names.
SLOT_COLUMNS = ("cell", "seed", "probe", "probe_kind", "job", "train_job") + DERIVED
# Display order of transform_relation (the paper's Table 2 reads Same / Other / None).
RELATION_ORDER = ("same", "subset", "superset", "other", "none")
# Metrics each job kind reports (docs/jobs.md); a bare METRIC selects every probe producing it.
KIND_METRICS = kinds.METRICS  # kind -> metrics, from the job-kind registry
METRIC_SCHEMA = {"job_id": pl.String, "name": pl.String, "split": pl.String, "value": pl.Float64}


def cell_dicts(source: Any) -> list[dict]:
    """The cells of a SpecPlan, a recorded run (RunRecord) or an iterable of cell dicts."""
    from dsl.graph import SpecPlan

    if isinstance(source, SpecPlan):
        from engine.store import cells_json

        return cells_json(source)
    cells = getattr(source, "cells", source)
    return [dict(c) for c in cells]


def empty_metrics() -> pl.DataFrame:
    return pl.DataFrame(schema=METRIC_SCHEMA)


def factor_names(cells: Sequence[Mapping]) -> list[str]:
    """Factor names in the order the spec writes them (the first cell's order, then any new)."""
    names: dict[str, None] = {}
    for c in cells:
        for k in c.get("factors", {}):
            names.setdefault(k, None)
    return list(names)


def _show_list(value: Any) -> Any:
    """A list-valued derived column as one groupable label: ["hue", "rotate"] -> "hue+rotate"."""
    if isinstance(value, (list, tuple)):
        return "+".join(str(v) for v in value) if value else "none"
    return value


def _column(values: list[Any]) -> pl.Series | list:
    """One type per column: ints stay ints, ints mixed with floats become floats, anything
    else mixed becomes text (a factor may list 1 and "all")."""
    kinds = {type(v) for v in values if v is not None}
    if kinds <= {bool} or kinds <= {int} or kinds <= {float} or kinds <= {str}:
        return values
    if kinds <= {int, float}:
        return [None if v is None else float(v) for v in values]
    return [None if v is None else str(v) for v in values]


def slots(cells: Sequence[Mapping]) -> pl.DataFrame:
    """One row per place a number comes from: each cell's train job and each of its probes."""
    factors = factor_names(cells)
    clash = sorted(set(factors) & set(SLOT_COLUMNS + ("value", "status", "metric", "split")))
    if clash:
        raise DslError(f"factor name(s) {', '.join(clash)} clash with result columns; rename them")
    rows: list[dict] = []
    for i, c in enumerate(cells):
        base = {"cell": i, "seed": int(c["seed"]), **{f: c["factors"].get(f) for f in factors}}
        train_tf = _show_list((c.get("derived") or {}).get("train_transforms"))
        rows.append({**base, "probe": "train", "probe_kind": "train", "job": str(c["train"]),
                     "train_job": str(c["train"]), "transform_relation": None,
                     "train_transforms": train_tf, "probe_transforms": None})
        for p in c.get("probes", ()):
            d = p.get("derived") or {}
            rows.append({**base, "probe": p["name"], "probe_kind": p["kind"], "job": str(p["job"]),
                         "train_job": str(c["train"]),
                         "transform_relation": d.get("transform_relation"),
                         "train_transforms": _show_list(d.get("train_transforms", train_tf)),
                         "probe_transforms": _show_list(d.get("probe_transforms"))})
    columns = ["cell", "seed", *factors, "probe", "probe_kind", "job", "train_job", *DERIVED]
    data = {col: _column([r.get(col) for r in rows]) for col in columns}
    schema_hint = {"cell": pl.Int64, "seed": pl.Int64, "probe": pl.String, "probe_kind": pl.String,
                   "job": pl.String, "train_job": pl.String,
                   **{d: pl.String for d in DERIVED}}
    return pl.DataFrame({col: pl.Series(col, vals, dtype=schema_hint.get(col), strict=False)
                         for col, vals in data.items()})


def long_frame(cells: Sequence[Mapping], metrics: pl.DataFrame | None = None) -> pl.DataFrame:
    """Every slot with every metric its job reported (metric/split/value null where none)."""
    m = (metrics if metrics is not None else empty_metrics()).rename(
        {"job_id": "job", "name": "metric"})
    return slots(cells).join(m, on="job", how="left")


@dataclass(frozen=True)
class ValueRef:
    """A report VALUE: "PROBE.METRIC[@split]", "train.METRIC" or a bare "METRIC"."""

    probe: str | None  # None: every probe producing the metric
    metric: str
    split: str | None  # None: "test", or no split for split-less metrics (sensitivity)

    @classmethod
    def parse(cls, text: str) -> "ValueRef":
        body, _, split = text.partition("@")
        probe, dot, metric = body.partition(".")
        if not dot:
            probe, metric = None, body
        if not metric:
            raise DslError(f"cannot read the report value '{text}': write PROBE.METRIC[@split]")
        return cls(probe, metric, split or None)

    def __str__(self) -> str:
        out = f"{self.probe}.{self.metric}" if self.probe else self.metric
        return f"{out}@{self.split}" if self.split else out


def _pick_split(metrics: pl.DataFrame, ref: ValueRef) -> pl.DataFrame:
    """One row per job: the asked split, else test, else the split-less value."""
    m = metrics.filter(pl.col("name") == ref.metric)
    if ref.split:
        return m.filter(pl.col("split") == ref.split).select("job_id", "value")
    m = m.filter((pl.col("split") == "test") | pl.col("split").is_null())
    m = m.with_columns(_rank=pl.when(pl.col("split") == "test").then(0).otherwise(1))
    return m.sort(["job_id", "_rank"]).unique("job_id", keep="first", maintain_order=True) \
        .select("job_id", "value")


def select(cells: Sequence[Mapping] | pl.DataFrame, metrics: pl.DataFrame | None, value: str,
           statuses: Mapping[str, str] | None = None) -> pl.DataFrame:
    """The slots a VALUE reads, each with its number or null, and a status: ok, or why not
    (failed, skipped, running, not run, no metric)."""
    ref = ValueRef.parse(value)
    s = cells if isinstance(cells, pl.DataFrame) else slots(cells)
    if ref.probe is not None:
        s = s.filter(pl.col("probe") == ref.probe)
    else:
        kinds = [k for k, ms in KIND_METRICS.items() if ref.metric in ms and k != "train"]
        s = s.filter(pl.col("probe_kind").is_in(kinds))
    m = _pick_split(metrics if metrics is not None else empty_metrics(), ref)
    out = s.join(m.rename({"job_id": "job"}), on="job", how="left")
    statuses = statuses or {}

    def status(job: str, v: float | None) -> str:
        if v is not None:
            return "ok"
        st = statuses.get(job)
        if st is None:
            return "not run"
        return "no metric" if st == "done" else st

    return out.with_columns(status=pl.Series(
        [status(j, v) for j, v in zip(out["job"].to_list(), out["value"].to_list())],
        dtype=pl.String))


def apply_filter(frame: pl.DataFrame, filt: Mapping[str, Any] | None) -> pl.DataFrame:
    """Keep rows whose DIM equals the given value (or one of the given values)."""
    for dim, wanted in (filt or {}).items():
        if dim not in frame.columns:
            raise DslError(f"filter on unknown column '{dim}' (columns: "
                           f"{', '.join(c for c in frame.columns if c not in ('cell', 'job'))})")
        wanted = list(wanted) if isinstance(wanted, (list, tuple)) else [wanted]
        dtype = frame.schema[dim]
        if dtype == pl.String:
            wanted = [_show_list(w) if isinstance(w, list) else str(w) for w in wanted]
            frame = frame.filter(pl.col(dim).is_in(wanted))
        else:
            same_type = pl.Series(wanted).cast(dtype, strict=False).to_list()
            frame = frame.filter(pl.col(dim).is_in(same_type))
    return frame


def pooled(frame: pl.DataFrame, dims: Sequence[str]) -> list[tuple[str, int]]:
    """Factors (and probes) that take several values within one shown number: (name, count).

    The aggregation averages the jobs of a (dims, seed) group before it averages seeds, so a
    factor the report neither shows nor filters is silently pooled; this says which ones. Cells
    that share one job (a probe that does not use the factor) are one measurement, not pooled.
    """
    fixed = set(dims) | set(SLOT_COLUMNS) | {"value", "status", "split", "metric"}
    candidates = [c for c in frame.columns if c not in fixed] + \
        (["probe"] if "probe" not in dims else [])
    if not frame.height or not candidates:
        return []
    jobs = frame.unique(subset=[*dims, "seed", "job"], keep="first", maintain_order=True)
    counts = jobs.group_by([*dims, "seed"]).agg(
        [pl.col(c).cast(pl.String).n_unique().alias(c) for c in candidates]).select(
        [pl.col(c).max() for c in candidates]).row(0)
    return [(c, int(k)) for c, k in zip(candidates, counts) if k and k > 1]


def pooled_note(frame: pl.DataFrame, dims: Sequence[str], where: str) -> str | None:
    """The note for `pooled`: what each number averages, and how to show it instead."""
    found = pooled(frame, dims)
    if not found:
        return None
    what = ", ".join(f"{name} ({k} values)" for name, k in found)
    return f"each number averages over {what} per seed (show it as {where}, or filter it)"


def levels(frame: pl.DataFrame, column: str, dim: str | None = None) -> list[Any]:
    """A column's values in display order: relations in the paper's order, numbers in numeric
    order (a zipped sweep lists them in the order of its rows: 1.0, 0.0, 0.2, ...), everything
    else in plan order (the order the spec lists factor values and probes). `dim` names what
    the column holds when it was renamed."""
    values = frame[column].unique(maintain_order=True).to_list()
    if (dim or column) == "transform_relation":
        rank = {r: i for i, r in enumerate(RELATION_ORDER)}
        values.sort(key=lambda v: (rank.get(v, len(rank)), str(v)))
    elif values and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                        for v in values if v is not None):
        values.sort(key=lambda v: (v is None, v or 0))
    return values


def job_statuses(store: Any, job_ids: Iterable[str]) -> dict[str, str]:
    """Status of each job the store knows (done, failed, skipped, running, pending)."""
    if store is None:
        return {}
    return {jid: rec.status for jid, rec in store.jobs(list(job_ids)).items()}
