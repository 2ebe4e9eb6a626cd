"""The statistics of a results diff: per value, B - A over seeds; across values, a correction.

Per (cell, probe, metric, split) seen on both sides, `compare` gives the difference of the seed
means with a 95% interval (percentile bootstrap by default: of the per-seed differences when
both sides have the same seeds, of the difference of means resampling each side otherwise; or
the paired / Welch t interval), a two-sided p-value (paired / Welch t test, or an exact
permutation test: sign flips when paired, relabellings otherwise) and the probability of
improvement P(B > A) over all pairs of seeds. `flag` then adjusts the p-values of every value
tested, across every comparison of one `dsl diff` (Holm for the family-wise error, Benjamini-
Hochberg for the false discovery rate) and calls a value "changed" when its adjusted p < 0.05.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import polars as pl

from dsl import stats

TESTS = ("t", "permutation")
TEST_NAMES = {"t": "t test (paired, else Welch)",
              "permutation": "exact permutation test (sign flips when paired, else relabelling)"}
ALPHA = 0.05


def compare(a: Mapping[int, float], b: Mapping[int, float], ci: str = "bootstrap",
            test: str = "t") -> dict[str, Any]:
    """Delta (B - A) of seed means with its 95% interval, p-value and P(B > A): paired by seed
    when both sides have the same seeds (seed-to-seed variation cancels), unpaired otherwise."""
    va, vb = [a[s] for s in sorted(a)], [b[s] for s in sorted(b)]
    mean_a, mean_b = sum(va) / len(va), sum(vb) / len(vb)
    delta = mean_b - mean_a
    paired = sorted(a) == sorted(b) and len(a) >= 2
    if paired:
        d = [b[s] - a[s] for s in sorted(a)]
        bounds = stats.interval(d, ci)
        p = _paired_p(d, test)
    elif len(va) >= 2 and len(vb) >= 2:
        bounds = _welch_interval(va, vb) if ci == "t" else _two_sample_bootstrap(va, vb)
        p = _welch_p(va, vb) if test == "t" else stats.permutation_p(va, vb)
    else:
        bounds, p = None, None
    return {"n_a": len(va), "n_b": len(vb), "mean_a": mean_a, "mean_b": mean_b, "delta": delta,
            "ci_low": None if bounds is None else bounds[0],
            "ci_high": None if bounds is None else bounds[1], "paired": paired,
            "p_value": p, "p_improve": stats.probability_of_improvement(va, vb)}


def _paired_p(d: Sequence[float], test: str) -> float:
    if test == "permutation":
        return stats.sign_flip_p(d)
    from scipy import stats as sps

    if max(d) == min(d):  # no spread: the t statistic is infinite (or 0/0 for no change)
        return 1.0 if d[0] == 0 else 0.0
    return float(sps.ttest_1samp(d, 0.0).pvalue)


def _welch_p(va: Sequence[float], vb: Sequence[float]) -> float:
    from scipy import stats as sps

    if max(va) == min(va) and max(vb) == min(vb):
        return 1.0 if va[0] == vb[0] else 0.0
    return float(sps.ttest_ind(vb, va, equal_var=False).pvalue)


def _welch_interval(va: Sequence[float], vb: Sequence[float]) -> tuple[float, float]:
    from scipy import stats as sps

    mean_a, mean_b = sum(va) / len(va), sum(vb) / len(vb)
    var_a = sum((x - mean_a) ** 2 for x in va) / (len(va) - 1) / len(va)
    var_b = sum((x - mean_b) ** 2 for x in vb) / (len(vb) - 1) / len(vb)
    se = math.sqrt(var_a + var_b)
    delta = mean_b - mean_a
    if se == 0:
        return delta, delta
    df = (var_a + var_b) ** 2 / (var_a ** 2 / (len(va) - 1) + var_b ** 2 / (len(vb) - 1))
    half = float(sps.t.ppf(0.975, df) * se)
    return delta - half, delta + half


def _two_sample_bootstrap(va: Sequence[float], vb: Sequence[float]) -> tuple[float, float]:
    """scipy's percentile bootstrap of mean(B) - mean(A), each side resampled on its own."""
    import numpy as np
    from scipy import stats as sps

    if max(va) == min(va) and max(vb) == min(vb):
        delta = vb[0] - va[0]
        return delta, delta
    res = sps.bootstrap((np.asarray(vb), np.asarray(va)),
                        lambda y, x, axis=-1: np.mean(y, axis=axis) - np.mean(x, axis=axis),
                        n_resamples=stats.N_RESAMPLES, method="percentile", vectorized=True,
                        rng=np.random.default_rng(stats.SEED))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def flag(frames: Sequence[pl.DataFrame], correction: str = "bh") -> list[pl.DataFrame]:
    """Adjust the p-values of every tested value across `frames` (one per comparison) and set
    each tested row's status: "changed" (adjusted p < 0.05) or "within noise"."""
    sizes = [f.height for f in frames]
    pvals = [p for f in frames for p in f["p_value"].to_list()]
    adjusted = stats.adjust(pvals, correction)
    out, start = [], 0
    for f, n in zip(frames, sizes):
        adj = adjusted[start:start + n]
        start += n
        status = [("changed" if q < ALPHA else "within noise") if q is not None and
                  s in ("changed", "within noise") else s
                  for q, s in zip(adj, f["status"].to_list())]
        out.append(f.with_columns(p_adjusted=pl.Series(adj, dtype=pl.Float64),
                                  status=pl.Series(status, dtype=pl.String)))
    return out


def method_note(ci: str, test: str, correction: str, tested: int) -> str:
    """What the results columns mean, as every rendering of a diff states it."""
    return (f"delta = B - A of the seed means, 95% CI by {stats.CI_NAMES[ci]} over seeds; "
            f"P(B>A): probability of improvement over all pairs of seeds; p: {TEST_NAMES[test]}, "
            f"adjusted by {stats.CORRECTION_NAMES[correction]} across the {tested} value(s) "
            f"tested; changed = adjusted p < {ALPHA:g}")
