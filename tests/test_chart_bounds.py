"""Chart subtitles say what the band is: no CI claimed for one seed, and an accuracy CI from
few seeds is clipped to [0, 1] (with a note) instead of stretching the axis to 1.4."""

from __future__ import annotations

import polars as pl

from engine.results.charts import build_chart


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


def test_an_accuracy_ci_past_the_metric_s_range_is_clipped_with_a_note():
    cells, metrics = _cells({0: 0.1, 1: 0.95})
    for kind in ("line", "bar"):
        chart = build_chart(cells, {"chart": {"x": "a", "y": "lin.accuracy", "kind": kind}},
                            metrics)
        subtitle = chart.vegalite()["title"]["subtitle"]
        assert subtitle[0] == "mean over seeds, 95% CI"
        assert any(s.startswith("CI clipped to [0, 1] at 1 point(s)") for s in subtitle)
        drawn = _points(chart)
        assert drawn["x"]["ci_low"] == 0.0 and drawn["x"]["ci_high"] == 1.0
        assert chart.data.filter(pl.col("x") == "x")["ci_high"][0] > 1.0  # export: as computed


def test_one_seed_claims_no_ci():
    cells, metrics = _cells({0: 0.8})
    chart = build_chart(cells, {"chart": {"x": "a", "y": "lin.accuracy"}}, metrics)
    subtitle = chart.vegalite()["title"]["subtitle"]
    assert subtitle[0] == "one seed: no CI (it needs two or more)"
    assert not any("95% CI" in s for s in subtitle)
