"""A spec's [[claim]]s judged on the store's results, and their renderings.

The numbers come the way tables get them (`frame.select`: planned slots joined with metrics,
missing kept), are cut to the claim's filter and compared levels, and handed to
`dsl.claims.judge` as plain rows. Cells that resolve to one job are one measurement.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import polars as pl

from dsl.claims import Row, Verdict, expectation, judge, summary_line
from engine.results.frame import apply_filter, factor_names, select, slots


def claim_rows(cells: Sequence[Mapping] | pl.DataFrame, metrics: pl.DataFrame | None,
               claim: Mapping[str, Any], statuses: Mapping[str, str] | None = None,
               factors: Sequence[str] | None = None) -> tuple[list[Row], list[str]]:
    """(rows for `judge`, the for_every DIMs) of one claim."""
    s = cells if isinstance(cells, pl.DataFrame) else slots(cells)
    if factors is None:
        factors = [] if isinstance(cells, pl.DataFrame) else factor_names(cells)
    (dim, levels), = claim["compare"].items()
    every = claim.get("for_every") or []
    every = [every] if isinstance(every, str) else list(every)
    frame = apply_filter(select(s, metrics, claim["metric"], statuses), claim.get("filter"))
    used = {dim, *every, *(claim.get("filter") or {})}
    keys = [f for f in factors if f not in used] + (["probe"] if "probe" not in used else [])
    rows: list[Row] = []
    for i, level in enumerate(levels):
        part = apply_filter(frame, {dim: level})
        # cells that resolve to one job (a probe that ignores a factor) count once
        part = part.unique(subset=[*every, *keys, "seed", "job"], keep="first",
                           maintain_order=True)
        for r in part.iter_rows(named=True):
            rows.append(Row(int(r["seed"]), i, tuple(r[d] for d in every),
                            tuple(r[k] for k in keys), r["value"], r["status"]))
    return rows, every


def judge_claims(cells: Sequence[Mapping], claims: Sequence[Mapping[str, Any]],
                 metrics: pl.DataFrame | None, statuses: Mapping[str, str] | None = None,
                 method: str = "t") -> list[Verdict]:
    """Every claim of a spec judged on its cells' metrics (pure: no store)."""
    s = slots(cells)
    factors = factor_names(cells)
    out = []
    for i, claim in enumerate(claims):
        rows, every = claim_rows(s, metrics, claim, statuses, factors)
        out.append(judge(claim, rows, index=i, method=method, where_names=every))
    return out


def spec_claims(spec_plan: Any, store: Any, method: str = "t") -> list[Verdict]:
    """The claims of one planned spec, judged on what the store holds."""
    from engine.results.tables import spec_inputs

    claims = list((spec_plan.resolved or {}).get("claim") or [])
    if not claims:
        return []
    cells, metrics, statuses = spec_inputs(spec_plan, store)
    return judge_claims(cells, claims, metrics, statuses, method)


def check(spec_path_or_plan: Any, *, store: Any = None, profile: str | None = None,
          overrides: Sequence[str] = (), data_root: Any = None, ci: str = "t"
          ) -> dict[str, list[Verdict]]:
    """Every [[claim]] of the specs (file, folder, Plan or SpecPlan), judged on the store's
    results: {spec name: verdicts}, what `dsl check` prints."""
    from engine.results.tables import open_store, spec_plans

    st = open_store(store)
    return {sp.name: spec_claims(sp, st, ci)
            for sp in spec_plans(spec_path_or_plan, profile, overrides, st, data_root)}


# -- renderings -------------------------------------------------------------------------------

STYLE = {"supported": "green", "contradicted": "red", "inconclusive": "yellow"}


def _fmt(x: float) -> str:
    return f"{x:+.3f}" if x == 0 or 0.001 <= abs(x) < 1000 else f"{x:+.3g}"


def terminal_lines(spec: str, verdicts: Sequence[Verdict], details: bool = False) -> list[str]:
    """Rich markup lines: per claim its verdict and text, then what it expects and the number
    it rests on (effect, 95% interval, paired seeds); every part with `details`."""
    if not verdicts:
        return []
    out = [f"[bold]{spec}: claims[/] ({verdicts[0].test})"]
    for v in verdicts:
        colour = STYLE[v.verdict]
        out.append(f"  [{colour}]{v.verdict.upper():<12}[/] {v.text}")
        out.append(f"  {'':<12} {expectation(v)} on {v.metric}: "
                   f"{summary_line(v, _fmt).split(': ', 1)[1]}")
        if v.partial:
            out.append(f"  {'':<12} [yellow]partial: {v.coverage()}[/]")
        if details and len(v.parts) > 1:
            for p in v.parts:
                ci = "" if p.low is None else f" [{_fmt(p.low)}, {_fmt(p.high)}]"
                effect = "-" if p.effect is None else _fmt(p.effect)
                out.append(f"  {'':<12}   {p.verdict:<12} {p.label()}: {effect}{ci}, {p.n} "
                           f"seeds" + (f" ({p.why})" if p.why else ""))
    return out


def print_claims(spec: str, verdicts: Sequence[Verdict], console: Any = None,
                 details: bool = False) -> None:
    from rich.console import Console

    console = console or Console(highlight=False)
    for line in terminal_lines(spec, verdicts, details):
        console.print(line)


def print_spec_claims(spec_plan: Any, store: Any, console: Any = None) -> None:
    """Print a spec's claims after `dsl run` (next to its tables)."""
    from engine.results.tables import open_store

    verdicts = spec_claims(spec_plan, open_store(store))
    print_claims(spec_plan.name, verdicts, console)


def to_markdown(spec: str, verdicts: Sequence[Verdict]) -> str:
    if not verdicts:
        return ""
    lines = [f"### {spec}: claims", "", f"_{verdicts[0].test}_", "",
             "| claim | expected | verdict | effect | 95% CI | seeds |",
             "|---|---|---|---:|---|---:|"]
    for v in verdicts:
        p = v.shown()
        effect = "-" if p is None or p.effect is None else _fmt(p.effect)
        ci = "-" if p is None or p.low is None else f"[{_fmt(p.low)}, {_fmt(p.high)}]"
        where = f" ({p.label()})" if p is not None and len(v.parts) > 1 else ""
        partial = f" (partial: {v.coverage()})" if v.partial else ""
        lines.append(f"| {_md(v.text)} | {_md(expectation(v))} on {_md(v.metric)} | "
                     f"**{v.verdict}**{_md(where + partial)} | {effect} | {ci} | "
                     f"{0 if p is None else p.n} |")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def to_html(verdicts: Sequence[Verdict]) -> str:
    """The claims section of a spec's HTML report ('' when it states none)."""
    if not verdicts:
        return ""
    from html import escape

    colour = {"supported": "#1a7f37", "contradicted": "#cf222e", "inconclusive": "#9a6700"}
    rows = []
    for v in verdicts:
        p = v.shown()
        effect = "-" if p is None or p.effect is None else _fmt(p.effect)
        ci = "-" if p is None or p.low is None else f"[{_fmt(p.low)}, {_fmt(p.high)}]"
        where = escape(p.label()) if p is not None else ""
        partial = f"<br>partial: {escape(v.coverage())}" if v.partial else ""
        rows.append(f"<tr><td>{escape(v.text)}</td><td>{escape(expectation(v))} on "
                    f"{escape(v.metric)}</td><td style='color:{colour[v.verdict]}'><b>"
                    f"{v.verdict}</b>{partial}</td><td>{where}</td><td>{effect}</td><td>{ci}</td>"
                    f"<td>{0 if p is None else p.n}</td></tr>")
    return ("<h2>Claims</h2><table><tr><th>claim</th><th>expected</th><th>verdict</th>"
            "<th>part shown</th><th>effect</th><th>95% CI</th><th>seeds</th></tr>"
            + "".join(rows) + f"</table><p class='note'>{escape(verdicts[0].test)}; "
            "docs/claims.md says how verdicts are decided</p>")
