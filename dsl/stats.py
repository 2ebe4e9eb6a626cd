"""Statistics over few seeds: intervals, robust means, paired tests, multiple-comparison control.

Seeds are the independent replicates everywhere in `dsl`, and there are few of them (2 to 10),
so the choices here follow rliable (Agarwal et al., "Deep RL at the edge of the statistical
precipice"): percentile bootstrap intervals (scipy's `stats.bootstrap`), the interquartile mean
as a robust alternative to the mean, and the probability of improvement P(X_B > X_A). The t
interval stays available: at 2-3 seeds it is honest but very wide, the bootstrap is narrow but
covers less than its nominal 95% (docs/claims.md says what each seed count can show).

Plain numbers in, plain numbers out; numpy and scipy load on first use, so the language layer
can import this module without paying for them.
"""

from __future__ import annotations

import itertools
import math
from typing import Sequence

CONFIDENCE = 0.95
N_RESAMPLES = 9999
SEED = 0  # bootstrap draws are fixed: the same results give the same intervals, run after run
CI_METHODS = ("bootstrap", "t")
CI_NAMES = {"bootstrap": "percentile bootstrap", "t": "t"}
CORRECTIONS = ("holm", "bh", "none")
CORRECTION_NAMES = {"holm": "Holm (family-wise error)", "bh": "Benjamini-Hochberg (FDR)",
                    "none": "no correction"}
_MAX_ELEMENTS = 5_000_000  # resampled numbers held at once when bootstrapping many cells


def _clean(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and not math.isnan(v)]


def t_interval(values: Sequence[float | None], confidence: float = CONFIDENCE
               ) -> tuple[float, float] | None:
    """The t interval of the mean (None below two values)."""
    from scipy import stats

    v = _clean(values)
    n = len(v)
    if n < 2:
        return None
    mean = sum(v) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in v) / (n - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n))
    return mean - half, mean + half


def bootstrap_interval(values: Sequence[float | None], confidence: float = CONFIDENCE,
                       statistic: str = "mean") -> tuple[float, float] | None:
    """scipy's percentile bootstrap interval of the mean (or IQM) of the values; None below two.

    With n values there are only C(2n-1, n) distinct resamples (3 for n = 2): the interval is
    then close to the range of the values, not a 95% guarantee."""
    out = bootstrap_intervals([values], confidence, statistic)
    return out[0]


def bootstrap_intervals(groups: Sequence[Sequence[float | None]],
                        confidence: float = CONFIDENCE, statistic: str = "mean"
                        ) -> list[tuple[float, float] | None]:
    """`bootstrap_interval` of many groups at once: scipy vectorised over groups of one size."""
    import numpy as np
    from scipy import stats

    cleaned = [_clean(g) for g in groups]
    out: list[tuple[float, float] | None] = [None] * len(cleaned)
    by_n: dict[int, list[int]] = {}
    for i, g in enumerate(cleaned):
        if len(g) >= 2:
            by_n.setdefault(len(g), []).append(i)
    func = _iqm_axis if statistic == "iqm" else np.mean
    for n, idx in sorted(by_n.items()):
        rows = max(1, _MAX_ELEMENTS // (n * N_RESAMPLES))
        rng = np.random.default_rng(SEED)
        for start in range(0, len(idx), rows):
            chunk = idx[start:start + rows]
            data = np.asarray([cleaned[i] for i in chunk], dtype=float)
            constant = np.ptp(data, axis=-1) == 0
            res = stats.bootstrap((data,), func, n_resamples=N_RESAMPLES,
                                  confidence_level=confidence, method="percentile",
                                  vectorized=True, axis=-1, rng=rng)
            low = np.atleast_1d(res.confidence_interval.low)
            high = np.atleast_1d(res.confidence_interval.high)
            for k, i in enumerate(chunk):
                if constant[k]:  # every resample is the value itself
                    low[k] = high[k] = data[k, 0]
                out[i] = (float(low[k]), float(high[k]))
    return out


def interval(values: Sequence[float | None], method: str = "bootstrap",
             confidence: float = CONFIDENCE, statistic: str = "mean"
             ) -> tuple[float, float] | None:
    """The interval of the mean (or IQM, bootstrap only) by `method`: "bootstrap" or "t"."""
    if method == "t":
        return t_interval(values, confidence)
    if method == "bootstrap":
        return bootstrap_interval(values, confidence, statistic)
    raise ValueError(f"unknown interval method {method!r} (one of {', '.join(CI_METHODS)})")


def _iqm_axis(x, axis=-1):
    """Interquartile mean along an axis: the mean of the middle half, scipy's trim_mean(0.25)."""
    from scipy import stats

    return stats.trim_mean(x, 0.25, axis=axis)


def iqm(values: Sequence[float | None]) -> float | None:
    """Interquartile mean: the mean of the middle 50% of the values (the mean below 4 values,
    where trimming a quarter from each end removes nothing)."""
    v = _clean(values)
    if not v:
        return None
    return float(_iqm_axis(v, axis=0))


def clip(bounds: tuple[float, float] | None, low: float = 0.0, high: float = 1.0
         ) -> tuple[float, float] | None:
    """An interval cut to [low, high] (an accuracy's interval never leaves [0, 1])."""
    if bounds is None:
        return None
    return min(max(bounds[0], low), high), min(max(bounds[1], low), high)


def bounded(metric: str | None) -> bool:
    """Whether a metric lives in [0, 1] by definition: accuracies do; a loss or a sensitivity
    (a ratio of distances, which may pass 1) does not."""
    return bool(metric) and metric.split("@")[0].split(".")[-1].endswith("accuracy")


# -- comparisons ------------------------------------------------------------------------------

def sign_flip_p(differences: Sequence[float]) -> float:
    """Two-sided p-value of a paired sign-flip permutation test of mean difference 0.

    Exact (every 2^n sign pattern) up to 16 pairs; free of distribution assumptions, so at few
    seeds it is honest: with n pairs the smallest p is 2 / 2^n (0.5 at 2 seeds, 0.0625 at 5,
    0.002 at 10)."""
    import numpy as np

    d = np.asarray(_clean(differences), dtype=float)
    n = d.size
    if n == 0:
        return 1.0
    observed = abs(d.mean())
    if n <= 16:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
    else:
        rng = np.random.default_rng(SEED)
        signs = rng.choice((1.0, -1.0), size=(1 << 16, n))
    means = np.abs((signs * d).mean(axis=1))
    # a tolerance so float noise in the sums does not break ties with the observed mean
    return float(np.mean(means >= observed - 1e-12))


def permutation_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of a two-sample permutation test of equal means (unpaired seeds):
    exact over every relabelling up to 20,000 of them, else 20,000 random ones."""
    import numpy as np

    x, y = _clean(a), _clean(b)
    if not x or not y:
        return 1.0
    pooled = np.asarray(x + y, dtype=float)
    n, total = len(x), len(x) + len(y)
    observed = abs(np.mean(y) - np.mean(x))
    if math.comb(total, n) <= 20_000:
        splits = [list(c) for c in itertools.combinations(range(total), n)]
        mask = np.zeros((len(splits), total), dtype=bool)
        for k, c in enumerate(splits):
            mask[k, c] = True
    else:
        rng = np.random.default_rng(SEED)
        mask = np.zeros((20_000, total), dtype=bool)
        for k in range(20_000):
            mask[k, rng.choice(total, n, replace=False)] = True
    sum_all = pooled.sum()
    sum_x = (mask * pooled).sum(axis=1)
    diffs = np.abs((sum_all - sum_x) / len(y) - sum_x / n)
    return float(np.mean(diffs >= observed - 1e-12))


def probability_of_improvement(a: Sequence[float], b: Sequence[float]) -> float | None:
    """P(X_B > X_A) + P(X_B = X_A) / 2 over every pair of A's and B's values (the Mann-Whitney
    statistic rliable reports as the probability of improvement)."""
    x, y = _clean(a), _clean(b)
    if not x or not y:
        return None
    wins = sum((yb > xa) + 0.5 * (yb == xa) for xa in x for yb in y)
    return wins / (len(x) * len(y))


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values (family-wise error control); None stays None."""
    idx = [i for i, p in enumerate(pvalues) if p is not None]
    order = sorted(idx, key=lambda i: pvalues[i])
    m = len(order)
    out: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


def benjamini_hochberg(pvalues: Sequence[float | None]) -> list[float | None]:
    """Benjamini-Hochberg adjusted p-values (false discovery rate; scipy's
    false_discovery_control); None stays None."""
    from scipy.stats import false_discovery_control

    idx = [i for i, p in enumerate(pvalues) if p is not None]
    out: list[float | None] = [None] * len(pvalues)
    if idx:
        for i, q in zip(idx, false_discovery_control([pvalues[i] for i in idx], method="bh")):
            out[i] = float(q)
    return out


def adjust(pvalues: Sequence[float | None], method: str) -> list[float | None]:
    """Adjusted p-values by `method`: "holm", "bh" or "none"."""
    if method == "holm":
        return holm(pvalues)
    if method == "bh":
        return benjamini_hochberg(pvalues)
    if method == "none":
        return list(pvalues)
    raise ValueError(f"unknown correction {method!r} (one of {', '.join(CORRECTIONS)})")
