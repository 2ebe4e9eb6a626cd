"""`dsl diff`: spec, plan and results differences, for files, git revisions and recorded runs."""

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from engine.results.diff import compare, diff, flatten, plan_diff, results_diff
from dsl.planner import plan
from engine.store import Store

sys.path.insert(0, str(Path(__file__).parent))
from results_fake import complete_plan, noise  # noqa: E402

BASE = """
[spec]
title = "Tiny base"
seeds = 3
[train]
arch = "small_cnn"
epochs = 1
batch_size = 32
"""

SPEC = """
[spec]
title = "Tiny"
extends = "{extends}"
[draw]
objs = {{ objects = 4 }}
[task.src]
data = {{ kind = "transforms2d", objects = "objs", transforms = "{{tf}}", resolution = 16 }}
n_train = 64
n_val = 16
n_test = 16
[task.tgt]
data = {{ kind = "transforms2d", objects = "objs", transforms = ["rotate"], resolution = 16 }}
n_train = 64
n_val = 16
n_test = 16
[factors]
tf = {levels}
[train]
task = "src"
[[probe]]
kind = "linear"
task = "tgt"
epochs = 2
[[report]]
table = {{ rows = "tf", columns = "probe", value = "linear.accuracy" }}
"""


def _write(folder: Path, levels='["rotate", "hue"]', base=BASE, extends="_base.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "_base.toml").write_text(base)
    spec = folder / "tiny.toml"
    spec.write_text(SPEC.format(levels=levels, extends=extends))
    return spec


def _value(shift=0.0, spread=0.02):
    """Linear accuracy 0.7 (+ shift for models trained 2 epochs), with per-job noise."""
    def value(job, metric, split):
        base = 0.7 + (shift if job.kind == "linear" else 0.0)
        return base + spread * noise(f"{job.id}{metric}{split}")
    return value


def test_flatten_paths():
    flat = flatten({"train": {"epochs": 2}, "probe": [{"kind": "linear", "epochs": 5}],
                    "factors": {"tf": ["a", "b"]}, "task": {"C+O->C": {"n_train": 3}}})
    assert flat == {"train.epochs": 2, "probe[0].kind": "linear", "probe[0].epochs": 5,
                    "factors.tf": ["a", "b"], 'task."C+O->C".n_train': 3}


def test_compare_paired_and_welch():
    from scipy import stats
    a, b = {0: 0.5, 1: 0.6, 2: 0.7}, {0: 0.6, 1: 0.72, 2: 0.79}
    r = compare(a, b, ci="t")
    d = [0.1, 0.12, 0.09]
    ref = stats.ttest_rel(list(b.values()), list(a.values())).confidence_interval(0.95)
    assert r["paired"] and r["delta"] == pytest.approx(sum(d) / 3)
    assert (r["ci_low"], r["ci_high"]) == (pytest.approx(ref.low), pytest.approx(ref.high))
    w = compare(a, {3: 0.6, 4: 0.72, 5: 0.79, 6: 0.7}, ci="t")
    ref = stats.ttest_ind([0.6, 0.72, 0.79, 0.7], [0.5, 0.6, 0.7],
                          equal_var=False).confidence_interval(0.95)
    assert not w["paired"]
    assert (w["ci_low"], w["ci_high"]) == (pytest.approx(ref.low), pytest.approx(ref.high))


def test_factor_level_added_new_cells_appear_shared_unchanged(tmp_path):
    a = _write(tmp_path / "a")
    b = _write(tmp_path / "b", levels='["rotate", "hue", "blur"]')
    store = Store(tmp_path / "store")
    complete_plan(store, plan([a]), value=_value())
    complete_plan(store, plan([b]), value=_value())
    r = diff(a, b, store=store)
    assert r.spec.rows() == [("factors.tf", "changed", '["rotate", "hue"]',
                              '["rotate", "hue", "blur"]')]
    assert r.plan.only_a == [] and len(r.plan.only_b) > 0
    assert r.plan.changes.height == 0  # nothing shared changed: new jobs only
    assert {j.rsplit("-", 1)[0] for j in r.plan.only_b} == {"dataset", "train", "features",
                                                            "linear"}
    res = r.results
    new = res.filter(pl.col("status") == "only in B")
    assert set(new["cell"].to_list()) == {"tf=blur"}
    shared = res.filter(pl.col("cell") != "tf=blur")
    assert set(shared["status"].to_list()) == {"same jobs"}
    assert shared["delta"].abs().max() == 0.0
    assert r.cells_only_b.height == new.height and r.cells_only_a.height == 0
    md = r.to_markdown()
    assert "### Cells only in B" in md and "- tf=blur" in md


def test_training_parameter_change_is_named_and_results_flagged(tmp_path):
    a = _write(tmp_path / "a")
    b = _write(tmp_path / "b", base=BASE.replace("epochs = 1", "epochs = 2"))
    store = Store(tmp_path / "store")
    complete_plan(store, plan([a]), value=_value())
    complete_plan(store, plan([b]), value=_value(shift=0.1))
    r = diff(a, b, store=store)
    assert ("train.epochs", "changed", "1", "2") in r.spec.rows()
    reasons = r.plan.reasons().rows()
    assert reasons == [("train", "epochs", "1", "2", 6)]  # 2 levels x 3 seeds
    # probes changed only through their model: explained by the train field, with the path
    roles = set(r.plan.changes["role"].to_list())
    assert {"train", "probe linear/features/model"} <= roles
    assert len(r.plan.shared) > 0  # datasets do not depend on training
    acc = r.results.filter((pl.col("probe") == "linear") & (pl.col("metric") == "accuracy") &
                           (pl.col("split") == "test"))
    assert acc.height == 2 and set(acc["status"].to_list()) == {"changed"}
    assert acc["paired"].all() and acc["delta"].to_list() == pytest.approx([0.1, 0.1], abs=0.03)
    train = r.results.filter(pl.col("probe") == "train")
    assert set(train["status"].to_list()) <= {"within noise", "changed"}
    doc = r.to_json()
    assert doc["format"] == "dsl.diff/1"
    assert set(doc) == {"format", "a", "b", "spec", "plan", "results", "notes"}
    assert doc["plan"]["reasons"] == [{"kind": "train", "field": "epochs", "old": 1, "new": 2,
                                       "jobs": 6}]
    assert doc["spec"][0]["old"] == 1 and doc["results"]["counts"]["changed"] >= 2


def _git(repo, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo,
                   check=True, capture_output=True)


def test_diff_between_git_revisions_keeps_extends_working(tmp_path):
    repo = tmp_path / "repo"
    (repo / "bases").mkdir(parents=True)
    (repo / "bases" / "_base.toml").write_text(BASE)
    spec = _write(repo / "specs", extends="../bases/_base.toml")
    (repo / "specs" / "_base.toml").unlink()
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "one epoch")
    (repo / "bases" / "_base.toml").write_text(BASE.replace("epochs = 1", "epochs = 3"))
    _git(repo, "commit", "-q", "-am", "three epochs")
    spec.write_text(spec.read_text().replace('"hue"]', '"hue", "blur"]'))  # uncommitted
    store = Store(tmp_path / "store")
    r = diff(f"{spec}@HEAD~1", f"{spec}@HEAD", store=store)
    assert r.a.source == "git" and r.a.name == "tiny"
    assert r.spec.rows() == [("train.epochs", "changed", "1", "3")]
    assert r.plan.reasons().rows() == [("train", "epochs", "1", "3", 6)]
    assert set(r.results["status"].to_list()) == {"no results"}
    # the working file differs from HEAD by the added level, not by epochs
    w = diff(f"{spec}@HEAD", spec, store=store)
    assert w.spec["path"].to_list() == ["factors.tf"]
    with pytest.raises(Exception, match="git"):
        diff(f"{spec}@no-such-rev", spec, store=store)


def test_one_argument_compares_file_with_last_run(tmp_path, capsys):
    from dsl.cli import main

    spec = _write(tmp_path / "s")
    store = Store(tmp_path / "store")
    p = plan([spec])
    complete_plan(store, p, value=_value())
    run_id = store.record_run(p.specs[0])
    spec.write_text(spec.read_text().replace("epochs = 2", "epochs = 5"))  # the probe's
    r = diff(spec, store=store)
    assert r.a.source == "run" and r.a.run_id == run_id and r.b.source == "file"
    assert r.spec["path"].to_list() == ["probe[0].epochs"]
    assert r.plan.reasons().rows() == [("linear", "epochs", "2", "5", 6)]
    assert set(r.results.filter(pl.col("probe") == "train")["status"].to_list()) == \
        {"same jobs"}
    # a run id works as a side, and the CLI writes md, json, csv and a chart
    assert main(["diff", run_id[:12], str(spec), "--store", str(store.root), "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["a"]["run_id"] == run_id
    png = tmp_path / "delta.png"
    assert main(["diff", str(spec), "--store", str(store.root), "-f", "csv",
                 "--chart", str(png)]) == 0
    assert capsys.readouterr().out.startswith("cell,factors,probe,metric,split")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["diff", "nope", "--store", str(store.root)]) == 2


def test_added_probe_is_a_probe_only_in_b_not_a_new_cell(tmp_path):
    a = _write(tmp_path / "a")
    b = _write(tmp_path / "b")
    b.write_text(b.read_text().replace("[[report]]", '[[probe]]\nname = "src"\n'
                                       'kind = "accuracy"\n[[report]]'))
    store = Store(tmp_path / "store")
    complete_plan(store, plan([a]), value=_value())
    complete_plan(store, plan([b]), value=_value())
    r = diff(a, b, store=store)
    assert r.cells_only_b.height == 0 and r.cells_only_a.height == 0
    assert set(r.probes_only_b["probe"].to_list()) == {"src"}
    assert set(r.probes_only_b["cell"].to_list()) == {"tf=rotate", "tf=hue"}
    md = r.to_markdown()
    assert "Cells only in B" not in md
    assert "### Probes only in B" in md and "- src: 2 cell(s) (tf=rotate, tf=hue)" in md


def test_markdown_shows_seed_counts_and_puts_the_reported_value_first(tmp_path):
    a = _write(tmp_path / "a")
    b = _write(tmp_path / "b", base=BASE.replace("epochs = 1", "epochs = 2"))
    store = Store(tmp_path / "store")
    pa, pb = plan([a]), plan([b])
    complete_plan(store, pa, value=_value())
    # B's linear probe of one cell (tf=rotate, seed 1) failed: B has 2 of 3 seeds there
    cell = next(c for c in pb.specs[0].cells if c.seed == 1 and c.factors["tf"] == "rotate")
    failed = cell.probes[0].job
    # train deltas (+0.5) dwarf the reported value's (+0.1): they must not bury it
    value = _value(shift=0.1)
    complete_plan(store, pb, fail=lambda job: job.id == failed,
                  value=lambda job, m, s: value(job, m, s) + (0.5 if job.kind == "train" else 0))
    r = diff(a, b, store=store)
    md = r.to_markdown()
    rows = [line for line in md.splitlines() if line.startswith("| tf=")]
    assert [row.split(" | ")[1] for row in rows[:2]] == ["linear.accuracy@test"] * 2
    rotate = next(row for row in rows[:2] if row.startswith("| tf=rotate "))
    assert " | 3/2 | no | " in rotate
    assert "compare different numbers of seeds" in md
    hue = next(row for row in rows[:2] if row.startswith("| tf=hue "))
    assert " | 3/3 | yes | " in hue


def test_one_argument_diff_names_the_options_the_last_run_used(tmp_path):
    spec = _write(tmp_path / "s")
    store = Store(tmp_path / "store")
    p = plan([spec], profile="smoke", overrides=("train.epochs=3",))
    complete_plan(store, p, value=_value())
    store.record_run(p.specs[0], profile="smoke", overrides=["train.epochs=3"])
    plain = diff(spec, store=store)
    assert ("(--set)", "changed", '["train.epochs=3"]', "[]") in plain.spec.rows()
    assert ("(profile)", "changed", '"smoke"', None) in plain.spec.rows()
    assert any("--profile smoke --set train.epochs=3" in n for n in plain.notes)
    assert "--profile smoke --set train.epochs=3" in plain.to_markdown()
    same = diff(spec, store=store, profile="smoke", overrides=("train.epochs=3",))
    assert same.notes == [] and same.spec.height == 0
    assert set(same.results["status"].to_list()) == {"same jobs"}


def test_a_constant_made_a_one_level_factor_still_pairs_cells(tmp_path):
    a = _write(tmp_path / "a")
    b = _write(tmp_path / "b")
    b.write_text(b.read_text().replace('task = "src"', 'task = "src"\nepochs = "{ep}"')
                 .replace("[train]", "ep = [1]\n[train]", 1))
    store = Store(tmp_path / "store")
    complete_plan(store, plan([a]), value=_value())
    r = diff(a, b, store=store)
    assert r.plan.only_a == [] and r.plan.only_b == []  # the very same jobs
    assert set(r.results["status"].to_list()) == {"same jobs"}
    assert r.cells_only_a.height == 0 and r.cells_only_b.height == 0
    assert any("ep only in B" in n for n in r.notes)
    # two levels cannot be paired one to one: the new cells are new
    c = _write(tmp_path / "c")
    c.write_text(b.read_text().replace("ep = [1]", "ep = [1, 2]"))
    r2 = diff(a, c, store=store)
    assert r2.cells_only_a.height > 0 and r2.cells_only_b.height > 0


def test_field_changes_compare_as_toml_and_keep_empty_tables():
    from engine.results.diff import field_changes

    # true is not 1 in TOML (Python says they are equal); an empty table is a leaf of its own
    assert field_changes({"f": {"x": [1, 2]}, "a": 1}, {"f": {"x": [True, 2]}, "a": True}) == [
        ("f.x", "changed", [1, 2], [True, 2]), ("a", "changed", 1, True)]
    assert field_changes({"a": 1, "b": {"c": 2}}, {"b": {"c": 2}, "a": 1}) == []
    assert flatten({"data": {}, "task": {"t": {"params": {}}}}) == {"data": {},
                                                                    "task.t.params": {}}
    assert field_changes({"data": {"x": {}}}, {"data": {}}) == [
        ("data.x", "removed", {}, None), ("data", "added", None, {})]


def _side(label, jobs, cells):
    from engine.results.diff import Side

    return Side(label, "file", "s", None, None, {}, cells, jobs)


def _cell(seed, train, linear):
    return {"seed": seed, "factors": {"lr": 0.1}, "train": train,
            "probes": [{"name": "linear", "job": linear}]}


def test_plan_diff_names_a_changed_kind_or_engine_version():
    data = {"kind": "dataset", "version": "1", "config": {"n": 5}, "inputs": {}}
    a = _side("A", {"dataset-d": data,
                    "train-a": {"kind": "train", "version": "1", "config": {"epochs": 2},
                                "inputs": {"data": "dataset-d"}},
                    "linear-a": {"kind": "linear", "version": "1", "config": {"epochs": 5},
                                 "inputs": {"model": "train-a"}}},
              [_cell(0, "train-a", "linear-a")])
    b = _side("B", {"dataset-d": data,
                    "train-b": {"kind": "train", "version": "2", "config": {"epochs": 2},
                                "inputs": {"data": "dataset-d"}},
                    "finetune-b": {"kind": "finetune", "version": "1", "config": {"epochs": 5},
                                   "inputs": {"model": "train-b"}}},
              [_cell(0, "train-b", "finetune-b")])
    d = plan_diff(a, b)
    assert d.shared == ["dataset-d"] and d.only_a == ["linear-a", "train-a"]
    rows = d.changes.select("role", "kind", "field", "old", "new").rows()
    assert rows == [("train", "train", "(version)", '"1"', '"2"'),
                    ("probe linear", "finetune", "(kind)", '"linear"', '"finetune"'),
                    ("probe linear/model", "train", "(version)", '"1"', '"2"')]
    assert d.counts()["only_b_by_kind"] == {"finetune": 1, "train": 1}


def test_results_diff_flags_drops_and_zero_spread_differences():
    a = _side("A", {}, [_cell(s, f"train-a{s}", f"linear-a{s}") for s in (0, 1, 2)])
    b = _side("B", {}, [_cell(s, f"train-b{s}", f"linear-b{s}") for s in (3, 4)])

    def frame(prefix, seeds, value):
        return pl.DataFrame([(f"linear-{prefix}{s}", "accuracy", "test", value(s))
                             for s in seeds], orient="row",
                            schema=["job_id", "name", "split", "value"])

    # B is lower on every seed, with no spread: Welch's CI is the point [delta, delta]
    res = results_diff(a, b, frame("a", (0, 1, 2), lambda s: 0.9), frame("b", (3, 4),
                                                                         lambda s: 0.7))
    (row,) = res.filter(pl.col("probe") == "linear").iter_rows(named=True)
    assert row["paired"] is False and (row["n_a"], row["n_b"]) == (3, 2)
    assert row["delta"] == pytest.approx(-0.2)
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(-0.2), pytest.approx(-0.2))
    assert row["status"] == "changed"  # a drop is a change too


def test_one_seed_a_side_has_a_delta_but_no_ci():
    a = _side("A", {}, [_cell(0, "train-a", "linear-a")])
    b = _side("B", {}, [_cell(0, "train-b", "linear-b")])
    rows = pl.DataFrame([("linear-a", "accuracy", "test", 0.5)], orient="row",
                        schema=["job_id", "name", "split", "value"])
    res = results_diff(a, b, rows, rows.with_columns(job_id=pl.lit("linear-b"),
                                                     value=pl.lit(0.75)))
    (row,) = res.filter(pl.col("probe") == "linear").iter_rows(named=True)
    assert (row["delta"], row["ci_low"], row["status"]) == (0.25, None, "no CI")


def _metrics(rows):
    return pl.DataFrame(rows, orient="row", schema=["job_id", "name", "split", "value"])


def test_results_diff_tells_unplanned_from_unmeasured():
    from engine.results.diff import DiffResult, spec_diff

    a = _side("A", {}, [_cell(s, f"train-a{s}", f"linear-a{s}") for s in (0, 1)]
              + [{**_cell(0, "train-x", "linear-x"), "factors": {"lr": 0.5}}])
    b = _side("B", {}, [_cell(s, f"train-b{s}", f"linear-b{s}") for s in (0, 1)])
    got = _metrics([(f"linear-a{s}", "accuracy", "test", 0.5 + s / 10) for s in (0, 1)])
    res = results_diff(a, b, got, _metrics([]))
    status = {(r["cell"], r["probe"], r["metric"]): r["status"] for r in res.iter_rows(named=True)}
    assert status == {
        ("lr=0.1", "linear", "accuracy"): "no results in B",  # B plans it, has no value yet
        ("lr=0.1", "train", None): "no results",  # planned on both sides, measured on neither
        ("lr=0.5", "train", None): "only in A",  # B does not plan lr=0.5 at all
        ("lr=0.5", "linear", None): "only in A"}
    mean = res.filter(pl.col("status") == "no results in B")["mean_a"].item()
    assert mean == pytest.approx(0.55)
    # the reverse direction, and the markdown's row limit
    back = results_diff(b, a, _metrics([]), got)
    assert "no results in A" in back["status"].to_list()
    assert set(back.filter(pl.col("cell") == "lr=0.5")["status"].to_list()) == {"only in B"}
    both = _metrics([(f"linear-{side}{s}", "accuracy", "test", 0.5 + s / 10 + (side == "b"))
                     for side in "ab" for s in (0, 1)] + [
        (f"linear-{side}{s}", "loss", "test", 1.0 + s / 10 + (side == "b"))
        for side in "ab" for s in (0, 1)])
    r = DiffResult(a, b, spec_diff(a, b), plan_diff(a, b), results_diff(
        a, b, both.filter(pl.col("job_id").str.contains("-a")),
        both.filter(pl.col("job_id").str.contains("-b"))))
    assert "... 1 more rows (--format csv has all)" in r.to_markdown(max_rows=1)
    assert "more rows" not in r.to_markdown(max_rows=2)


def test_reported_values_are_the_report_split_of_a_real_probe():
    from engine.results.diff import _reads
    from engine.results.frame import ValueRef

    def row(probe, metric, split):
        return {"probe": probe, "metric": metric, "split": split}

    linear = ValueRef.parse("linear.accuracy")
    assert _reads(linear, row("linear", "accuracy", "test"))
    assert not _reads(linear, row("linear", "accuracy", "val"))  # the default split is test
    assert not _reads(linear, row("other", "accuracy", "test"))
    assert _reads(ValueRef.parse("linear.accuracy@val"), row("linear", "accuracy", "val"))
    bare = ValueRef.parse("sensitivity")
    assert _reads(bare, row("sens", "sensitivity", None))
    assert _reads(ValueRef.parse("accuracy"), row("acc", "accuracy", "test"))
    # a bare METRIC means the probes', not the source model's own
    assert not _reads(ValueRef.parse("accuracy"), row("train", "accuracy", "test"))


def test_diffing_two_different_specs_says_so(tmp_path):
    a = _write(tmp_path / "a")
    other = tmp_path / "a" / "other.toml"
    other.write_text(a.read_text())
    r = diff(a, other, store=Store(tmp_path / "store"))
    assert r.notes == ["comparing two different specs: 'tiny' and 'other'"]
    assert r.spec.rows() == [("spec.name", "changed", '"tiny"', '"other"')]


def test_a_run_that_did_not_end_well_says_so_in_its_label(tmp_path):
    spec = _write(tmp_path / "s")
    store = Store(tmp_path / "store")
    p = plan([spec])
    complete_plan(store, p, value=_value())
    run_id = store.record_run(p.specs[0])
    store.finish_run(run_id, "done")
    assert diff(spec, store=store).a.label == f"run {run_id}"
    store.finish_run(run_id, "died")
    r = diff(spec, store=store)
    assert r.a.label == f"run {run_id} (died)"
    assert r.to_markdown().startswith(f"# diff: run {run_id} (died) -> {spec}")


def test_a_side_must_be_one_existing_spec(tmp_path):
    from dsl.errors import DslError

    a = _write(tmp_path / "a")
    (tmp_path / "a" / "other.toml").write_text(a.read_text())
    store = Store(tmp_path / "store")
    with pytest.raises(DslError, match="diff compares one spec at a time; .* holds 2"):
        diff(tmp_path / "a", a, store=store)
    with pytest.raises(DslError, match="nope.toml: no such spec file"):
        diff(tmp_path / "nope.toml", a, store=store)


def test_one_argument_says_when_the_last_run_read_another_file(tmp_path):
    """Runs are matched by spec name: a run of old/tiny.toml is the last run of new/tiny.toml
    too, and the diff says which file it read."""
    old_spec = _write(tmp_path / "old")
    new_spec = _write(tmp_path / "new")
    store = Store(tmp_path / "store")
    store.record_run(plan([old_spec]).specs[0])
    r = diff(new_spec, store=store)
    assert any(n.startswith(f"the last run of 'tiny' read {old_spec}, not {new_spec}")
               for n in r.notes)
    assert not any("read" in n for n in diff(old_spec, store=store).notes)
