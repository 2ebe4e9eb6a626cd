"""Seed aggregation checked against numpy/scipy computed here, on hand-made slots."""

import math

import numpy as np
import polars as pl
import pytest
from scipy import stats

from engine.results.aggregate import aggregate, summarize


def _ci(values):
    v = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size)
    return v.mean() - half, v.mean() + half


def test_summarize_matches_numpy_and_scipy():
    values = [0.71, 0.74, 0.69, 0.80, 0.77]
    s = summarize(values)
    lo, hi = _ci(values)
    assert s.n == 5
    assert s.mean == pytest.approx(np.mean(values))
    assert s.std == pytest.approx(np.std(values, ddof=1))
    assert (s.ci_low, s.ci_high) == (pytest.approx(lo), pytest.approx(hi))
    # scipy's own interval for a mean agrees
    ref = stats.t.interval(0.95, 4, loc=np.mean(values), scale=stats.sem(values))
    assert s.ci_low == pytest.approx(ref[0]) and s.ci_high == pytest.approx(ref[1])


def test_summarize_ignores_missing_and_single_value_has_no_spread():
    assert summarize([0.5, None, 0.7]).n == 2
    one = summarize([0.5])
    assert one.mean == 0.5 and one.std is None and one.ci_low is None
    assert summarize([]).mean is None


def _slots(rows):
    return pl.DataFrame(rows, schema={"row": pl.String, "seed": pl.Int64, "other": pl.Int64,
                                      "value": pl.Float64, "job": pl.String,
                                      "status": pl.String}, orient="row")


def test_aggregate_averages_within_seed_then_over_seeds():
    # two pooled levels ("other") per seed: the CI must be over the 3 per-seed means
    vals = {(0, 0): 0.1, (0, 1): 0.3, (1, 0): 0.4, (1, 1): 0.6, (2, 0): 0.2, (2, 1): 0.2}
    rows = [("a", s, o, v, f"j{s}{o}", "ok") for (s, o), v in vals.items()]
    out = aggregate(_slots(rows), ["row"]).row(0, named=True)
    per_seed = [0.2, 0.5, 0.2]
    lo, hi = _ci(per_seed)
    assert out["mean"] == pytest.approx(np.mean(per_seed))
    assert out["std"] == pytest.approx(np.std(per_seed, ddof=1))
    assert out["n"] == 3 and out["seeds"] == 3 and out["expected"] == 6 and out["missing"] == 0
    assert out["ci_low"] == pytest.approx(lo) and out["ci_high"] == pytest.approx(hi)
    assert sorted(out["jobs"]) == sorted(f"j{s}{o}" for s, o in vals)


def test_aggregate_keeps_all_missing_groups_with_reasons():
    rows = [("a", 0, 0, 0.5, "j1", "ok"), ("a", 1, 0, 0.7, "j2", "ok"),
            ("b", 0, 0, None, "j3", "failed"), ("b", 1, 0, None, "j4", "not run"),
            ("c", 0, 0, 0.9, "j5", "ok"), ("c", 1, 0, None, "j6", "failed")]
    out = {r["row"]: r for r in aggregate(_slots(rows), ["row"]).iter_rows(named=True)}
    assert set(out) == {"a", "b", "c"}
    assert out["b"]["mean"] is None and out["b"]["n"] == 0 and out["b"]["missing"] == 2
    assert out["b"]["why_missing"] == "failed 1, not run 1"
    assert out["c"]["mean"] == 0.9 and out["c"]["n"] == 1 and out["c"]["std"] is None
    assert out["c"]["missing"] == 1 and out["a"]["missing"] == 0


def test_cells_sharing_one_job_count_once():
    # two cells of row "a" resolve to job j0 in seed 0 (e.g. a profile made them identical):
    # one measurement, so seed 0's mean is (0.2 + 0.6) / 2, and one slot is missing, not two
    rows = [("a", 0, 0, 0.2, "j0", "ok"), ("a", 0, 1, 0.2, "j0", "ok"),
            ("a", 0, 2, 0.6, "j1", "ok"),
            ("a", 1, 0, None, "j2", "not run"), ("a", 1, 1, None, "j2", "not run"),
            ("a", 1, 2, 0.5, "j3", "ok")]
    out = aggregate(_slots(rows), ["row"]).row(0, named=True)
    assert out["mean"] == pytest.approx((0.4 + 0.5) / 2)
    assert out["expected"] == 4 and out["missing"] == 1 and out["why_missing"] == "not run 1"
    assert sorted(out["jobs"]) == ["j0", "j1", "j2", "j3"]


def test_missing_reasons_are_listed_most_serious_first_and_planned_seeds_are_counted():
    # reasons arrive in slot order ("not run" first) but read worst first; a group whose every
    # slot is missing still counts the seeds that were planned for it
    rows = [("a", 0, 0, None, "j1", "not run"), ("a", 1, 0, None, "j2", "pending"),
            ("a", 2, 0, None, "j3", "failed"), ("a", 3, 0, None, "j4", "skipped"),
            ("b", 0, 0, 0.5, "j5", "ok"), ("b", 1, 0, None, "j6", "not run"),
            ("b", 2, 0, None, "j7", "not run")]
    out = {r["row"]: r for r in aggregate(_slots(rows), ["row"]).iter_rows(named=True)}
    assert out["a"]["why_missing"] == "failed 1, skipped 1, pending 1, not run 1"
    assert (out["a"]["n"], out["a"]["seeds"], out["a"]["expected"]) == (0, 4, 4)
    assert (out["b"]["n"], out["b"]["seeds"], out["b"]["missing"]) == (1, 3, 2)
    assert out["b"]["why_missing"] == "not run 2"
