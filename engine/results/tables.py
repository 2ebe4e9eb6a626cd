"""[[report]] tables: slots -> seed aggregates -> a rows x columns grid, and its renderings.

`build_tables` is pure (cells, reports, metrics, job statuses in; Tables out) so it is tested on
hand-made data; `table` and `print_spec_tables` fetch those inputs from the planner and the store.
A grid position with planned slots but no value reads "missing" (with the reason); a position no
cell was planned for (an `exclude`d combination) reads "-": the two must not look alike.
"""

from __future__ import annotations

import io
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import polars as pl

from dsl.errors import DslError
from dsl.stats import CI_NAMES, bounded
from dsl.profiles import options_text
from engine.results.aggregate import aggregate
from engine.results.stale import STALE_MARK, mark_tables, stale_view
from engine.results.frame import (apply_filter, cell_dicts, job_statuses, levels, pooled_note,
                                  select, slots)

FORMATS = ("terminal", "csv", "md", "json", "parquet")
NOT_PLANNED = "-"


@dataclass
class Table:
    """One table report, aggregated. `data` has one row per planned (row, column) position."""

    spec: str
    title: str
    rows: str
    columns: str | None
    value: str
    filter: Mapping[str, Any]
    data: pl.DataFrame  # row, column, mean, std, n, ci_low, ci_high, seeds, expected, ...
    row_levels: list[Any]
    column_levels: list[Any]
    report_index: int = 0
    notes: list[str] = field(default_factory=list)
    stale: set = field(default_factory=set)  # (row, column) resting on stale jobs (results.stale)
    ci: str = "bootstrap"  # how ci_low/ci_high were computed: "bootstrap" | "t"
    center: str = "mean"  # what a cell shows: "mean" | "iqm" (the interval is of it)

    def footer(self) -> str:
        """What the numbers are: "mean ± std over seeds; 95% CI: percentile bootstrap"."""
        what = "IQM (interquartile mean) ± std" if self.center == "iqm" else "mean ± std"
        return f"{self.value}: {what} over seeds; {ci_text(self.data, self.value, self.ci)}"

    def cell(self, row: Any, column: Any) -> dict | None:
        """The aggregate at one position, or None when no cell was planned there."""
        hit = self.data.filter((pl.col("row") == row) & (pl.col("column") == column))
        return hit.row(0, named=True) if hit.height else None

    def text(self, row: Any, column: Any) -> str:
        mark = f" {STALE_MARK}" if (row, column) in self.stale else ""
        return cell_text(self.cell(row, column), self.center) + mark

    def display(self) -> pl.DataFrame:
        """The grid as text ("mean ± std"), rows dim first: what terminal and md print."""
        head = [_label(c) for c in self.column_levels]
        data: dict[str, list[str]] = {self.rows: [_label(r) for r in self.row_levels]}
        for c, name in zip(self.column_levels, head):
            data[name] = [self.text(r, c) for r in self.row_levels]
        return pl.DataFrame(data, schema={k: pl.String for k in data})

    def wide(self, stat: str = "mean") -> pl.DataFrame:
        """The grid of one statistic (mean, std, n, ci_low, ...) as numbers."""
        data: dict[str, list[Any]] = {self.rows: list(self.row_levels)}
        for c in self.column_levels:
            data[_label(c)] = [(self.cell(r, c) or {}).get(stat) for r in self.row_levels]
        return pl.DataFrame(data, strict=False)

    def long(self) -> pl.DataFrame:
        """Numbers in long form with the table's identity: what csv, json and parquet hold."""
        d = self.data
        return pl.DataFrame({
            "spec": [self.spec] * d.height,
            "table": [self.title] * d.height,
            "row_dim": [self.rows] * d.height,
            "row": [_label(v) for v in d["row"].to_list()],
            "column_dim": [self.columns or ""] * d.height,
            "column": [_label(v) for v in d["column"].to_list()],
            "value": [self.value] * d.height,
            "mean": d["mean"], "std": d["std"], "n": d["n"],
            "ci_low": d["ci_low"], "ci_high": d["ci_high"], "seeds": d["seeds"],
            "expected": d["expected"], "missing": d["missing"],
            "why_missing": d["why_missing"],
            "jobs": [" ".join(j) for j in d["jobs"].to_list()],
            **({"iqm": d["iqm"]} if self.center == "iqm" else {}),
        }, schema_overrides={"mean": pl.Float64, "std": pl.Float64, "ci_low": pl.Float64,
                             "ci_high": pl.Float64, "why_missing": pl.String})


def _label(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def fmt_number(x: float | None, like: float | None = None) -> str:
    """Three decimals in the usual accuracy/sensitivity range, 3 significant digits outside it;
    `like` formats a spread with its mean's precision ("0.643 ± 0.004")."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "?"
    ref = x if like is None else like
    if ref == 0 or 0.01 <= abs(ref) < 1000:
        return f"{x:.3f}"
    return f"{x:.3g}"


def cell_text(agg: Mapping[str, Any] | None, center: str = "mean") -> str:
    """"mean ± std" (or IQM ± std), "missing (failed 2)", or "-" where nothing was planned."""
    if agg is None:
        return NOT_PLANNED
    if agg["mean"] is None:
        why = agg.get("why_missing")
        return f"missing ({why})" if why else "missing"
    out = fmt_number(agg[center])
    if agg["std"] is not None:
        out += f" ± {fmt_number(agg['std'], agg[center])}"
    if agg["missing"]:
        out += f" [{agg['expected'] - agg['missing']}/{agg['expected']}]"
    return out


def default_title(report: Mapping[str, Any]) -> str:
    view = report.get("table") or report.get("chart") or {}
    if "table" in report:
        cols = f" x {view['columns']}" if view.get("columns") else ""
        return f"{view['value']} by {view['rows']}{cols}"
    if view.get("kind") == "heatmap":  # y (rows) x x (columns), as a table of it reads
        return f"{view.get('color')} by {view.get('y')} x {view.get('x')}"
    return f"{view.get('y')} by {view.get('x')}"


def ci_text(data: pl.DataFrame, value: str, ci: str = "bootstrap") -> str:
    """What an aggregate's interval is, for a footer or a chart's subtitle: "95% CI: percentile
    bootstrap, clipped to [0, 1]; below 10 seeds it covers less than 95% (docs/claims.md)"."""
    clipped = ", clipped to [0, 1]" if bounded(value) else ""
    n = [k for k in data["n"].to_list() if k and k >= 2] if data.height else []
    # simulated coverage of a 95% percentile bootstrap of a mean: ~50% at 2 seeds, ~75% at
    # 3, ~85% at 5, ~91% at 10 (docs/claims.md); a reader must not take it for 95%
    few = "; below 10 seeds it covers less than 95% (docs/claims.md)" \
        if ci == "bootstrap" and n and min(n) < 10 else ""
    return f"95% CI: {CI_NAMES[ci]}{clipped}{few}"


def build_table(cells: Sequence[Mapping] | pl.DataFrame, report: Mapping[str, Any],
                metrics: pl.DataFrame | None, statuses: Mapping[str, str] | None = None,
                *, spec: str = "", index: int = 0, ci: str = "bootstrap",
                center: str = "mean") -> Table:
    """One `table = {rows, columns, value}` report from cells and metrics."""
    view = report["table"]
    rows, columns, value = view["rows"], view.get("columns"), view["value"]
    sel = apply_filter(select(cells, metrics, value, statuses), report.get("filter"))
    for dim in (rows, columns):
        if dim is not None and dim not in sel.columns:
            raise DslError(f"report '{report.get('title') or default_title(report)}': "
                           f"unknown column '{dim}'")
    pooling = pooled_note(sel, [d for d in (rows, columns) if d], "rows or columns")
    # Dims are renamed to fixed names: a factor may be called "n" or "mean" too.
    sel = sel.select(pl.col(rows).alias("row"),
                     pl.col(columns).alias("column") if columns else pl.lit(value).alias("column"),
                     "seed", "value", "job", "status")
    notes = [] if sel.height else [f"no cell matches the report's filter {report.get('filter')}"
                                   if report.get("filter") else f"no probe produces '{value}'"]
    data = aggregate(sel, ["row", "column"], ci=ci, center=center, clip01=bounded(value))
    if data.height and data["n"].max() == 1:  # "0.336" alone would read as exact
        notes.append("one seed: no std or CI (they need two or more)")
    if pooling:
        notes.append(pooling)
    return Table(spec=spec, title=report.get("title") or default_title(report), rows=rows,
                 columns=columns, value=value, filter=dict(report.get("filter") or {}),
                 data=data,
                 row_levels=levels(sel, "row", rows), column_levels=levels(sel, "column", columns),
                 report_index=index, notes=notes, ci=ci, center=center)


def build_tables(cells: Sequence[Mapping], reports: Iterable[Mapping[str, Any]],
                 metrics: pl.DataFrame | None, statuses: Mapping[str, str] | None = None,
                 *, spec: str = "", ci: str = "bootstrap", center: str = "mean") -> list[Table]:
    """Every table report of a spec (chart reports are skipped: see charts.py)."""
    s = slots(cells)
    return [build_table(s, r, metrics, statuses, spec=spec, index=i, ci=ci, center=center)
            for i, r in enumerate(reports) if r.get("table")]


# -- fetching inputs: planner and store ---------------------------------------------------------

def open_store(store: Any):
    """A Store from a Store, a folder, or None ($DSL_STORE, else ./.dsl)."""
    from engine.store import Store, resolve_root

    return store if isinstance(store, Store) else Store(resolve_root(store))


def spec_plans(source: Any, profile: str | None = None, overrides: Sequence[str] = (),
               store: Any = None, data_root: Any = None) -> list:
    """SpecPlans of a SpecPlan, a Plan, a list of those, or spec paths (planned here, against
    `store` and `data_root`: see dsl.planner.plan)."""
    from dsl.graph import Plan, SpecPlan

    if isinstance(source, SpecPlan):
        return [source]
    if isinstance(source, Plan):
        return list(source.specs)
    if isinstance(source, (list, tuple)) and source and all(
            isinstance(s, (Plan, SpecPlan)) for s in source):
        return [sp for s in source for sp in spec_plans(s)]
    from dsl.planner import plan

    paths = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    from engine.store import recorded_lookup

    return list(plan(paths, profile=profile, overrides=tuple(overrides),
                     recorded=recorded_lookup(store), data_root=data_root).specs)


def spec_inputs(spec_plan: Any, store: Any) -> tuple[list[dict], pl.DataFrame, dict[str, str]]:
    """(cells, metrics, job statuses) of one spec: what every results view is built from."""
    cells = cell_dicts(spec_plan)
    ids = {c["train"] for c in cells} | {p["job"] for c in cells for p in c["probes"]}
    return cells, store.metrics(ids), job_statuses(store, ids)


def options_note(spec_plan: Any, store: Any, statuses: Mapping[str, str]) -> str | None:
    """When the store has none of this plan's jobs but has runs of the spec, the results were
    most likely made with another --profile or --set: say which, rather than only "not run"."""
    if statuses or store is None:
        return None
    runs = [r for r in store.runs(spec_plan.name) if r.job_ids()]
    if not runs:
        return None
    last = runs[0]
    used = options_text(last.profile, last.overrides) or "no --profile or --set"
    return (f"none of these jobs is in the store; the last run of '{spec_plan.name}' "
            f"({last.run_id}) used {used}: give the same options to see its results")


def spec_tables(spec_plan: Any, store: Any, ci: str = "bootstrap", center: str = "mean"
                ) -> list[Table]:
    cells, metrics, statuses = spec_inputs(spec_plan, store)
    tables = build_tables(cells, spec_plan.reports, metrics, statuses, spec=spec_plan.name,
                          ci=ci, center=center)
    note = options_note(spec_plan, store, statuses)
    for t in tables if note else ():
        t.notes.append(note)
    mark_tables(tables, stale_view(store, statuses), spec_plan.path)
    return tables


def table(spec_path_or_plan: Any, *, store: Any = None, profile: str | None = None,
          overrides: Sequence[str] = (), data_root: Any = None, ci: str = "bootstrap",
          center: str = "mean") -> list[Table]:
    """The [[report]] tables of a spec (file, folder, Plan or SpecPlan) from the store's results.

    Each Table holds its aggregates as a polars frame (`.data`, `.long()`, `.wide()`) and
    renders as text (`.display()`); jobs not run or failed are kept as missing.
    """
    st = open_store(store)
    out: list[Table] = []
    for sp in spec_plans(spec_path_or_plan, profile, overrides, st, data_root):
        out += spec_tables(sp, st, ci, center)
    return out


def table_frame(spec_path_or_plan: Any, *, store: Any = None, profile: str | None = None,
                overrides: Sequence[str] = (), data_root: Any = None) -> pl.DataFrame:
    """`dsl.table`: every [[report]] table of the specs as one polars DataFrame, one row per
    table cell (its spec and table title in the `spec` and `table` columns; the columns of
    docs/results.md's long form). `table()` gives the Table objects themselves."""
    return long_frame(table(spec_path_or_plan, store=store, profile=profile,
                            overrides=overrides, data_root=data_root))


def print_spec_tables(spec_plan: Any, store: Any, console: Any = None) -> None:
    """Print a spec's tables after `dsl run` (the command hands this to the runner)."""
    from rich.console import Console

    console = console or Console(highlight=False)
    store = open_store(store)
    for t in spec_tables(spec_plan, store):
        if natural_width(t) <= console.width:
            console.print(rich_table(t))
            continue
        # squeezed into fewer characters, rich cuts every cell to "…": say where it fits instead
        console.print(f"[bold]{_title(t)}[/]: {len(t.display().columns)} columns, wider than "
                      f"this terminal's {console.width} characters; `dsl table {spec_plan.path} "
                      "--format md` (or csv, json) or `dsl report` shows it whole",
                      markup=True, highlight=False, soft_wrap=True)


# -- renderings -------------------------------------------------------------------------------

def _title(t: Table) -> str:
    """"spec: title", as every rendering heads a table."""
    return f"{t.spec}: {t.title}" if t.spec else t.title


def _corner(t: Table) -> str:
    """The header of the row labels' column: "rows \\ columns"."""
    return t.rows + (f" \\ {t.columns}" if t.columns else "")


def natural_width(t: Table) -> int:
    """Characters the terminal rendering needs with no cell cut short: each column's widest
    text (header included) with rich's padding and borders."""
    d = t.display()
    head = [_corner(t)] + d.columns[1:]
    widths = [max([len(h)] + [len(str(v)) for v in d.get_column(c)])
              for h, c in zip(head, d.columns)]
    return sum(widths) + 3 * len(widths) + 1


def rich_table(t: Table):
    from rich.table import Table as RichTable

    d = t.display()
    caption = t.footer()
    if t.notes:
        caption += "; " + "; ".join(t.notes)
    rt = RichTable(title=_title(t), caption=caption)
    rt.add_column(_corner(t), style="bold")
    for name in d.columns[1:]:
        rt.add_column(name, justify="right")
    for row in d.iter_rows():
        rt.add_row(*[("[red]" + v + "[/]") if v.startswith("missing") else v for v in row])
    return rt


def to_markdown(tables: Sequence[Table]) -> str:
    parts = []
    for t in tables:
        d = t.display()
        head = [_corner(t)] + d.columns[1:]
        title = _title(t)  # as the terminal titles it
        lines = [f"### {_md(title)}", "", t.footer(), "",
                 "| " + " | ".join(_md(h) for h in head) + " |",
                 "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
        lines += ["| " + " | ".join(_md(v) for v in row) + " |" for row in d.iter_rows()]
        parts.append("\n".join(lines + [f"\n_{n}_" for n in t.notes]))
    return "\n\n".join(parts) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


_LONG_SCHEMA = {"spec": pl.String, "table": pl.String, "row_dim": pl.String, "row": pl.String,
                "column_dim": pl.String, "column": pl.String, "value": pl.String,
                "mean": pl.Float64, "std": pl.Float64, "n": pl.Int64, "ci_low": pl.Float64,
                "ci_high": pl.Float64, "seeds": pl.Int64, "expected": pl.Int64,
                "missing": pl.Int64, "why_missing": pl.String, "jobs": pl.String}


def long_frame(tables: Sequence[Table]) -> pl.DataFrame:
    """Every table's numbers stacked, one row per planned position."""
    frames = [t.long().cast(_LONG_SCHEMA) for t in tables]
    return pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=_LONG_SCHEMA)


def to_json(tables: Sequence[Table]) -> dict[str, Any]:
    """Stable form (docs/results.md): positions listed row-major in display order."""
    out = []
    for t in tables:
        cells = []
        for r in t.row_levels:
            for c in t.column_levels:
                agg = t.cell(r, c)
                if agg is None:
                    continue
                cells.append({"row": r, "column": c if t.columns else None,
                              **{k: agg[k] for k in ("mean", "std", "n", "ci_low", "ci_high",
                                                      "seeds", "expected", "missing",
                                                      "why_missing")},
                              **({"iqm": agg["iqm"]} if t.center == "iqm" else {}),
                              "jobs": list(agg["jobs"]), "text": cell_text(agg),
                              "stale": (r, c) in t.stale})
        out.append({"spec": t.spec, "title": t.title, "rows": t.rows, "columns": t.columns,
                    "value": t.value, "filter": dict(t.filter), "row_levels": t.row_levels,
                    "column_levels": t.column_levels if t.columns else [], "cells": cells,
                    "center": t.center, "interval": f"95% {CI_NAMES[t.ci]}",
                    "notes": t.notes})
    return {"format": "dsl.tables/1", "tables": out}


def render(tables: Sequence[Table], fmt: str) -> str | bytes:
    """Tables as text (terminal, csv, md, json) or bytes (parquet)."""
    if fmt == "terminal":
        from rich.console import Console

        buf = io.StringIO()
        # as wide as the widest table needs (a file, a pager: nothing is cut), at least 200
        width = max([200] + [natural_width(t) for t in tables])
        console = Console(file=buf, width=width, highlight=False, force_terminal=False)
        for t in tables:
            console.print(rich_table(t))
        return buf.getvalue()
    if fmt == "md":
        return to_markdown(tables)
    if fmt == "json":
        return json.dumps(to_json(tables), indent=2, default=str) + "\n"
    if fmt == "csv":
        return long_frame(tables).write_csv()
    if fmt == "parquet":
        buf = io.BytesIO()
        long_frame(tables).write_parquet(buf)
        return buf.getvalue()
    raise DslError(f"unknown table format '{fmt}' (formats: {', '.join(FORMATS)})")
