"""One self-contained HTML page per spec: what was asked, what ran, what came out, and what made it.

A page carries everything inline (CSS, charts as PNG data URIs), so it can be mailed or archived
and still open offline. Every table cell links to the list of jobs behind its number, with each
job's status and artifact folder: a surprising number is one click from the runs that made it.
`render_page` is pure (tables, charts and facts in, HTML out); `report` gathers the facts from the
planner and the store.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import os
from collections import Counter
from pathlib import Path
from typing import Any, Mapping, Sequence

from dsl.counts import WORDS
from dsl.graph import with_inputs
from dsl.profiles import options_text
from engine.results.charts import Chart, spec_charts, to_png
from engine.results.provenance_html import environment_html, stale_html
from engine.results.stale import STALE_MARK, mark_tables, stale_view
from engine.results.tables import (Table, cell_text, open_store, options_note, spec_inputs,
                                   spec_plans)

_CSS = """
body { font: 14px/1.45 -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; padding: 0 1em; }
h1 { margin-bottom: .1em; } .sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: .6em 0 1em; }
th, td { border: 1px solid #ddd; padding: .3em .6em; } td { text-align: right; }
th { background: #f5f5f5; } td.row { text-align: left; font-weight: 600; background: #fafafa; }
td.missing a { color: #b00; } td.partial a { color: #a60; } td a { color: inherit; }
td.stale { background: #fff4e0; } .stale-mark { color: #a60; font-weight: 600; }
td a { text-decoration: none; } td a:hover { text-decoration: underline; }
pre { background: #f7f7f7; padding: .8em; overflow-x: auto; font-size: 12px; }
.kv td { text-align: left; } .note { color: #a60; } img.chart { max-width: 100%; }
details { margin: .4em 0 1.2em; } summary { cursor: pointer; color: #444; }
li:target { background: #ffe9a8; } code { font-size: 12px; }
"""

# Opening the jobs list when a cell is clicked: a closed <details> hides its anchors otherwise.
_JS = """
document.addEventListener('click', function (e) {
  var a = e.target.closest('a[href^="#"]'); if (!a) return;
  var t = document.getElementById(a.getAttribute('href').slice(1));
  for (var d = t; d; d = d.parentElement) if (d.tagName === 'DETAILS') d.open = true;
});
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def _time(t: float | None) -> str:
    return _dt.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S") if t else "-"


def plan_counts(spec_plan: Any, finished: set[str], statuses: Mapping[str, str]) -> dict:
    """The spec's counts in the words of dsl.counts: cells, jobs, uses, shared, cached,
    failed; per kind too."""
    uses: Counter = Counter()  # job -> cells that need it
    for cell in spec_plan.cells:
        uses.update(with_inputs(spec_plan.jobs, [cell.train] + [p.job for p in cell.probes]))
    unique = list(spec_plan.jobs)
    kinds = Counter(spec_plan.jobs[j].kind for j in unique)
    return {
        "cells": len(spec_plan.cells),
        "jobs": len(unique),
        "uses": sum(uses.values()),
        "shared": sum(1 for n in uses.values() if n > 1),
        "cached": sum(1 for j in unique if j in finished),
        "failed": sum(1 for j in unique if statuses.get(j) == "failed"),
        "by_kind": {k: {"jobs": n, "cached": sum(1 for j in unique if j in finished and
                                                  spec_plan.jobs[j].kind == k)}
                    for k, n in kinds.items()},
    }


def provenance(spec_plan: Any, store: Any) -> dict:
    """What made these results: spec hash, code revision, engine versions, recorded runs."""
    from dsl.identity import IDENTITY_SCHEME
    from engine.kinds import KINDS
    from engine.store import git_revision

    runs = store.runs(spec_plan.name) if store is not None else []
    git = next((r.git for r in runs if r.git), None) or git_revision(Path(__file__).parent)
    from engine.results.provenance_html import environments

    return {
        "environments": environments(store, runs, spec_plan.jobs) if store is not None else {},
        "spec": spec_plan.name, "path": spec_plan.path, "spec_hash": spec_plan.hash,
        "git": git, "identity": IDENTITY_SCHEME,
        "engine_versions": {k: v.version for k, v in KINDS.items()},
        "store": str(getattr(store, "root", "")),
        "runs": [{"run_id": r.run_id, "started": r.started, "finished": r.finished,
                  "status": r.status, "git": r.git, "profile": r.profile,
                  "overrides": r.overrides, "same_spec": r.spec_hash == spec_plan.hash}
                 for r in runs[:20]],
    }


def _table_html(t: Table, k: int, artifact: Any, statuses: Mapping[str, str]) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in t.column_levels) if t.columns else \
        f"<th>{_e(t.value)}</th>"
    corner = _e(t.rows + (f" \\ {t.columns}" if t.columns else ""))
    out = [f"<h3>{_e(t.title)}</h3>",
           f"<p class='sub'>{_e(t.value)}: mean ± std over seeds; [have/planned] where jobs "
           "are missing; click a number for its jobs</p>",
           f"<table><tr><th>{corner}</th>{head}</tr>"]
    jobs_list = []
    for i, r in enumerate(t.row_levels):
        tds = [f"<td class='row'>{_e(r)}</td>"]
        for j, c in enumerate(t.column_levels):
            agg = t.cell(r, c)
            anchor = f"t{k}-r{i}-c{j}"
            if agg is None:
                tds.append("<td title='no cell planned here'>-</td>")
                continue
            cls = "missing" if agg["mean"] is None else "partial" if agg["missing"] else ""
            ci = "" if agg["ci_low"] is None else \
                f"95% CI [{agg['ci_low']:.4f}, {agg['ci_high']:.4f}], n={agg['n']}"
            mark = ""
            if (r, c) in t.stale:  # rests on jobs made by other code (engine.results.stale)
                cls += " stale"
                mark = f" <span class='stale-mark'>{STALE_MARK}</span>"
            tds.append(f"<td class='{cls.strip()}' title='{_e(ci)}'><a href='#{anchor}'>"
                       f"{_e(cell_text(agg))}</a>{mark}</td>")
            items = "".join(_job_li(jid, artifact, statuses) for jid in agg["jobs"])
            jobs_list.append(f"<li id='{anchor}'><b>{_e(r)} / {_e(c)}</b>: "
                             f"{len(agg['jobs'])} job(s)<ul>{items}</ul></li>")
        out.append("<tr>" + "".join(tds) + "</tr>")
    out.append("</table>")
    out += [f"<p class='note'>{_e(n)}</p>" for n in t.notes]
    out.append(f"<details><summary>Jobs behind each cell</summary><ul>{''.join(jobs_list)}"
               "</ul></details>")
    return "\n".join(out)


def _job_li(jid: str, artifact: Any, statuses: Mapping[str, str]) -> str:
    status = statuses.get(jid, "not run")
    folder = artifact(jid) if artifact else None
    link = f" <a href='{_e(folder.as_uri())}'>artifacts</a>" if folder is not None and \
        folder.is_dir() else ""
    return f"<li><code>{_e(jid)}</code> {_e(status)}{link}</li>"


def _chart_html(c: Chart) -> str:
    png = base64.b64encode(to_png(c)).decode()
    notes = "".join(f"<p class='note'>{_e(n)}</p>" for n in c.notes)
    return (f"<h3>{_e(c.title)}</h3><img class='chart' alt='{_e(c.title)}' "
            f"src='data:image/png;base64,{png}'>{notes}")


_COUNTED = ("cells", "jobs", "uses", "shared", "cached", "failed")  # the page's plan counts


def _planned_with(prov: Mapping[str, Any]) -> str:
    words = options_text(prov.get("profile"), prov.get("overrides"))
    return f"planned with {words}" if words else "full size (no --profile or --set)"


def render_page(spec_plan: Any, tables: Sequence[Table], charts: Sequence[Chart],
                counts: Mapping[str, Any], prov: Mapping[str, Any],
                statuses: Mapping[str, str] | None = None, artifact: Any = None,
                claims_html: str = "") -> str:
    """The HTML page of one spec."""
    statuses = statuses or {}
    reports = sorted([(t.report_index, _table_html(t, k, artifact, statuses))
                      for k, t in enumerate(tables)] +
                     [(c.report_index, _chart_html(c)) for c in charts])
    kinds = "".join(f"<tr><td>{_e(k)}</td><td>{v['jobs']}</td><td>{v['cached']}</td></tr>"
                    for k, v in counts["by_kind"].items())
    runs = "".join(
        f"<tr><td><code>{_e(r['run_id'])}</code></td><td>{_time(r['started'])}</td>"
        f"<td>{_time(r['finished'])}</td><td>{_e(r['status'])}</td><td>{_e(r['git'] or '-')}"
        f"</td><td>{_e(r['profile'] or '-')}</td><td>{_e(' '.join(r['overrides']) or '-')}</td>"
        f"<td>{'yes' if r['same_spec'] else 'no'}</td></tr>" for r in prov["runs"])
    versions = ", ".join(f"{k} {v}" for k, v in prov["engine_versions"].items())
    sources = "".join(f"<h3>{_e(path)}</h3><pre>{_e(text)}</pre>"
                      for path, text in (dict(spec_plan.sources) or
                                         {spec_plan.path: spec_plan.text}).items())
    body = f"""
<h1>{_e(spec_plan.title)}</h1>
<p class='sub'>spec <b>{_e(spec_plan.name)}</b> · {_e(spec_plan.path)} ·
{_e(_planned_with(prov))} · generated {_e(_time(_dt.datetime.now().timestamp()))}</p>
<h2>Plan</h2>
<table class='kv'><tr>{''.join(f"<th title='{_e(WORDS[w])}'>{w}</th>" for w in _COUNTED)}
</tr><tr>{''.join(f"<td>{counts[w]}</td>" for w in _COUNTED)}</tr></table>
<details><summary>what the counts mean</summary><table class='kv'>{''.join(
    f"<tr><th>{w}</th><td>{_e(WORDS[w])}</td></tr>" for w in _COUNTED)}</table></details>
<details><summary>by kind</summary><table class='kv'><tr><th>kind</th><th>jobs</th>
<th>cached</th></tr>{kinds}</table></details>
<h2>Results</h2>
{''.join(h for _, h in reports) or '<p>This spec has no [[report]].</p>'}
{claims_html}
<h2>Provenance</h2>
<table class='kv'>
<tr><th>spec hash</th><td><code>{_e(prov['spec_hash'])}</code></td></tr>
<tr><th>code revision (git)</th><td><code>{_e(prov['git'] or 'unknown')}</code></td></tr>
<tr><th>engine versions</th><td>{_e(versions)}</td></tr>
<tr><th>job identity</th><td>{_e(prov['identity'])}</td></tr>
<tr><th>store</th><td>{_e(prov['store'])}</td></tr></table>
{stale_html(prov.get('stale'), spec_plan.path)}
{environment_html(prov.get('environments') or {})}
<h3>Runs of this spec</h3>
{('<table><tr><th>run</th><th>started</th><th>finished</th><th>status</th><th>git</th>'
  '<th>profile</th><th>--set</th><th>same spec</th></tr>' + runs + '</table>')
 if runs else '<p>No recorded run.</p>'}
<h2>Spec</h2>
{sources}
"""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(spec_plan.title)}"
            f"</title><style>{_CSS}</style></head><body>{body}<script>{_JS}</script>"
            "</body></html>\n")


def spec_page(spec_plan: Any, store: Any, profile: str | None = None,
              overrides: Sequence[str] = ()) -> str:
    """The page of one spec, with results from the store (planned with `profile`/`overrides`,
    which the page names: smoke numbers must not pass for full-size ones)."""
    cells, metrics, statuses = spec_inputs(spec_plan, store)
    from engine.results.tables import build_tables

    tables = build_tables(cells, spec_plan.reports, metrics, statuses, spec=spec_plan.name)
    note = options_note(spec_plan, store, statuses)
    for t in tables if note else ():
        t.notes.append(note)
    stale = stale_view(store, statuses)
    mark_tables(tables, stale, spec_plan.path)
    charts = spec_charts(spec_plan, store)
    all_status = {jid: rec.status for jid, rec in store.jobs(list(spec_plan.jobs)).items()}
    finished = store.finished(spec_plan.jobs)
    return render_page(spec_plan, tables, charts, plan_counts(spec_plan, finished, all_status),
                       {**provenance(spec_plan, store), "profile": profile,
                        "overrides": list(overrides), "stale": stale},
                       {**all_status, **statuses},
                       store.paths.artifact, claims_html=_claims_html(spec_plan, cells, metrics,
                                                                      statuses))


def _claims_html(spec_plan: Any, cells, metrics, statuses) -> str:
    from engine.results.claims import judge_claims, to_html

    claims = list((spec_plan.resolved or {}).get("claim") or [])
    return to_html(judge_claims(cells, claims, metrics, statuses)) if claims else ""


def _options_by_spec(source: Any, profile: str | None, overrides: Sequence[str]) -> dict:
    """spec name -> (profile, overrides) its page names: a Plan's own (each of a list of Plans
    may have its own), else those given."""
    from dsl.graph import Plan

    plans = [source] if isinstance(source, Plan) else \
        [p for p in source if isinstance(p, Plan)] if isinstance(source, (list, tuple)) else []
    return {sp.name: (p.profile, tuple(p.overrides)) for p in plans for sp in p.specs}


def report(paths_or_plan: Any, out_dir: str | os.PathLike, *, store: Any = None,
           profile: str | None = None, overrides: Sequence[str] = (),
           data_root: Any = None) -> list[Path]:
    """Write <out_dir>/<spec>.html for every spec (and index.html when there are several).

    `paths_or_plan`: spec paths, a Plan, or a list of Plans (each page then names its own
    Plan's --profile and --set, as `dsl report` plans each spec with its last run's options)."""
    from dsl.outputs import output_path, write_output

    st = open_store(store)
    written = []
    plans = spec_plans(paths_or_plan, profile, overrides, st, data_root)
    made_with = _options_by_spec(paths_or_plan, profile, overrides)
    for sp in plans:
        path = output_path(out_dir, f"{sp.name}.html")
        written.append(write_output(path, spec_page(sp, st, *made_with.get(sp.name,
                                                                          (profile, overrides)))))
    if len(plans) > 1:
        rows = "".join(_index_row(p.name, sp, st, *made_with.get(sp.name, (profile, overrides)))
                       for p, sp in zip(written, plans))
        index = write_output(output_path(out_dir, "index.html"), (
            f"<!doctype html><html><head><meta charset='utf-8'><title>Reports"
            f"</title><style>{_CSS}</style></head><body><h1>Reports</h1>"
            "<table class='kv'><tr><th>spec</th><th>results</th><th>shown with"
            "</th><th>last run</th><th>its options</th><th>its status</th></tr>"
            f"{rows}</table></body></html>\n"))
        written.append(index)
    return written


def _index_row(page: str, spec_plan: Any, store: Any, profile: str | None,
               overrides: Sequence[str]) -> str:
    """One spec in the index: whether the store has its results (under the options the page
    shows), and its last recorded run: when, with which options, how it ended."""
    done = len(store.finished(spec_plan.jobs))
    total = len(spec_plan.jobs)
    results = "none yet" if not done else "all" if done == total else f"{done} of {total} jobs"
    shown = options_text(profile, overrides) or "full size"
    last = next(iter(store.runs(spec_plan.name)), None)
    run = (f"<code>{_e(last.run_id)}</code> {_e(_time(last.started))}", _e(
        options_text(last.profile, last.overrides) or "full size"), _e(last.status or "?")) \
        if last is not None else ("never run", "-", "-")
    return (f"<tr><td><a href='{_e(page)}'>{_e(spec_plan.title)}</a> ({_e(spec_plan.name)})</td>"
            f"<td>{_e(results)}</td><td>{_e(shown)}</td><td>{run[0]}</td><td>{run[1]}</td>"
            f"<td>{run[2]}</td></tr>")
