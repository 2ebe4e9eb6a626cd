"""Seed aggregation: mean, standard deviation, n and a t-based 95% confidence interval.

Seeds are the independent replicates, so spread is measured across seeds only. When a table cell
also pools other factors (Table 2's "same" row pools every transform), each seed's values are
averaged first and the interval is over those per-seed means; pooling them as if independent
would shrink the interval by the number of pooled transforms for no reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import polars as pl
from scipy import stats as _scipy_stats

from dsl import stats

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Summary:
    mean: float | None
    std: float | None  # sample std (ddof=1); None below two values
    n: int
    ci_low: float | None
    ci_high: float | None


def t_halfwidth(std: float | None, n: int, confidence: float = CONFIDENCE) -> float | None:
    """Half the width of the t interval for a mean of n values with sample std `std`."""
    if std is None or n < 2 or (isinstance(std, float) and math.isnan(std)):
        return None
    return float(_scipy_stats.t.ppf(0.5 + confidence / 2, n - 1) * std / math.sqrt(n))


def summarize(values: Sequence[float | None]) -> Summary:
    """Mean, std, n and 95% CI of the non-missing values."""
    v = np.asarray([x for x in values if x is not None and not math.isnan(x)], dtype=float)
    n = int(v.size)
    if n == 0:
        return Summary(None, None, 0, None, None)
    mean = float(v.mean())
    std = float(v.std(ddof=1)) if n > 1 else None
    half = t_halfwidth(std, n)
    return Summary(mean, std, n, None if half is None else mean - half,
                   None if half is None else mean + half)


def aggregate(selected: pl.DataFrame, by: Sequence[str], ci: str = "t", center: str = "mean",
              clip01: bool = False) -> pl.DataFrame:
    """Group `select`ed slots by the dims `by`: mean/std/n/ci over seeds, plus what is missing.

    `ci`: "t" or "bootstrap" (scipy's percentile bootstrap over seeds, dsl.stats); `center`:
    "mean" or "iqm" (the interquartile mean, in column `iqm`, which the interval is then of);
    `clip01` cuts the interval to [0, 1] (accuracies).

    Columns: *by, mean, std, n (seeds with a value), seeds (seeds planned), expected (slots
    planned), missing (slots without a value), jobs (the job ids behind the number), statuses.
    A group whose every slot is missing keeps its row with mean null: missing is shown, not
    dropped. Two cells of a group that resolve to one job (cells a profile makes identical, or a
    factor level listed twice) are one measurement: counted, and averaged, once.
    """
    by = list(by)
    selected = selected.unique(subset=[*by, "seed", "job"], keep="first", maintain_order=True)
    per_seed = selected.group_by(by + ["seed"], maintain_order=True).agg(
        value=pl.col("value").mean(),
        expected=pl.len(),
        have=pl.col("value").count(),
        jobs=pl.col("job"),
        statuses=pl.col("status"),
    )
    out = per_seed.group_by(by, maintain_order=True).agg(
        mean=pl.col("value").mean(),
        std=pl.col("value").std(ddof=1),
        n=pl.col("value").count(),
        values=pl.col("value").drop_nulls(),
        seeds=pl.len(),
        expected=pl.col("expected").sum(),
        missing=(pl.col("expected") - pl.col("have")).sum(),
        jobs=pl.col("jobs").list.explode(keep_nulls=False, empty_as_null=False).unique(maintain_order=True),
        statuses=pl.col("statuses").list.explode(keep_nulls=False, empty_as_null=False),
    )
    std = out["std"].to_list()
    mean = out["mean"].to_list()
    per_group = out["values"].to_list()
    if ci == "t" and center == "mean":
        half = [t_halfwidth(s, n) for s, n in zip(std, out["n"].to_list())]
        bounds = [None if h is None else (m - h, m + h) for m, h in zip(mean, half)]
    elif ci == "bootstrap":
        bounds = stats.bootstrap_intervals(per_group, statistic=center)
    else:
        raise ValueError(f"no {ci} interval of the {center}: use ci='bootstrap'")
    if clip01:
        bounds = [stats.clip(b) for b in bounds]
    low = [None if b is None else b[0] for b in bounds]
    high = [None if b is None else b[1] for b in bounds]
    iqm = [stats.iqm(v) for v in per_group]
    # A single seed has no spread: std is null rather than polars' NaN/None mix.
    std = [None if s is None or (isinstance(s, float) and math.isnan(s)) else s for s in std]
    missing_why = [_why(sts) for sts in out["statuses"].to_list()]
    return out.drop("statuses").with_columns(
        std=pl.Series(std, dtype=pl.Float64),
        ci_low=pl.Series(low, dtype=pl.Float64),
        ci_high=pl.Series(high, dtype=pl.Float64),
        n=pl.col("n").cast(pl.Int64), seeds=pl.col("seeds").cast(pl.Int64),
        expected=pl.col("expected").cast(pl.Int64), missing=pl.col("missing").cast(pl.Int64),
        why_missing=pl.Series(missing_why, dtype=pl.String),
        iqm=pl.Series(iqm, dtype=pl.Float64),
    ).select(*by, "mean", "std", "n", "ci_low", "ci_high", "seeds", "expected", "missing",
             "why_missing", "jobs", "iqm")


def _why(statuses: list[str]) -> str | None:
    """The reasons slots lack a value, most serious first: "failed 2, not run 1"."""
    order = ("failed", "skipped", "no metric", "running", "pending", "not run")
    counts: dict[str, int] = {}
    for s in statuses:
        if s != "ok":
            counts[s] = counts.get(s, 0) + 1
    if not counts:
        return None
    keys = sorted(counts, key=lambda k: order.index(k) if k in order else len(order))
    return ", ".join(f"{k} {counts[k]}" for k in keys)
