"""[[claim]]: a spec's findings, checked against its results.

A claim names a VALUE (`metric`), one DIM with two or more of its levels (`compare`) and the
relation of each neighbouring pair (`expect`: ">", "<", "~"), optionally a margin (`at_least`),
a tolerance (`within`, for "~"), DIMs judged level by level (`for_every`) and a `filter`.

How a verdict is reached (docs/claims.md says it for users):

- Pairs. For each compared pair of levels (x, y) and each level of the `for_every` DIMs, every
  seed gives one difference: the mean over the cells x and y share (same seed and same values of
  every other factor and probe) of value(x) - value(y). When x and y share no cell within a seed
  (Table 2's Same and Other rows pool different transforms), the seed's difference is the mean
  of x's cells minus the mean of y's. Seeds are the independent replicates; nothing else is.
- Effect and interval: the mean of those per-seed differences, with the 95% t interval over
  seeds (`dsl check --ci bootstrap`: scipy's percentile bootstrap instead). t by default because
  a verdict is a decision and the t interval keeps its 95% at any number of seeds when the
  per-seed differences are roughly normal, where the percentile bootstrap of a mean covers about
  50% at 2 seeds, 75% at 3, 85% at 5 and 91% at 10 (docs/claims.md; simulated with dsl.stats).
- ">" at_least m: supported when the interval's low end is above m, contradicted when its high
  end is below m. "<" mirrors it (high end below -m; low end above -m). "~" within d: supported
  when the whole interval lies inside (-d, d), contradicted when it lies wholly outside.
- Fewer than MIN_PAIRS paired seeds: inconclusive.
- Planned results that are absent (jobs not run yet, failed, skipped) are left out, and counted:
  the verdict says it rests on part of the results ("judged on 2,052 of 6,156 results; 4,104
  not run"), so a claim checked mid-run or past failed jobs is never mistaken for a whole one.
- A claim with several parts (an ordering, `for_every`) is supported when every part is; that
  needs no multiple-comparison correction (an intersection-union test). It is contradicted when
  some part is, judged on its interval at confidence 1 - 0.05/k for k parts (Bonferroni), so
  that many parts do not make a contradiction likely by chance; inconclusive otherwise.

This module reads the spec document (checks) and plain numbers (judging); the results layer
(`engine.results.claims`) fetches the numbers from the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from dsl import stats
from dsl.errors import did_you_mean

MIN_PAIRS = 2
VERDICTS = ("supported", "contradicted", "inconclusive")
# Values a derived column can take, where the language knows them.
DERIVED_LEVELS = {"transform_relation": ("same", "subset", "superset", "other", "none")}


# -- checks (called by dsl.checks with its checker) ---------------------------------------------

def check_claims(checker) -> None:
    """Document checks of every [[claim]]: its metric, DIMs and levels; problems go to
    `checker.add` with the claim's path (file:line) and a did-you-mean."""
    raw = checker.data.get("claim")
    for k, c in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(c, dict):
            continue
        path = ("claim", k)
        if "metric" in c:
            checker.check_value(path + ("metric",), c["metric"])
        compare = c.get("compare")
        used: list[str] = []
        if isinstance(compare, dict):
            for dim, levels in compare.items():
                used.append(dim)
                checker.check_dim(path + ("compare", dim), dim)
                if isinstance(levels, list):
                    _check_levels(checker, path + ("compare", dim), dim, levels)
        every = c.get("for_every")
        for j, dim in enumerate([every] if isinstance(every, str) else every
                                if isinstance(every, list) else []):
            if not isinstance(dim, str):
                continue
            where = path + (("for_every", j) if isinstance(every, list) else ("for_every",))
            checker.check_dim(where, dim)
            if dim in used:
                checker.add(where, f"'{dim}' is the compared DIM; for_every takes another one")
            used.append(dim)
        filt = c.get("filter")
        for dim, wanted in (filt.items() if isinstance(filt, dict) else ()):
            checker.check_dim(path + ("filter", dim), dim)
            if dim in used:
                checker.add(path + ("filter", dim), f"'{dim}' is compared or judged level by "
                            "level already; filter another DIM")
            _check_levels(checker, path + ("filter", dim), dim,
                          wanted if isinstance(wanted, list) else [wanted])


def _show(value: Any) -> str:
    """A level as a spec writes it (dsl.checks shows values the same way)."""
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value)


def _check_levels(checker, path, dim: str, levels: list) -> None:
    known = _known_levels(checker, dim)
    if known is None:
        return
    for level in levels:
        if not any(_same(level, v) for v in known):
            listing = ", ".join(_show(v) for v in known)
            checker.add(path, f"'{dim}' has no level {_show(level)}",
                        did_you_mean(str(level), [str(v) for v in known])
                        or f"its levels: {listing}")


def _known_levels(checker, dim: str) -> list | None:
    if dim in checker.factors:
        return list(checker.factors[dim])
    if dim == "probe":
        return list(checker.probe_kinds()) + ["train"]
    if dim in DERIVED_LEVELS:
        return list(DERIVED_LEVELS[dim])
    return None  # unknown DIM (reported) or free-form derived values


def _same(a: Any, b: Any) -> bool:
    return a == b and isinstance(a, bool) == isinstance(b, bool)


# -- judging ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    """One number a claim reads: which seed, which compared level (index into `compare`'s
    list), which level of the `for_every` DIMs, and the other factors that pair it."""

    seed: int
    level: int
    group: tuple = ()
    key: tuple = ()
    value: float | None = None
    status: str = "ok"  # why `value` is None: not run, failed, skipped, running, no metric


@dataclass(frozen=True)
class Part:
    """One comparison: neighbouring levels `first` and `second` at one `for_every` level."""

    where: Mapping[str, Any]
    first: Any
    second: Any
    relation: str
    effect: float | None  # mean over seeds of value(first) - value(second)
    low: float | None
    high: float | None
    n: int  # paired seeds
    cells_paired: bool  # False: sides shared no cell within a seed; their means were compared
    verdict: str
    why: str = ""

    def label(self) -> str:
        where = ", ".join(f"{k}={v}" for k, v in self.where.items())
        text = f"{_level(self.first)} {self.relation} {_level(self.second)}"
        return f"{text} at {where}" if where else text


@dataclass
class Verdict:
    """A judged claim: its verdict, each part, and how it was judged."""

    index: int
    text: str
    metric: str
    dim: str
    levels: list
    relations: list[str]
    at_least: float
    within: float | None
    verdict: str
    parts: list[Part] = field(default_factory=list)
    method: str = "t"
    results: int = 0  # the numbers it was judged on
    missing: dict[str, int] = field(default_factory=dict)  # planned numbers absent, by why

    @property
    def partial(self) -> bool:
        """Judged on only some of its planned results (a run not finished, failed jobs)."""
        return bool(self.missing)

    def coverage(self) -> str:
        """"judged on 2,052 of 6,156 results; 4,104 not run" ('' when none is missing)."""
        if not self.missing:
            return ""
        absent = sum(self.missing.values())
        why = ", ".join(f"{n:,} {s}" for s, n in sorted(self.missing.items(),
                                                          key=lambda kv: -kv[1]))
        return f"judged on {self.results:,} of {self.results + absent:,} results; {why}"

    @property
    def test(self) -> str:
        """The test used, in words (what every rendering prints)."""
        pairing = "paired by seed" if all(p.cells_paired for p in self.parts if p.n) else \
            "per-seed differences of pooled means"
        return f"effect: mean difference over seeds, {pairing}; 95% {stats.CI_NAMES[self.method]}"


    def shown(self) -> Part | None:
        """The part a one-line summary quotes: a contradicted one, else the weakest."""
        if not self.parts:
            return None
        bad = [p for p in self.parts if p.verdict == "contradicted"]
        if bad:
            return bad[0]
        undecided = [p for p in self.parts if p.verdict == "inconclusive"]
        pool = undecided or self.parts
        return min(pool, key=lambda p: _slack(p, self.at_least, self.within))

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "text": self.text, "metric": self.metric, "dim": self.dim,
                "levels": self.levels, "expect": self.relations, "at_least": self.at_least,
                "within": self.within, "verdict": self.verdict, "test": self.test,
                "min_pairs": MIN_PAIRS, "results": self.results, "missing": dict(self.missing),
                "parts": [{"where": dict(p.where), "first": p.first, "second": p.second,
                           "relation": p.relation, "effect": p.effect, "ci_low": p.low,
                           "ci_high": p.high, "seeds": p.n, "paired_cells": p.cells_paired,
                           "verdict": p.verdict, "why": p.why} for p in self.parts]}


def _level(v: Any) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


def _slack(p: Part, margin: float, within: float | None) -> float:
    """How far a part's interval is from failing its relation (negative: it does fail)."""
    if p.low is None or p.high is None:
        return float("-inf")
    if p.relation == ">":
        return p.low - margin
    if p.relation == "<":
        return -margin - p.high
    return min(p.low + (within or 0.0), (within or 0.0) - p.high)


def judge(claim: Mapping[str, Any], rows: Iterable[Row], *, index: int = 0,
          method: str = "t", where_names: Sequence[str] = ()) -> Verdict:
    """Judge one claim (its resolved table) on plain numbers; see the module docstring."""
    (dim, levels), = claim["compare"].items()
    expect = claim.get("expect", ">")
    relations = list(expect) if isinstance(expect, list) else [expect] * (len(levels) - 1)
    margin = float(claim.get("at_least", 0.0) or 0.0)
    within = claim.get("within")
    # seed -> level -> group -> key -> values (cells resolving to one job come in once already)
    table: dict[tuple, dict[int, dict[int, dict[tuple, list[float]]]]] = {}
    groups: dict[tuple, None] = {}
    results, missing = 0, {}
    for r in rows:
        groups.setdefault(r.group, None)
        if r.value is None or r.value != r.value:
            why = "NaN" if r.value is not None else r.status
            missing[why] = missing.get(why, 0) + 1
            continue
        results += 1
        table.setdefault(r.group, {}).setdefault(r.seed, {}).setdefault(r.level, {}) \
            .setdefault(r.key, []).append(float(r.value))
    pending = []
    for group in groups or {(): None}:
        for i, relation in enumerate(relations):
            diffs, paired = _differences(table.get(group, {}), i, i + 1)
            pending.append((group, i, relation, diffs, paired))
    k = max(len(pending), 1)
    parts = []
    for group, i, relation, diffs, paired in pending:
        where = dict(zip(where_names, group))
        parts.append(_judge_part(where, levels[i], levels[i + 1], relation, diffs, paired,
                                 margin, within, method, k))
    if not parts:
        verdict = "inconclusive"
    elif any(p.verdict == "contradicted" for p in parts):
        verdict = "contradicted"
    elif all(p.verdict == "supported" for p in parts):
        verdict = "supported"
    else:
        verdict = "inconclusive"
    return Verdict(index, claim.get("text", ""), claim.get("metric", ""), dim, list(levels),
                   relations, margin, within, verdict, parts, method, results, missing)


def _differences(seeds: Mapping[int, Mapping[int, Mapping[tuple, list[float]]]], x: int, y: int
                 ) -> tuple[list[float], bool]:
    """Per-seed differences value(x) - value(y), and whether they paired cells (see module)."""
    out: list[float] = []
    paired = True
    for seed in sorted(seeds):
        a, b = seeds[seed].get(x), seeds[seed].get(y)
        if not a or not b:
            continue
        ma = {k: sum(v) / len(v) for k, v in a.items()}
        mb = {k: sum(v) / len(v) for k, v in b.items()}
        common = [k for k in ma if k in mb]
        if common:
            out.append(sum(ma[k] - mb[k] for k in common) / len(common))
        else:
            paired = False
            out.append(sum(ma.values()) / len(ma) - sum(mb.values()) / len(mb))
    return out, paired


def _judge_part(where, first, second, relation: str, diffs: list[float], paired: bool,
                margin: float, within: float | None, method: str, k: int) -> Part:
    n = len(diffs)
    effect = sum(diffs) / n if n else None
    if n < MIN_PAIRS:
        why = "no paired results" if n == 0 else f"{n} paired seed; needs {MIN_PAIRS}"
        return Part(where, first, second, relation, effect, None, None, n, paired,
                    "inconclusive", why)
    low, high = stats.interval(diffs, method)
    # the contradiction check of one of k parts uses a Bonferroni-widened interval
    c_low, c_high = (low, high) if k == 1 else stats.interval(
        diffs, method, confidence=1 - (1 - stats.CONFIDENCE) / k)
    if relation == ">":
        ok, bad = low > margin, c_high < margin
    elif relation == "<":
        ok, bad = high < -margin, c_low > -margin
    else:
        d = float(within or 0.0)
        ok, bad = (-d < low and high < d), (c_low > d or c_high < -d)
    verdict = "supported" if ok else "contradicted" if bad else "inconclusive"
    return Part(where, first, second, relation, effect, low, high, n, paired, verdict)


def summary_line(v: Verdict, fmt=None) -> str:
    """"supported: effect +0.390 [0.310, 0.470], 2 seeds" for the part the verdict rests on."""
    fmt = fmt or (lambda x: f"{x:+.3f}")
    p = v.shown()
    if p is None:
        return f"{v.verdict}: no results"
    if p.effect is None:
        return f"{v.verdict}: {p.why}"
    shown = f"{p.label()}, " if len(v.parts) > 1 else ""
    text = f"{v.verdict}: {shown}effect {fmt(p.effect)}"
    if p.low is not None:
        text += f" [{fmt(p.low)}, {fmt(p.high)}]"
    text += f", {p.n} seed{'s' if p.n != 1 else ''}"
    if p.why:
        text += f" ({p.why})"
    if len(v.parts) > 1:
        counts = {s: sum(q.verdict == s for q in v.parts) for s in VERDICTS}
        text += "; parts: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    return text


def expectation(v: Verdict) -> str:
    """The claim's expectation in symbols: "same > other (by > 0.05)"."""
    text = _level(v.levels[0])
    for rel, level in zip(v.relations, v.levels[1:]):
        text += f" {rel} {_level(level)}"
    extra = []
    if v.at_least and any(r in "<>" for r in v.relations):
        extra.append(f"by more than {v.at_least:g}")
    if v.within is not None:
        extra.append(f"~ within {v.within:g}")
    return f"{v.dim}: {text}" + (f" ({'; '.join(extra)})" if extra else "")

