"""A factor a report neither shows nor filters is averaged into each number; tables and charts
say so (a researcher reading "0.716" must know it is the mean of two learning rates)."""

from __future__ import annotations

import polars as pl

from engine.results.charts import build_chart
from engine.results.tables import build_table


def _cells(shared_probe: bool = False) -> tuple[list[dict], pl.DataFrame]:
    """Factors a in {x, y} and b in {1, 2}, two seeds; probe 'lin' has value by (a, b, seed).
    With `shared_probe` the probe does not use b: cells differing in b share its job."""
    cells, rows = [], []
    for seed in (0, 1):
        for a in ("x", "y"):
            for b in (1, 2):
                job = f"linear-{a}{seed}" if shared_probe else f"linear-{a}{b}{seed}"
                cells.append({"seed": seed, "factors": {"a": a, "b": b},
                              "train": f"train-{a}{b}{seed}",
                              "probes": [{"name": "lin", "kind": "linear", "job": job,
                                          "derived": {}}], "derived": {}})
                value = (0.5 if a == "x" else 0.7) + (0.0 if shared_probe else 0.1 * b) + \
                    0.01 * seed
                rows.append({"job_id": job, "name": "accuracy", "split": "test", "value": value})
    metrics = pl.DataFrame(rows).unique(subset=["job_id"], keep="first")
    return cells, metrics


def test_a_table_names_the_factor_it_averages_over():
    cells, metrics = _cells()
    table = build_table(cells, {"table": {"rows": "a", "value": "lin.accuracy"}}, metrics)
    means = dict(zip(table.data["row"].to_list(), table.data["mean"].to_list()))
    assert abs(means["x"] - (0.5 + 0.15 + 0.005)) < 1e-9  # b = 1 and 2 averaged per seed
    assert "each number averages over b (2 values) per seed (show it as rows or columns, " \
        "or filter it)" in table.notes

    shown = build_table(cells, {"table": {"rows": "a", "columns": "b",
                                          "value": "lin.accuracy"}}, metrics)
    filtered = build_table(cells, {"table": {"rows": "a", "value": "lin.accuracy"},
                                   "filter": {"b": 1}}, metrics)
    assert not any("averages over" in n for n in shown.notes + filtered.notes)


def test_cells_that_share_one_job_are_not_reported_as_pooled():
    cells, metrics = _cells(shared_probe=True)
    table = build_table(cells, {"table": {"rows": "a", "value": "lin.accuracy"}}, metrics)
    assert not any("averages over" in n for n in table.notes)


def test_a_chart_subtitle_names_the_factor_it_averages_over():
    cells, metrics = _cells()
    chart = build_chart(cells, {"chart": {"x": "a", "y": "lin.accuracy"}}, metrics)
    subtitle = chart.vegalite()["title"]["subtitle"]
    assert any("averages over b (2 values)" in s and "x, color or column" in s for s in subtitle)
    split = build_chart(cells, {"chart": {"x": "a", "y": "lin.accuracy", "color": "b"}}, metrics)
    assert not any("averages over" in s for s in split.vegalite()["title"]["subtitle"])
