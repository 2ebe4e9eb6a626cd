"""[[report]] charts: Altair line (with a 95% CI band), grouped bars and heatmaps of seed
aggregates, exported to HTML, PNG and SVG with vl-convert (no browser needed).

The interval is the tables' (scipy's percentile bootstrap over seeds, an accuracy's clipped to
[0, 1] in the drawn and the exported numbers alike), so a chart and its table never disagree.

Dims become the encodings' titles as written in the spec; the data are renamed to fixed field
names first, because Vega-Lite reads "." and "[" in a field name as a path into nested data.
Positions whose every job is missing are dropped from the picture (the table shows them); the
subtitle says how many, so a gap is never silent.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import altair as alt
import polars as pl

from dsl.errors import DslError
from dsl.stats import bounded
from engine.results.aggregate import aggregate
from engine.results.frame import apply_filter, levels, pooled_note, select, slots
from engine.results.tables import (ci_text, default_title, open_store, options_note, spec_inputs,
                                   spec_plans)

EXPORT_FORMATS = ("html", "png", "svg", "json")
WIDTH, HEIGHT = 360, 240


@dataclass
class Chart:
    spec: str
    title: str
    kind: str
    report: Mapping[str, Any]
    data: pl.DataFrame  # the aggregates drawn (dims renamed to x/y/color/column)
    chart: alt.TopLevelMixin
    report_index: int = 0
    notes: list[str] = field(default_factory=list)

    def vegalite(self) -> dict:
        return self.chart.to_dict()

    @property
    def slug(self) -> str:
        return slug(f"{self.report_index + 1:02d}-{self.title}")


def slug(text: str) -> str:
    out = "".join(c if c.isalnum() else "-" for c in text.lower())
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-")[:80] or "chart"


def _numeric(frame: pl.DataFrame, col: str) -> bool:
    return frame.schema[col].is_numeric() and frame.schema[col] != pl.Boolean


def _encoding_type(frame: pl.DataFrame, col: str, quantitative_ok: bool) -> str:
    return "quantitative" if quantitative_ok and _numeric(frame, col) else "ordinal"


def build_chart(cells: Sequence[Mapping] | pl.DataFrame, report: Mapping[str, Any],
                metrics: pl.DataFrame | None, statuses: Mapping[str, str] | None = None,
                *, spec: str = "", index: int = 0, notes: Sequence[str] = ()) -> Chart:
    """One `chart = {x, y, color, column, kind}` report as an Altair chart; `notes` join the
    subtitle (the picture is often all a reader sees)."""
    extra = list(notes)
    view = report["chart"]
    kind = view.get("kind", "line")
    heat = kind == "heatmap"
    value = view["color"] if heat else view["y"]
    dims = {"x": view["x"], "y" if heat else "color": view["y"] if heat else view.get("color"),
            "column": view.get("column")}
    dims = {role: d for role, d in dims.items() if d}
    sel = apply_filter(select(cells, metrics, value, statuses), report.get("filter"))
    for d in dims.values():
        if d not in sel.columns:
            raise DslError(f"chart '{report.get('title') or default_title(report)}': "
                           f"unknown column '{d}'")
    pooling = pooled_note(sel, list(dims.values()), "x, y" if heat else "x, color or column")
    # Dims are renamed to their roles: a factor may be called "n" or "mean" too.
    sel = sel.select(*[pl.col(d).alias(role) for role, d in dims.items()],
                     "seed", "value", "job", "status")
    orders = {role: [_key(v) for v in levels(sel, role, d)] for role, d in dims.items()}
    data = aggregate(sel, list(dims), ci="bootstrap", clip01=bounded(value)).select(
        *dims, "mean", "std", "n", "ci_low", "ci_high", "missing", "expected")
    missing = data.filter(pl.col("mean").is_null()).height
    partial = data.filter(pl.col("mean").is_not_null() & (pl.col("missing") > 0)).height
    notes = [f"{missing} point(s) not shown: every job behind them is missing"] if missing else []
    if partial:
        notes.append(f"{partial} point(s) from partial results (some jobs missing)")
    if pooling:
        notes.append(pooling)
    notes += extra
    drawn = data.filter(pl.col("mean").is_not_null())
    for role in ("color", "column", "y" if heat else ""):
        if role in dims and not _numeric(drawn, role):  # categorical: labels as text
            drawn = drawn.with_columns(pl.col(role).cast(pl.String))
    one_seed = not drawn.height or drawn["n"].max() <= 1
    what = "mean over seeds" if heat else f"mean over seeds, {ci_text(drawn, value)}"
    if one_seed:
        what = "one seed: no CI (it needs two or more)"
    title = report.get("title") or default_title(report)
    params = dict(value=value, dims=dims, orders=orders, title=title, notes=notes, what=what)
    if kind == "line":
        chart = _line(drawn, **params)
    elif kind == "bar":
        chart = _bar(drawn, **params)
    elif heat:
        chart = _heatmap(drawn, **params)
    else:
        raise DslError(f"unknown chart kind '{kind}' (line, bar, heatmap)")
    return Chart(spec, title, kind, dict(report), data, chart, index, notes)


def _key(v: Any) -> Any:
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)


def _title(title: str, notes: list[str], what: str) -> alt.TitleParams:
    sub = [what] + notes
    return alt.TitleParams(title, subtitle=sub, anchor="start")


def _data(frame: pl.DataFrame) -> alt.Data:
    return alt.Data(values=frame.to_dicts())


def _color(dims, orders, frame):
    if "color" not in dims:
        return {}
    # Opaque legend symbols: a line chart's first layer is its faint CI band.
    return {"color": alt.Color("color", type="nominal", title=dims["color"],
                               sort=orders["color"], legend=alt.Legend(symbolOpacity=1))}


def _finish(layered, dims, orders, title, notes, what: str):
    """One small chart per `column` value when asked, and the title with its notes."""
    if "column" in dims:
        layered = layered.facet(column=alt.Column("column", type="ordinal",
                                                  title=dims["column"], sort=orders["column"]))
    return layered.properties(title=_title(title, notes, what))


def _log_x(frame: pl.DataFrame) -> bool:
    """A positive numeric x spanning two orders of magnitude or more (training-set sizes of
    1,000 to 500,000) reads on a log axis; a linear one crushes the small values together."""
    xs = [v for v in frame["x"].to_list() if v is not None] if frame.height else []
    return bool(xs) and min(xs) > 0 and max(xs) / min(xs) >= 100


def _line(frame, *, value, dims, orders, title, notes, what):
    xtype = _encoding_type(frame, "x", True)
    if xtype == "quantitative":
        log = {}
        if _log_x(frame):  # ticks at the swept values, not at a log axis's 2, 3, ... 9
            xs = sorted(set(frame["x"].to_list()))
            ints = all(float(v).is_integer() for v in xs)
            log = {"scale": alt.Scale(type="log", nice=False),
                   "axis": alt.Axis(values=xs, format="~s" if ints else "~g")}
        x = alt.X("x", type=xtype, title=dims["x"], **log)
    else:
        x = alt.X("x", type=xtype, title=dims["x"], sort=orders["x"])
    base = alt.Chart().encode(x=x, **_color(dims, orders, frame))
    line = base.mark_line(point=True).encode(
        y=alt.Y("mean", type="quantitative", title=value, scale=alt.Scale(zero=False)),
        tooltip=_tooltip(dims))
    band = base.mark_area(opacity=0.2).encode(y="ci_low:Q", y2="ci_high:Q")
    layered = alt.layer(band, line, data=_data(frame)).properties(width=WIDTH, height=HEIGHT)
    return _finish(layered, dims, orders, title, notes, what)


def _bar(frame, *, value, dims, orders, title, notes, what):
    x = alt.X("x", type="nominal", title=dims["x"], sort=orders["x"],
              axis=_x_axis(orders["x"], WIDTH))
    offset = {"xOffset": alt.XOffset("color", type="nominal", sort=orders["color"])} \
        if "color" in dims else {}
    base = alt.Chart().encode(x=x, **offset, **_color(dims, orders, frame))
    bars = base.mark_bar().encode(y=alt.Y("mean", type="quantitative", title=value),
                                  tooltip=_tooltip(dims))
    # Short caps: by default a cap spans the whole band and reads as a second bar edge.
    errs = base.mark_errorbar(ticks=alt.MarkConfig(size=10)).encode(
        y=alt.Y("ci_low", type="quantitative", title=value), y2="ci_high",
        color=alt.value("black"))
    layered = alt.layer(bars, errs, data=_data(frame)).properties(width=WIDTH, height=HEIGHT)
    return _finish(layered, dims, orders, title, notes, what)


def _heatmap(frame, *, value, dims, orders, title, notes, what):
    width = min(40 * max(len(orders["x"]), 1), 600)
    height = min(30 * max(len(orders["y"]), 1), 600)
    x = alt.X("x", type="ordinal", title=dims["x"], sort=orders["x"],
              axis=_x_axis(orders["x"], width))
    y = alt.Y("y", type="ordinal", title=dims["y"], sort=orders["y"])
    base = alt.Chart().encode(x=x, y=y)
    rect = base.mark_rect().encode(
        color=alt.Color("mean", type="quantitative", title=value,
                        scale=alt.Scale(scheme="viridis")), tooltip=_tooltip(dims))
    text = base.mark_text(fontSize=10).encode(
        text=alt.Text("mean", type="quantitative", format=".2f"),
        color=alt.condition(alt.datum.mean > _midpoint(frame), alt.value("black"),
                            alt.value("white")))
    layered = alt.layer(rect, text, data=_data(frame)).properties(
        width=width, height=height)
    return _finish(layered, dims, orders, title, notes, what)


def _x_axis(levels: Sequence[Any], width: int) -> alt.Axis:
    """Level labels upright when each fits its share of the width (about 6 px a character at
    the default font), slanted when they would run into each other (18 transform names)."""
    longest = max((len(str(v)) for v in levels), default=0)
    fits = longest * 6 <= width / max(len(levels), 1)
    return alt.Axis(labelAngle=0 if fits else -45)


def _midpoint(frame: pl.DataFrame) -> float:
    if not frame.height:
        return 0.0
    lo, hi = frame["mean"].min(), frame["mean"].max()
    return (lo + hi) / 2


def _tooltip(dims) -> list:
    return [alt.Tooltip(role, type="nominal", title=d) for role, d in dims.items()] + [
        alt.Tooltip(f, type="quantitative", format=".4f") for f in ("mean", "std")] + [
        alt.Tooltip("n", type="quantitative")] + [
        alt.Tooltip(f, type="quantitative", format=".4f") for f in ("ci_low", "ci_high")]


# -- export ------------------------------------------------------------------------------------

def to_png(chart: Chart | alt.TopLevelMixin, scale: float = 2.0) -> bytes:
    import vl_convert as vlc

    spec = chart.vegalite() if isinstance(chart, Chart) else chart.to_dict()
    return vlc.vegalite_to_png(spec, scale=scale)


def to_svg(chart: Chart | alt.TopLevelMixin) -> str:
    import vl_convert as vlc

    return vlc.vegalite_to_svg(chart.vegalite() if isinstance(chart, Chart) else chart.to_dict())


def to_html(chart: Chart | alt.TopLevelMixin) -> str:
    """A standalone page with Vega bundled in: opens offline."""
    import vl_convert as vlc

    spec = chart.vegalite() if isinstance(chart, Chart) else chart.to_dict()
    return vlc.vegalite_to_html(spec, bundle=True)


def save(chart: Chart, out_dir: str | os.PathLike,
         formats: Iterable[str] = ("html", "png")) -> list[Path]:
    """Write the chart as <slug>.<fmt> for each format; returns the paths."""
    import json

    from dsl.outputs import output_path, write_output

    stem = (f"{slug(chart.spec)}-" if chart.spec else "") + chart.slug
    written = []
    for fmt in formats:
        path = output_path(out_dir, f"{stem}.{fmt}")
        if fmt == "png":
            content: str | bytes = to_png(chart)
        elif fmt == "svg":
            content = to_svg(chart)
        elif fmt == "html":
            content = to_html(chart)
        elif fmt == "json":
            content = json.dumps(chart.vegalite(), indent=1)
        else:
            raise DslError(f"unknown chart format '{fmt}' ({', '.join(EXPORT_FORMATS)})")
        written.append(write_output(path, content))
    return written


# -- fetching inputs ---------------------------------------------------------------------------

def build_charts(cells: Sequence[Mapping], reports: Iterable[Mapping[str, Any]],
                 metrics: pl.DataFrame | None, statuses: Mapping[str, str] | None = None,
                 *, spec: str = "", notes: Sequence[str] = ()) -> list[Chart]:
    s = slots(cells)
    return [build_chart(s, r, metrics, statuses, spec=spec, index=i, notes=notes)
            for i, r in enumerate(reports) if r.get("chart")]


def spec_charts(spec_plan: Any, store: Any, tables_too: bool = False) -> list[Chart]:
    """The spec's chart reports; `tables_too`: a spec without any draws its tables instead
    (table_as_chart), so asking for its charts never comes back empty-handed."""
    cells, metrics, statuses = spec_inputs(spec_plan, store)
    note = options_note(spec_plan, store, statuses)
    reports = list(spec_plan.reports)
    notes = [note] if note else []
    if tables_too and not any(r.get("chart") for r in reports):
        reports = [table_as_chart(r) for r in reports]
        notes.append("drawn from the spec's table report (it has no chart report)")
    return build_charts(cells, reports, metrics, statuses, spec=spec_plan.name, notes=notes)


def table_as_chart(report: Mapping[str, Any]) -> dict[str, Any]:
    """A table report as a bar chart report: its rows along x, its columns as colours."""
    table = report.get("table")
    if not table:
        return dict(report)
    view = {"x": table["rows"], "y": table["value"], "kind": "bar"}
    if table.get("columns"):
        view["color"] = table["columns"]
    return {**{k: v for k, v in report.items() if k != "table"}, "chart": view}


def chart(spec_path_or_plan: Any, *, store: Any = None, profile: str | None = None,
          overrides: Sequence[str] = (), data_root: Any = None) -> list[Chart]:
    """The [[report]] charts of a spec (file, folder, Plan or SpecPlan) from the store; a spec
    with table reports only gets its tables drawn as bar charts."""
    st = open_store(store)
    out: list[Chart] = []
    for sp in spec_plans(spec_path_or_plan, profile, overrides, st, data_root):
        out += spec_charts(sp, st, tables_too=True)
    return out
