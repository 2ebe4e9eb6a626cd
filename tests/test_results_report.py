"""The HTML report of a planned spec with results in a store."""

import base64
import re
import sys
from pathlib import Path

from test_results_tables import SPEC

sys.path.insert(0, str(Path(__file__).parent))
from results_fake import complete_plan  # noqa: E402

CHART = """
[[report]]
title = "Accuracy chart"
chart = { x = "tf", y = "linear.accuracy", kind = "bar" }
"""


def test_report_page_is_self_contained_and_links_cells_to_jobs(tmp_path):
    from dsl.cli import main
    from dsl.planner import plan
    from engine.kinds import KINDS
    from engine.store import Store

    spec = tmp_path / "tiny.toml"
    spec.write_text(SPEC + CHART)
    store = Store(tmp_path / "store")
    p = plan([spec])
    complete_plan(store, p, fail=lambda job: job.kind == "linear" and job.config["seed"] == 1)
    run_id = store.record_run(p.specs[0])
    out = tmp_path / "out"
    assert main(["report", str(spec), "--store", str(store.root), "-o", str(out)]) == 0
    page = (out / "tiny.html").read_text()
    sp = p.specs[0]
    assert "<h1>Tiny</h1>" in page
    assert "[[report]]" in page and "arch = &quot;small_cnn&quot;" in page  # the spec text
    assert sp.hash in page and run_id in page
    assert all(f"{k} {v.version}" in page for k, v in KINDS.items())
    # plan counts: every job of the spec is in the store (two failed)
    assert f"<td>{len(sp.jobs)}</td>" in page and "<td>2</td></tr></table>" in page
    # each table cell links to the list of its jobs
    links = re.findall(r"<a href='#(t\d+-r\d+-c\d+)'>", page)
    assert links and all(f"id='{a}'" in page for a in links)
    linear_jobs = [p_.job for c in sp.cells for p_ in c.probes]
    assert all(j in page for j in linear_jobs)
    assert "failed" in page
    # the chart is an embedded PNG, and no external resource is loaded
    [png] = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    assert base64.b64decode(png)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "http://" not in page and "https://" not in page


def test_report_page_names_the_profile_and_points_to_runs_made_with_other_options(tmp_path):
    from dsl.planner import plan
    from engine.results.report import report
    from engine.store import Store

    spec = tmp_path / "tiny.toml"
    spec.write_text(SPEC + CHART)
    store = Store(tmp_path / "store")
    p = plan([spec], profile="smoke")
    complete_plan(store, p)
    store.record_run(p.specs[0], profile="smoke")
    [smoke] = report(spec, tmp_path / "smoke", store=store, profile="smoke")
    page = smoke.read_text()
    assert "planned with --profile smoke" in page and "none of these jobs" not in page
    [full] = report(spec, tmp_path / "full", store=store)
    page = full.read_text()
    assert "full size (no --profile or --set)" in page
    assert "its last run of &#x27;tiny&#x27;" in page and "used --profile smoke" in page
