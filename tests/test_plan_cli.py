"""`dsl plan`: counts per spec and in total, --json shape, --explain, the store, speed, no torch."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dsl.cli import main
from dsl.planner import plan

ROOT = Path(__file__).resolve().parent.parent

SPEC = """\
[spec]
title = "cli"
seeds = 2

[task.a]
data = { kind = "transforms2d", objects = ["apple", "banana"], transforms = "rotate" }
n_train = 100

[task.b]
data = { kind = "transforms2d", objects = ["car", "bus", "cat"], transforms = "hue" }
n_train = 100

[factors]
lr = [1e-3, 2e-3]

[train]
task = "a"
arch = "small_cnn"
lr = "{lr}"

[[probe]]
kind = "linear"
task = "b"

[[probe]]
kind = "accuracy"
"""


@pytest.fixture
def specs(tmp_path):
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "one.toml").write_text(textwrap.dedent(SPEC))
    # the same experiment at one learning rate: its jobs are all among one.toml's
    (folder / "two.toml").write_text(textwrap.dedent(SPEC).replace("lr = [1e-3, 2e-3]",
                                                                   "lr = [2e-3]"))
    return folder


def run_json(capsys, *args):
    assert main(["plan", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_shape_and_counts(specs, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DSL_STORE", raising=False)
    store = tmp_path / "no-store-here"
    out = run_json(capsys, str(specs), "--store", str(store))
    assert set(out) == {"specs", "total", "shared_across_specs"}
    assert list(out["specs"]) == ["one", "two"]
    keys = {"cells", "uses", "jobs", "shared", "cached", "to_run", "estimate"}
    for entry in list(out["specs"].values()) + [out["total"]]:
        assert set(entry) == keys
    one, two, total = out["specs"]["one"], out["specs"]["two"], out["total"]
    assert one["cells"] == 4 and two["cells"] == 2 and total["cells"] == 6
    assert one["jobs"] == {"dataset": 4, "train": 4, "features": 4, "linear": 4,
                           "accuracy": 4}
    assert one["uses"]["dataset"] == 8  # each cell needs its source and its target data
    assert total["cached"] == {} and total["to_run"] == total["jobs"]
    assert sum(total["jobs"].values()) < sum(one["jobs"].values()) + sum(
        two["jobs"].values())
    assert out["shared_across_specs"] == sum(two["jobs"].values())  # two.toml adds nothing new
    # one word, one meaning: shared jobs are jobs (never more of them than jobs), uses are not
    for entry in list(out["specs"].values()) + [total]:
        for kind, n in entry["shared"].items():
            assert n <= entry["jobs"][kind] <= entry["uses"][kind]
    assert one["estimate"]["pflop"] > 0 and one["estimate"]["assumed_tflops"] > 0
    assert not store.exists()  # reading a missing store never creates it


def finish(store_root, job):
    from engine.store import Store

    store = Store(store_root)
    assert store.claim(job)
    store.paths.artifact(job.id).mkdir(parents=True)
    store.complete(job.id, [], 1.0)


def test_cached_jobs_and_explain(specs, tmp_path, capsys):
    store = tmp_path / "store"
    p = plan([specs])
    train = next(j for j in p.jobs.values() if j.kind == "train")
    finish(store, p.jobs[train.inputs["data"]])
    finish(store, train)
    out = run_json(capsys, str(specs), "--store", str(store))
    assert out["total"]["cached"] == {"dataset": 1, "train": 1}
    assert out["total"]["to_run"]["train"] == out["total"]["jobs"]["train"] - 1

    assert main(["plan", str(specs), "--store", str(store), "--explain"]) == 0
    text = capsys.readouterr().out
    lines = [line.split() for line in text.splitlines() if line.startswith("    ")]
    status = {parts[1]: parts[0] for parts in lines}
    assert status[train.id] == "cached"
    assert set(status.values()) == {"new", "reused", "cached"}
    reused = [line for line in text.splitlines() if line.strip().startswith("reused")]
    assert reused and all("from one: seed=" in line for line in reused)
    assert "shared across specs" in text and "TFLOP/s" in text
    two_trains = sum(1 for j in p.spec("two").jobs.values() if j.kind == "train")
    assert two_trains > 0  # every one of them is also one's: training it again is saved
    assert f"training jobs saved by sharing across specs: {two_trains} " in text
    assert "config:" not in text
    # a seed's dataset of task a: one cell of spec two needs it, two of spec one
    data_a = p.jobs[train.inputs["data"]]
    in_two = [ln for ln in text.split("two  (")[1].splitlines() if data_a.id in ln]
    assert in_two and "(used by 1 cell; 3 in all specs)" in in_two[0], in_two

    assert main(["plan", str(specs / "one.toml"), "--store", str(store), "--explain",
                 "--verbose"]) == 0
    text = capsys.readouterr().out
    assert '"arch":"small_cnn"' in text and "inputs: data=dataset-" in text


def test_profile_and_set_on_the_command_line(specs, capsys):
    out = run_json(capsys, str(specs / "one.toml"), "--profile", "smoke", "--set",
                   "factors.lr=[0.5]")
    assert out["total"]["cells"] == 1
    assert main(["plan", str(specs), "--profile", "smok"]) == 2
    assert "did you mean 'smoke'" in capsys.readouterr().err


def test_planning_never_imports_torch():
    code = ("import sys, dsl.planner, dsl.commands.plan, dsl.estimate; "
            "dsl.planner.plan(['specs/quickstart.toml']); assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_plan_speed_benchmark_runs():
    out = subprocess.run([sys.executable, "benchmarks/plan_speed.py", "--seeds", "1",
                          "--repeat", "1"], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout
    assert "unique jobs" in out and "ratio to the 2 s target" in out


def test_the_estimate_covers_only_the_jobs_still_to_run(specs, tmp_path, capsys):
    from dsl.estimate import estimate

    store = tmp_path / "store"
    p = plan([specs])
    before = run_json(capsys, str(specs), "--store", str(store))
    train = next(j for j in p.jobs.values() if j.kind == "train")
    finish(store, p.jobs[train.inputs["data"]])
    finish(store, train)
    after = run_json(capsys, str(specs), "--store", str(store))
    to_run = [j for j in p.jobs if j not in (train.id, train.inputs["data"])]
    assert after["total"]["estimate"] == estimate(p.jobs, to_run).as_dict()
    assert before["total"]["estimate"] == estimate(p.jobs).as_dict()
    assert after["total"]["estimate"]["pflop"] < before["total"]["estimate"]["pflop"]
    one = [j for j in p.spec("one").jobs if j not in (train.id, train.inputs["data"])]
    assert after["specs"]["one"]["estimate"] == estimate(p.jobs, one).as_dict()
    # jobs two specs share are counted once in the total
    assert before["shared_across_specs"] == sum(len(s.jobs) for s in p.specs) - len(p.jobs) > 0


def test_plan_text_names_the_profile_and_sums_each_column(specs, capsys):
    assert main(["plan", str(specs / "one.toml"), "--profile", "smoke"]) == 0
    text = capsys.readouterr().out
    assert "total: 1 spec, 2 cells, profile smoke, " in text
    total = text.split("total: ")[1].splitlines()
    header, rows = total[1].split(), {r.split()[0]: [int(x) for x in r.split()[1:]]
                                      for r in total[2:] if r.startswith("  ") and
                                      r.split()[1:] and r.split()[1].isdigit()}
    assert header == ["kind", "uses", "jobs", "shared", "cached", "to_run"]
    assert rows["all"] == [sum(v[k] for kind, v in rows.items() if kind != "all")
                           for k in range(5)]
    assert rows["train"] == [2, 2, 0, 0, 2] and rows["all"][1] == rows["all"][4] > 2


def test_one_spec_prints_its_counts_table_once(specs, capsys):
    assert main(["plan", str(specs / "one.toml")]) == 0
    text = capsys.readouterr().out
    assert text.count("kind             uses") == 1 and "total: 1 spec" in text
    assert main(["plan", str(specs / "one.toml"), str(specs / "two.toml")]) == 0
    assert capsys.readouterr().out.count("kind             uses") == 3  # each spec, and total
