"""[[report]] tables on hand-made cells and metrics, and through the planner and a store."""

import io
import json
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from engine.results.frame import long_frame, select, slots
from engine.results.tables import build_tables, render, table

sys.path.insert(0, str(Path(__file__).parent))
from results_fake import complete_plan  # noqa: E402

SOURCES = ["C", "C+O", "O"]
TARGETS = ["C", "O"]


def _metrics(rows):
    return pl.DataFrame(rows, schema={"job_id": pl.String, "name": pl.String,
                                      "split": pl.String, "value": pl.Float64}, orient="row")


def _table1(seeds=(0, 1, 2), skip=()):
    """Cells of a Table 1-like spec: source x target factors, one linear probe."""
    cells, rows = [], []
    for seed in seeds:
        for s in SOURCES:
            for t in TARGETS:
                tj, pj = f"train-{seed}{s}", f"linear-{seed}{s}{t}"
                cells.append({"seed": seed, "factors": {"source": s, "target": t}, "train": tj,
                              "probes": [{"name": "linear", "kind": "linear", "job": pj,
                                          "derived": {}}], "derived": {}})
                if (seed, s, t) not in skip:
                    acc = 0.5 + 0.1 * SOURCES.index(s) + 0.01 * TARGETS.index(t) + 0.001 * seed
                    rows += [(pj, "accuracy", "test", acc), (pj, "accuracy", "val", acc - 0.2),
                             (pj, "loss", "test", 1.0)]
                rows.append((tj, "accuracy", "test", 0.99))
    return cells, _metrics(rows)


TABLE1 = {"title": "Table 1", "table": {"rows": "source", "columns": "target",
                                        "value": "linear.accuracy"}}


def test_table1_layout_rows_source_columns_target():
    cells, metrics = _table1()
    [t] = build_tables(cells, [TABLE1], metrics, spec="adv")
    assert t.row_levels == SOURCES and t.column_levels == TARGETS
    d = t.display()
    assert d.columns == ["source", "C", "O"]
    assert d["source"].to_list() == SOURCES
    # each number is the mean over the three seeds of the test split
    agg = t.cell("C+O", "O")
    expected = [0.5 + 0.1 + 0.01 + 0.001 * s for s in range(3)]
    assert agg["mean"] == pytest.approx(np.mean(expected))
    assert agg["std"] == pytest.approx(np.std(expected, ddof=1))
    assert agg["n"] == 3 and sorted(agg["jobs"]) == [f"linear-{s}C+OO" for s in range(3)]
    assert d.filter(pl.col("source") == "C+O")["O"].item() == "0.611 ± 0.001"
    # an explicit split reads that split
    [val] = build_tables(cells, [{"table": {**TABLE1["table"], "value": "linear.accuracy@val"}}],
                         metrics)
    assert val.cell("C+O", "O")["mean"] == pytest.approx(np.mean(expected) - 0.2)


def test_missing_cells_are_shown_not_dropped():
    cells, metrics = _table1(skip={(0, "O", "O"), (1, "O", "O"), (2, "O", "O"), (2, "C", "C")})
    statuses = {"linear-0OO": "failed", "linear-1OO": "skipped"}
    [t] = build_tables(cells, [TABLE1], metrics, statuses)
    assert t.row_levels == SOURCES and t.column_levels == TARGETS
    assert t.text("O", "O") == "missing (failed 1, skipped 1, not run 1)"
    partial = t.cell("C", "C")
    assert partial["n"] == 2 and partial["missing"] == 1 and t.text("C", "C").endswith("[2/3]")
    md = render([t], "md")
    assert "missing (failed 1, skipped 1, not run 1)" in md
    long = pl.read_csv(io.StringIO(render([t], "csv")))
    assert long.height == 6  # every planned position, the missing one included
    row = long.filter((pl.col("row") == "O") & (pl.col("column") == "O"))
    assert row["mean"].is_null().all() and row["missing"].item() == 3


def test_transform_relation_groups_same_other_none_as_rows():
    """Table 2: rows = transform_relation pools every (train, probed) transform pair."""
    cells, rows = [], []
    tfs = ["rotate", "hue", "blur"]
    sens = {"same": 0.1, "other": 0.6, "none": 0.9}
    for seed in (0, 1):
        for train in ["none"] + tfs:
            for probed in tfs:
                rel = "none" if train == "none" else "same" if train == probed else "other"
                key = f"{seed}{train}{probed}"
                probes = []
                for name in ("in_dist", "shifted"):
                    jid = f"sensitivity-{name}{key}"
                    probes.append({"name": name, "kind": "sensitivity", "job": jid, "derived": {
                        "train_transforms": [] if train == "none" else [train],
                        "probe_transforms": [probed], "transform_relation": rel}})
                    rows.append((jid, "sensitivity", None,
                                 sens[rel] + 0.01 * seed + (0.2 if name == "shifted" else 0)))
                cells.append({"seed": seed, "factors": {"transform": train, "probed": probed},
                              "train": f"train-{seed}{train}", "probes": probes, "derived": {}})
    report = {"table": {"rows": "transform_relation", "columns": "probe",
                        "value": "sensitivity"}}
    [t] = build_tables(cells, [report], _metrics(rows))
    assert t.row_levels == ["same", "other", "none"]  # the paper's order
    assert t.column_levels == ["in_dist", "shifted"]
    same = t.cell("same", "in_dist")
    assert same["mean"] == pytest.approx(np.mean([0.1, 0.11]))
    assert same["n"] == 2 and same["expected"] == 6  # 3 transforms x 2 seeds pooled
    assert t.cell("other", "shifted")["mean"] == pytest.approx(np.mean([0.8, 0.81]))
    # filter keeps one probe: one column
    [f] = build_tables(cells, [{**report, "filter": {"probe": "shifted"}}], _metrics(rows))
    assert f.column_levels == ["shifted"]


def test_excluded_combination_reads_not_planned_and_formats_round_trip(tmp_path):
    cells, metrics = _table1()
    cells = [c for c in cells if c["factors"] != {"source": "O", "target": "C"}]
    [t] = build_tables(cells, [TABLE1], metrics, spec="adv")
    assert t.text("O", "C") == "-"
    doc = json.loads(render([t], "json"))
    assert doc["format"] == "dsl.tables/1"
    [jt] = doc["tables"]
    assert (jt["rows"], jt["columns"], jt["value"]) == ("source", "target", "linear.accuracy")
    assert len(jt["cells"]) == 5 and jt["cells"][0]["row"] == "C"
    pq = tmp_path / "t.parquet"
    pq.write_bytes(render([t], "parquet"))
    assert pl.read_parquet(pq).height == 5
    assert "source \\ target" in render([t], "terminal")


def test_bare_metric_and_train_metric_and_long_frame():
    cells, metrics = _table1(seeds=(0,))
    sel = select(cells, metrics, "train.accuracy")
    assert sel.height == 6 and set(sel["value"].to_list()) == {0.99}
    assert select(cells, metrics, "accuracy")["probe"].unique().to_list() == ["linear"]
    lf = long_frame(cells, metrics)
    assert {"seed", "source", "target", "probe", "metric", "split", "value"} <= set(lf.columns)
    assert slots(cells).height == 12  # 6 cells x (train + linear)


def test_a_value_prefers_the_test_split_and_says_why_a_number_is_missing():
    cells, _ = _table1(seeds=(0,))
    ids = [c["probes"][0]["job"] for c in cells]
    # job 0 reports accuracy both on test and without a split: the test value is the one read;
    # job 1 only without a split; job 2 finished without the metric; job 3 failed; the rest never ran
    metrics = _metrics([(ids[0], "accuracy", None, 0.1), (ids[0], "accuracy", "test", 0.7),
                        (ids[0], "accuracy", "val", 0.3), (ids[1], "accuracy", None, 0.4),
                        (ids[2], "loss", "test", 1.0)])
    sel = select(cells, metrics, "linear.accuracy", {ids[2]: "done", ids[3]: "failed"})
    got = {j: (v, s) for j, v, s in zip(sel["job"], sel["value"], sel["status"])}
    assert sel.height == 6
    assert got[ids[0]] == (0.7, "ok") and got[ids[1]] == (0.4, "ok")
    assert got[ids[2]] == (None, "no metric") and got[ids[3]] == (None, "failed")
    assert got[ids[4]] == (None, "not run")
    assert select(cells, metrics, "linear.accuracy@val")["value"].to_list() == [0.3] + [None] * 5


def test_slots_keep_one_type_per_factor_and_inherit_the_cell_s_transforms():
    from engine.results.frame import apply_filter

    def cell(seed, scale, tfs, probe_derived):
        return {"seed": seed, "factors": {"scale": scale, "tag": scale}, "train": f"train-{seed}{scale}",
                "probes": [{"name": "lin", "kind": "linear", "job": f"linear-{seed}{scale}",
                            "derived": probe_derived}], "derived": {"train_transforms": tfs}}

    cells = [cell(0, 1, ["hue", "rotate"], {}),
             cell(0, 0.5, [], {"train_transforms": ["blur"], "probe_transforms": ["hue"]}),
             cell(0, "all", ["hue", "rotate"], {})]
    s = slots(cells[:2])
    assert s.schema["scale"] == pl.Float64 and s["scale"].to_list() == [1.0, 1.0, 0.5, 0.5]
    assert slots(cells)["scale"].to_list() == ["1", "1", "0.5", "0.5", "all", "all"]
    # a probe without its own train_transforms reads its cell's
    probes = s.filter(pl.col("probe") == "lin")
    assert probes["train_transforms"].to_list() == ["hue+rotate", "blur"]
    assert probes["probe_transforms"].to_list() == [None, "hue"]
    # a filter value that is a list names one list-valued level, written as it is shown
    kept = apply_filter(s, {"train_transforms": [["hue", "rotate"]]})
    assert kept["job"].to_list() == ["train-01", "linear-01"]
    assert apply_filter(s, {"scale": 0.5})["job"].to_list() == ["train-00.5", "linear-00.5"]


def test_numbers_are_formatted_with_their_mean_s_precision():
    from engine.results.tables import cell_text, fmt_number

    assert fmt_number(0.6431) == "0.643" and fmt_number(0.0042) == "0.0042"
    assert fmt_number(0.0004, like=0.5) == "0.000"  # a spread reads at its mean's precision
    assert fmt_number(1234.5) == "1.23e+03" and fmt_number(None) == "?"
    agg = {"mean": 0.5, "std": 0.0004, "missing": 0, "expected": 3}
    assert cell_text(agg) == "0.500 ± 0.000"


def test_one_seed_note_only_when_no_position_has_two_and_csv_lists_every_job():
    cells, metrics = _table1(skip={(1, "C", "C"), (2, "C", "C")})
    [t] = build_tables(cells, [TABLE1], metrics)
    assert t.cell("C", "C")["n"] == 1 and not any("one seed" in n for n in t.notes)
    long = pl.read_csv(io.StringIO(render([t], "csv")))
    jobs = long.filter((pl.col("row") == "C+O") & (pl.col("column") == "O"))["jobs"].item()
    assert sorted(jobs.split(" ")) == [f"linear-{s}C+OO" for s in range(3)]
    # a table without columns has one column per row, written as null in json
    [rows_only] = build_tables(cells, [{"table": {"rows": "source", "value": "linear.accuracy"}}],
                               metrics)
    doc = json.loads(render([rows_only], "json"))["tables"][0]
    assert doc["column_levels"] == [] and {c["column"] for c in doc["cells"]} == {None}


def test_the_options_note_points_to_the_last_run_that_made_jobs(tmp_path):
    import dataclasses

    import fake_kinds
    from engine.results.tables import options_note
    from engine.store import Store

    store = Store(tmp_path / "store")
    spec = fake_kinds.make_plan(None, 1).specs[0]
    assert options_note(spec, store, {}) is None  # never run: nothing to point to
    store.record_run(spec, "smoke", ["train.epochs=1"])
    store.record_run(dataclasses.replace(spec, cells=()), "other")  # a later run with no jobs
    note = options_note(spec, store, {})
    assert note is not None and "--profile smoke --set train.epochs=1" in note
    assert options_note(spec, store, {"some-job": "done"}) is None  # its jobs are here


SPEC = """
[spec]
title = "Tiny"
seeds = 2
[draw]
objs = { objects = 4 }
[task.src]
data = { kind = "transforms2d", objects = "objs", transforms = "{tf}", resolution = 16 }
n_train = 64
n_val = 16
n_test = 16
[task.tgt]
data = { kind = "transforms2d", objects = "objs", transforms = ["rotate"], resolution = 16 }
n_train = 64
n_val = 16
n_test = 16
[factors]
tf = ["rotate", "hue"]
[train]
task = "src"
arch = "small_cnn"
epochs = 1
[[probe]]
kind = "linear"
task = "tgt"
epochs = 2
[[report]]
title = "Accuracy"
table = { rows = "tf", columns = "probe", value = "linear.accuracy" }
[[report]]
table = { rows = "transform_relation", value = "linear.accuracy" }
"""


def test_table_through_planner_and_store(tmp_path, capsys):
    from dsl.cli import main
    from dsl.planner import plan
    from engine.results.tables import print_spec_tables
    from engine.store import Store

    spec = tmp_path / "tiny.toml"
    spec.write_text(SPEC)
    store = Store(tmp_path / "store")
    p = plan([spec])
    complete_plan(store, p, value=lambda job, m, s: 0.8 if job.kind == "linear" else 0.3,
                  fail=lambda job: job.kind == "linear" and job.config["seed"] == 1)
    tables = table(spec, store=store)
    assert [t.title for t in tables] == ["Accuracy", "linear.accuracy by transform_relation"]
    assert tables[0].row_levels == ["rotate", "hue"]
    assert tables[0].text("rotate", "linear") == "0.800 [1/2]"
    assert tables[1].row_levels == ["same", "other"]
    print_spec_tables(p.specs[0], store)
    assert "0.800 [1/2]" in capsys.readouterr().out
    assert main(["table", str(spec), "--store", str(store.root), "-f", "md"]) == 0
    out = capsys.readouterr().out
    assert "| rotate | 0.800 [1/2] |" in out


def test_one_seed_is_said_and_results_of_other_options_are_pointed_to(tmp_path):
    from dsl.planner import plan
    from engine.results.charts import chart
    from engine.store import Store

    cells, metrics = _table1(seeds=(0,))
    [t] = build_tables(cells, [TABLE1], metrics)
    assert t.text("C", "C") == "0.500" and any("one seed" in n for n in t.notes)
    assert "one seed" in render([t], "md")
    # md heads each table with its spec, as the terminal does: several specs' tables differ
    [named] = build_tables(cells, [TABLE1], metrics, spec="adv")
    assert render([named], "md").startswith("### adv: Table 1\n")
    cells3, metrics3 = _table1()
    [t3] = build_tables(cells3, [TABLE1], metrics3)
    assert not any("one seed" in n for n in t3.notes)

    spec = tmp_path / "tiny.toml"
    spec.write_text(SPEC + '[[report]]\nchart = { x = "tf", y = "linear.accuracy", '
                           'kind = "bar" }\n')
    store = Store(tmp_path / "store")
    p = plan([spec], profile="smoke")
    complete_plan(store, p)
    store.record_run(p.specs[0], profile="smoke", overrides=["train.epochs=1"])
    full = table(spec, store=store)  # planned without the profile: none of these jobs ran
    assert full[0].text("rotate", "linear").startswith("missing (not run")
    assert any("--profile smoke --set train.epochs=1" in n for n in full[0].notes)
    [c] = chart(spec, store=store)
    assert any("--profile smoke" in n for n in c.notes)
    assert any("--profile smoke" in s for s in c.vegalite()["title"]["subtitle"])  # in the PNG
    smoke = table(spec, store=store, profile="smoke")
    assert not any("--profile smoke" in n for n in smoke[0].notes)


def test_a_table_wider_than_the_terminal_is_pointed_to_not_cut(tmp_path):
    """Table 2's 18 probed transforms as columns: in 80 characters rich would cut every cell to
    '…'. After `dsl run` the terminal gets a line saying where the table fits; `dsl table`
    renders it as wide as it needs."""
    from rich.console import Console

    from dsl.planner import plan
    from engine.results.tables import natural_width, print_spec_tables
    from engine.store import Store

    probed = [f"transform_{i}" for i in range(18)]
    cells, rows = [], []
    for seed in (0, 1):
        for p in probed:
            job = f"linear-{seed}-{p}"
            cells.append({"seed": seed, "factors": {"source": "C", "target": p}, "train": "t",
                          "probes": [{"name": "linear", "kind": "linear", "job": job,
                                      "derived": {}}], "derived": {}})
            rows.append((job, "accuracy", "test", 0.5 + 0.01 * seed))
    wide = build_tables(cells, [TABLE1], _metrics(rows))[0]
    text = render([wide], "terminal")
    assert natural_width(wide) > 200 and "…" not in text
    assert all(p in text for p in probed) and text.count("0.505 ± 0.007") == 18

    spec = tmp_path / "tiny.toml"
    spec.write_text(SPEC)
    store = Store(tmp_path / "store")
    p = plan([spec])
    complete_plan(store, p, value=lambda job, m, s: 0.8 if job.kind == "linear" else 0.3)
    for width, fits in ((200, True), (20, False)):
        buf = io.StringIO()
        print_spec_tables(p.specs[0], store, Console(file=buf, width=width, highlight=False))
        out = buf.getvalue()
        assert ("0.800" in out) == fits
        assert ("wider than this terminal's 20 characters" in out) != fits
        if not fits:
            assert f"dsl table {p.specs[0].path} --format md" in out.replace("\n", " ")
