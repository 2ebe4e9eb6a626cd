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
    assert "the last run of &#x27;tiny&#x27;" in page and "used --profile smoke" in page


def test_plan_counts_jobs_shared_between_cells_cached_and_failed():
    """Two cells on one training job, each probe reading one shared target dataset: 8 uses of 5
    jobs, 3 of which (the training job, its data, the target data) both cells need."""
    from dsl.graph import Cell, Job, ProbeRef, SpecPlan
    from engine.results.report import plan_counts

    src = Job.make("dataset", "1", {"d": "src"})
    tgt = Job.make("dataset", "1", {"d": "tgt"})
    model = Job.make("train", "1", {"t": 0}, {"data": src.id})
    probes = [Job.make("linear", "1", {"p": i}, {"model": model.id, "data": tgt.id})
              for i in range(2)]
    jobs = {j.id: j for j in (src, tgt, model, *probes)}
    cells = tuple(Cell("s", 0, {"i": i}, model.id, (ProbeRef("lin", "linear", p.id),))
                  for i, p in enumerate(probes))
    spec = SpecPlan(name="s", path=None, text="", hash="0" * 16, title="s", cells=cells,
                    jobs=jobs, reports=())
    counts = plan_counts(spec, {src.id, model.id}, {probes[1].id: "failed"})
    assert (counts["cells"], counts["jobs"], counts["uses"], counts["shared"]) == (2, 5, 8, 3)
    assert counts["shared"] <= counts["jobs"] <= counts["uses"]
    assert (counts["cached"], counts["failed"]) == (2, 1)
    assert counts["by_kind"]["dataset"]["jobs"] == 2 and counts["by_kind"]["dataset"]["cached"] == 1
