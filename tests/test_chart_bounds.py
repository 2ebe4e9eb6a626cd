"""Chart subtitles say what the band is: no CI claimed for one seed; otherwise the tables'
interval (percentile bootstrap over seeds, an accuracy's clipped to [0, 1]), never a t interval
that stretches an accuracy's axis to 1.4."""

from __future__ import annotations

import polars as pl
import pytest

from dsl import stats
from engine.results.aggregate import t_halfwidth
from engine.results.charts import build_chart
from engine.results.tables import build_table


def _cells(values_by_seed: dict[int, float]) -> tuple[list[dict], pl.DataFrame]:
    cells, rows = [], []
    for seed, value in values_by_seed.items():
        for a in ("x", "y"):
            job = f"linear-{a}{seed}"
            cells.append({"seed": seed, "factors": {"a": a}, "train": f"train-{a}{seed}",
                          "probes": [{"name": "lin", "kind": "linear", "job": job,
                                      "derived": {}}], "derived": {}})
            rows.append({"job_id": job, "name": "accuracy", "split": "test",
                         "value": value if a == "x" else 0.5})
    return cells, pl.DataFrame(rows)


def _points(chart) -> dict:
    """The drawn points by x, from the chart's own (inline) data."""
    return {d["x"]: d for d in chart.vegalite()["data"]["values"]}


def test_an_accuracy_chart_draws_the_tables_bootstrap_interval_inside_0_1():
    values = [0.1, 0.95, 0.9]  # a t interval over these runs from -0.5 to 1.8
    mean, std = sum(values) / 3, pl.Series(values).std()
    assert mean + t_halfwidth(std, 3) > 1.0 and mean - t_halfwidth(std, 3) < 0.0
    cells, metrics = _cells(dict(enumerate(values)))
    want = stats.bootstrap_interval(values)
    table = build_table(cells, {"table": {"rows": "a", "value": "lin.accuracy"}}, metrics)
    row = table.data.filter(pl.col("row") == "x").row(0, named=True)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(want)
    for kind in ("line", "bar"):
        chart = build_chart(cells, {"chart": {"x": "a", "y": "lin.accuracy", "kind": kind}},
                            metrics)
        subtitle = chart.vegalite()["title"]["subtitle"]
        assert subtitle[0].startswith("mean over seeds, 95% CI: percentile bootstrap, clipped "
                                      "to [0, 1]; below 10 seeds")
        drawn = _points(chart)["x"]
        exported = chart.data.filter(pl.col("x") == "x").row(0, named=True)
        for point in (drawn, exported):  # the picture and the exported numbers alike
            assert (point["ci_low"], point["ci_high"]) == pytest.approx(want)
            assert 0.0 <= point["ci_low"] <= point["ci_high"] <= 1.0


def test_a_loss_chart_is_not_clipped_or_called_so():
    cells, metrics = _cells({0: 0.1, 1: 0.95, 2: 0.9})
    metrics = metrics.with_columns(pl.lit("loss").alias("name"))
    chart = build_chart(cells, {"chart": {"x": "a", "y": "lin.loss"}}, metrics)
    subtitle = chart.vegalite()["title"]["subtitle"]
    assert "percentile bootstrap;" in subtitle[0] and "clipped" not in subtitle[0]


def test_one_seed_claims_no_ci():
    cells, metrics = _cells({0: 0.8})
    chart = build_chart(cells, {"chart": {"x": "a", "y": "lin.accuracy"}}, metrics)
    subtitle = chart.vegalite()["title"]["subtitle"]
    assert subtitle[0] == "one seed: no CI (it needs two or more)"
    assert not any("95% CI" in s for s in subtitle)
