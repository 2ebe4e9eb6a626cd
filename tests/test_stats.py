"""dsl.stats: intervals against scipy on fixed data, IQM, clipping, exact permutation tests,
probability of improvement, and Holm / Benjamini-Hochberg against hand-computed cases."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy import stats as sps

from dsl import stats

DATA = [0.61, 0.58, 0.66, 0.52, 0.63, 0.70, 0.59]


def test_bootstrap_interval_is_scipy_s_percentile_bootstrap():
    ref = sps.bootstrap((np.asarray(DATA),), np.mean, n_resamples=stats.N_RESAMPLES,
                        confidence_level=0.95, method="percentile", vectorized=True,
                        rng=np.random.default_rng(stats.SEED)).confidence_interval
    assert stats.bootstrap_interval(DATA) == pytest.approx((ref.low, ref.high))
    # a percentile interval of the mean lies within the data's range and around the mean
    low, high = stats.bootstrap_interval(DATA)
    assert min(DATA) <= low < np.mean(DATA) < high <= max(DATA)


def test_many_groups_at_once_match_scipy_on_the_same_draws():
    groups = [DATA, [0.1, 0.2, 0.4], [0.3, 0.35, 0.5], [0.9], [], [0.5, None, 0.7]]
    out = stats.bootstrap_intervals(groups)
    assert out[3] is None and out[4] is None  # fewer than two values: no interval
    three = np.asarray([[0.1, 0.2, 0.4], [0.3, 0.35, 0.5]])
    ref = sps.bootstrap((three,), np.mean, n_resamples=stats.N_RESAMPLES, method="percentile",
                        vectorized=True, axis=-1,
                        rng=np.random.default_rng(stats.SEED)).confidence_interval
    assert out[1] == pytest.approx((ref.low[0], ref.high[0]))
    assert out[2] == pytest.approx((ref.low[1], ref.high[1]))
    assert out[5] == pytest.approx((0.5, 0.7))  # two values: the interval is their range


def test_t_interval_and_the_method_switch():
    mean, sem = np.mean(DATA), sps.sem(DATA)
    ref = sps.t.interval(0.95, len(DATA) - 1, loc=mean, scale=sem)
    assert stats.t_interval(DATA) == pytest.approx(ref)
    assert stats.interval(DATA, "t") == pytest.approx(ref)
    assert stats.interval(DATA, "bootstrap") == stats.bootstrap_interval(DATA)
    with pytest.raises(ValueError):
        stats.interval(DATA, "bca")


def test_iqm_is_the_mean_of_the_middle_half():
    assert stats.iqm([1, 2, 3, 4, 5, 6, 7, 100]) == pytest.approx(4.5)  # mean of 3..6
    assert stats.iqm([0.2, 0.4]) == pytest.approx(0.3)
    assert stats.iqm([None]) is None
    low, high = stats.bootstrap_interval([1, 2, 3, 4, 5, 6, 7, 100], statistic="iqm")
    assert high < 50  # the outlier barely moves the IQM's interval; the mean's would


def test_accuracy_intervals_are_clipped_to_0_1():
    assert stats.clip((-0.2, 1.3)) == (0.0, 1.0)
    assert stats.clip(None) is None
    assert stats.bounded("linear.accuracy") and stats.bounded("finetune.linear_accuracy@val")
    assert not stats.bounded("sensitivity") and not stats.bounded("train.loss")


def test_sign_flip_test_is_exact():
    # 5 positive pairs: only all-positive and all-negative patterns are as extreme: 2/32
    assert stats.sign_flip_p([0.1, 0.2, 0.15, 0.3, 0.25]) == pytest.approx(2 / 32)
    assert stats.sign_flip_p([0.1, 0.2]) == pytest.approx(0.5)  # 2 seeds can never reach 5%
    assert stats.sign_flip_p([0.1, -0.1]) == pytest.approx(1.0)
    d = [0.3, -0.1, 0.2, 0.25]
    signs = np.array(np.meshgrid(*[[1, -1]] * 4)).T.reshape(-1, 4)
    brute = np.mean(np.abs((signs * d).mean(axis=1)) >= abs(np.mean(d)) - 1e-12)
    assert stats.sign_flip_p(d) == pytest.approx(brute)


def test_two_sample_permutation_test_is_exact():
    # fully separated samples of 3 and 3: 2 of the C(6,3) = 20 labellings are as extreme
    assert stats.permutation_p([1, 2, 3], [4, 5, 6]) == pytest.approx(2 / 20)
    assert stats.permutation_p([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)


def test_probability_of_improvement_counts_pairs_and_halves_ties():
    assert stats.probability_of_improvement([0.1, 0.2], [0.3, 0.4]) == 1.0
    assert stats.probability_of_improvement([0.3, 0.4], [0.1, 0.2]) == 0.0
    # B's 0.2 vs A's 0.1 wins, vs 0.2 ties; B's 0.3 wins twice: (1 + 0.5 + 2) / 4
    assert stats.probability_of_improvement([0.1, 0.2], [0.2, 0.3]) == pytest.approx(3.5 / 4)
    assert stats.probability_of_improvement([], [0.2]) is None


def test_holm_against_a_hand_computed_case():
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4 0.02, x3 0.03, x2 0.06, x1 0.04 -> running max
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.5, None, 0.6]) == [pytest.approx(1.0), None, pytest.approx(1.0)]


def test_benjamini_hochberg_against_a_hand_computed_case_and_scipy():
    # sorted 0.005, 0.01, 0.03, 0.04 -> m p / rank: 0.02, 0.02, 0.04, 0.04 -> running min
    p = [0.01, 0.04, 0.03, 0.005]
    assert stats.benjamini_hochberg(p) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    rng = np.random.default_rng(3)
    many = list(rng.uniform(0, 0.2, 25))
    assert stats.benjamini_hochberg(many) == pytest.approx(
        list(sps.false_discovery_control(many, method="bh")))
    assert stats.adjust(p, "none") == p
    with pytest.raises(ValueError):
        stats.adjust(p, "bonferroni")


def test_table_aggregates_carry_the_bootstrap_interval_and_iqm():
    from engine.results.aggregate import aggregate

    rows = [("a", s, v, f"j{s}", "ok") for s, v in enumerate([0.95, 0.99, 0.97, 0.999])]
    frame = pl.DataFrame(rows, schema={"row": pl.String, "seed": pl.Int64, "value": pl.Float64,
                                       "job": pl.String, "status": pl.String}, orient="row")
    t = aggregate(frame, ["row"]).row(0, named=True)
    assert t["ci_high"] > 1.0  # the t interval of near-1 accuracies passes 1 ...
    b = aggregate(frame, ["row"], ci="bootstrap", clip01=True).row(0, named=True)
    assert (b["ci_low"], b["ci_high"]) == pytest.approx(
        stats.bootstrap_interval([0.95, 0.99, 0.97, 0.999]))
    assert b["ci_high"] <= 1.0
    clipped = aggregate(frame, ["row"], ci="t", clip01=True).row(0, named=True)
    assert clipped["ci_high"] == 1.0  # ... and is cut there in exported numbers
    assert b["iqm"] == pytest.approx(np.mean([0.97, 0.99]))
