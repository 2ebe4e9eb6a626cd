"""What a newcomer meets on a first day: a run that cannot run says so and exits non-zero, a run
says what it will cost before it starts (and asks before a long CPU-only one), a piped run is not
silent, `dsl data` gives the CIFAR stand-in, and read commands find the results of the last run
without repeating its options."""

from __future__ import annotations

import io
import sys
from collections import Counter
from pathlib import Path

import pytest
from rich.console import Console

import fake_kinds
from dsl.cli import main
from engine.store import Store

sys.path.insert(0, str(Path(__file__).parent))
from results_fake import complete_plan  # noqa: E402
from test_results_tables import SPEC  # noqa: E402

@pytest.fixture(autouse=True)
def _fake_kinds(monkeypatch):
    fake_kinds.install(monkeypatch)


CIFAR_SPEC = """
[spec]
title = "Tiny CIFAR"
seeds = 1
[task.c]
data = "cifar10"
n_train = 40
n_val = 10
n_test = 10
[train]
task = "c"
arch = "small_cnn"
epochs = 1
[[probe]]
kind = "linear"
task = "c"
epochs = 1
"""


def test_a_run_whose_every_spec_lacks_its_data_fails_and_names_the_stand_in(tmp_path, capsys):
    spec = tmp_path / "tinycifar.toml"
    spec.write_text(CIFAR_SPEC)
    empty = tmp_path / "nodata"
    code = main(["run", str(spec), "--store", str(tmp_path / "store"), "--data", str(empty),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert "nothing ran" in err and "cifar10 not found" in err
    assert str(empty.resolve()) in err  # where to put it
    assert f"dsl data fixtures {empty}" in err  # a real command for the stand-in
    assert "Traceback" not in err


def test_a_run_of_several_specs_where_one_lacks_data_still_succeeds(tmp_path, monkeypatch):
    import dataclasses

    import engine.runner
    from dsl.graph import Plan
    from engine.runner import run

    a = fake_kinds.make_plan(None, 1, name="a").specs[0]
    b = dataclasses.replace(fake_kinds.make_plan(None, 1, name="b").specs[0],
                            requires=frozenset({"cifar10"}))
    monkeypatch.setattr(engine.runner, "_missing_data", lambda name, root: f"{name} missing")
    both = run(Plan(specs=(a, b), jobs={**a.jobs, **b.jobs}), store=tmp_path / "s",
               progress=False, echo=False)
    assert both.ok and not both.all_lacked_data
    only_b = run(Plan(specs=(b,), jobs=dict(b.jobs)), store=tmp_path / "s2", progress=False,
                 echo=False)
    assert only_b.all_lacked_data and not only_b.ok


def test_dsl_data_fixtures_then_check_finds_the_stand_in(tmp_path, capsys):
    root = tmp_path / "data"
    assert main(["data", "check", "--data", str(root)]) == 1
    out = capsys.readouterr().out
    assert out.count("missing") == 2 and "dsl data fixtures DIR" in out
    assert main(["data", "fixtures", str(root), "--n-train", "50", "--n-test", "20"]) == 0
    assert "stand-ins" in capsys.readouterr().out
    assert (root / "cifar-10-batches-py" / "data_batch_1").is_file()
    assert main(["data", "check", "--data", str(root)]) == 0
    out = capsys.readouterr().out
    assert out.count("ok ") == 2 and "sha256:" in out
    spec = tmp_path / "tinycifar.toml"
    spec.write_text(CIFAR_SPEC)
    assert main(["data", "check", str(spec), "--data", str(root)]) == 0
    assert capsys.readouterr().out.startswith("ok       cifar10 under")


def test_the_cost_is_said_before_a_run_and_a_refusal_runs_nothing(tmp_path):
    from engine.runner import run

    plan = fake_kinds.make_plan(tmp_path / "ledger", 2)
    store = Store(tmp_path / "store")
    seen = []
    buf = io.StringIO()
    summary = run(plan, store=store, progress=False, console=Console(file=buf, width=300),
                  confirm=lambda cost: seen.append(cost) or False)
    assert summary.declined and not summary.ok and not summary.ran
    assert store.runs() == [] and not (tmp_path / "ledger").exists()  # nothing started
    [cost] = seen
    assert cost.jobs == len(plan.jobs)
    assert cost.by_kind == dict(Counter(j.kind for j in plan.jobs.values()))
    assert buf.getvalue().startswith(f"to run: {len(plan.jobs)} jobs (")
    again = run(plan, store=store, progress=False, echo=False, confirm=lambda cost: True)
    assert again.ok and len(again.ran) == len(plan.jobs)
    # nothing left to run: nothing to ask
    asked = []
    assert run(plan, store=store, progress=False, echo=False,
               confirm=lambda c: asked.append(c) or True).ok and asked == []


def test_the_cost_line_counts_cpu_hours_where_there_is_no_gpu():
    from dsl.estimate import ASSUMED_CPU_GFLOPS_PER_CORE
    from dsl.planner import plan
    from engine.cost import cost

    p = plan(["specs/quickstart.toml"])
    c = cost(list(p.jobs), p.jobs, gpus=0, cores=2)
    flop = c.gpu_hours * 3600 * 100e12
    assert c.cpu_hours == pytest.approx(flop / (2 * ASSUMED_CPU_GFLOPS_PER_CORE * 1e9) / 3600)
    assert "on this machine's 2 CPU cores (no GPU;" in c.line() and c.hours_here == c.cpu_hours
    on_gpu = cost(list(p.jobs), p.jobs, gpus=4, cores=2)
    assert on_gpu.hours_here == pytest.approx(on_gpu.gpu_hours / 4)
    assert "on this machine's 4 GPU(s)" in on_gpu.line()
    assert "this machine" not in c.line(here=False)
    big = plan(["specs/adversarial_invariance.toml"])  # the paper's scale: 430 jobs, ~3.6 GPU-h
    line = cost(list(big.jobs), big.jobs, gpus=0, cores=2).line()
    assert line.startswith("to run: 430 jobs (30 dataset, 40 train, ") and "~3.61 GPU-hours" in line


def test_asking_happens_only_on_a_terminal_for_long_cpu_runs(monkeypatch, capsys):
    from dsl.commands.run import _ask
    from engine.cost import Cost

    long_cpu = Cost({"train": 3}, gpu_hours=0.5, cpu_hours=5.0, gpus=0, cores=2)
    monkeypatch.setattr(sys, "stdin", io.StringIO("n\n"))  # not a terminal: never asks
    assert _ask(long_cpu)

    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdin", Tty())
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert not _ask(long_cpu)
    assert "nothing started" in capsys.readouterr().err
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    assert _ask(long_cpu)
    monkeypatch.setattr("builtins.input", lambda prompt: pytest.fail("asked"))
    assert _ask(Cost({"train": 3}, 0.5, 0.5, 0, 2))  # under an hour
    assert _ask(Cost({"train": 3}, 50.0, 500.0, 1, 2))  # a GPU machine


def test_without_a_terminal_a_run_prints_a_line_per_finished_job(tmp_path, capsys):
    from engine.runner import run

    plan = fake_kinds.make_plan(None, 2)
    summary = run(plan, store=tmp_path / "store", progress=True, echo=True)
    assert summary.ok
    err = capsys.readouterr().err  # captured: not a terminal
    lines = [line for line in err.splitlines() if line.startswith("[")]
    n = len(plan.jobs)
    assert len(lines) == n and lines[-1].startswith(f"[{n}/{n}] ")
    assert all(" done in " in line for line in lines)
    run(fake_kinds.make_plan(None, 3), store=tmp_path / "s2", progress=False, echo=True)
    assert "[1/" not in capsys.readouterr().err  # --no-progress: quiet


def _smoke_run(tmp_path):
    from dsl.planner import plan

    spec = tmp_path / "tiny.toml"
    spec.write_text(SPEC)
    store = Store(tmp_path / "store")
    p = plan([spec], profile="smoke", overrides=("spec.seeds=1",))
    complete_plan(store, p, value=lambda job, m, s: 0.8 if job.kind == "linear" else 0.3)
    store.finish_run(store.record_run(p.specs[0], "smoke", ["spec.seeds=1"]), "done")
    return spec, store


def test_read_commands_default_to_the_options_of_the_last_run(tmp_path, capsys):
    spec, store = _smoke_run(tmp_path)
    assert main(["table", str(spec), "--store", str(store.root), "-f", "md"]) == 0
    out, err = capsys.readouterr()
    assert "| rotate | 0.800 |" in out and "missing" not in out
    assert "options of the last run of tiny" in err and "--profile smoke" in err
    assert len(err.strip().splitlines()) == 1  # said in one line

    # an explicit flag wins: full size finds nothing, and no defaulting is announced
    assert main(["table", str(spec), "--store", str(store.root), "-f", "md",
                 "--profile", "none"]) == 0
    out, err = capsys.readouterr()
    assert "missing" in out and "options of the last run" not in err

    assert main(["chart", str(spec), "--store", str(store.root), "-o", str(tmp_path / "c"),
                 "-f", "json"]) == 0
    assert "options of the last run of tiny" in capsys.readouterr().err

    assert main(["report", str(spec), "--store", str(store.root), "-o", str(tmp_path / "r")]) == 0
    page = (tmp_path / "r" / "tiny.html").read_text()
    assert "planned with --profile smoke --set spec.seeds=1" in page
    assert "none of these jobs" not in page
    assert "what the counts mean" in page and "(so shared &lt;= jobs)" in page

    assert main(["diff", str(spec), "--store", str(store.root)]) == 0
    out, err = capsys.readouterr()
    assert "options of the last run of tiny" in err
    assert "the last run used" not in out  # like with like: no options mismatch

    run_id = store.runs("tiny")[0].run_id
    assert main(["diff", run_id[:12], str(spec), "--store", str(store.root)]) == 0
    out, err = capsys.readouterr()
    assert f"options of run {run_id}: --profile smoke" in err
    assert "(profile)" not in out and "No field differs." in out


def test_read_defaults_without_runs_change_nothing(tmp_path, capsys):
    spec = tmp_path / "tiny.toml"
    spec.write_text(SPEC)
    assert main(["table", str(spec), "--store", str(tmp_path / "nostore"), "-f", "md"]) == 0
    assert "options of the last run" not in capsys.readouterr().err


def test_a_run_and_its_row_in_dsl_runs_count_the_same_jobs(tmp_path, capsys):
    """One definition of "jobs": `dsl runs` counts every job of the spec (datasets and features
    too), as `dsl run` and `dsl plan` do, not only those its cells name."""
    import json

    from dsl.planner import plan

    spec, store = _smoke_run(tmp_path)
    planned = plan([spec], profile="smoke", overrides=("spec.seeds=1",)).specs[0]
    assert main(["runs", "--store", str(store.root), "-f", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    named = {c.train for c in planned.cells} | {p.job for c in planned.cells for p in c.probes}
    assert row["jobs"] == len(planned.jobs) > len(named)


def test_every_count_word_is_defined_in_help_and_report(capsys):
    from dsl.counts import WORDS

    for command in ("plan", "runs", "run", "report"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = " ".join(capsys.readouterr().out.split())
        assert " ".join(WORDS["jobs"].split()) in out, command
    assert WORDS["shared"].endswith("(so shared <= jobs)")


def test_numeric_levels_are_shown_in_numeric_order_others_in_plan_order():
    """relevance_availability zips (rho, a) rows: a's levels first appear as 1.0, 0.0, 0.2."""
    import polars as pl

    from engine.results.tables import build_tables

    pairs = [(0.0, 1.0), (0.5, 1.0), (0.0, 0.0), (0.0, 0.2)]
    cells, rows = [], []
    for i, (rho, a) in enumerate(pairs):
        job = f"sens-{i}"
        cells.append({"seed": 0, "factors": {"sweep": "ab"[i % 2], "rho": rho, "a": a},
                      "train": f"train-{i}", "derived": {},
                      "probes": [{"name": "s", "kind": "sensitivity", "job": job,
                                  "derived": {}}]})
        rows.append((job, "sensitivity", None, 0.1 * i))
    metrics = pl.DataFrame(rows, schema={"job_id": pl.String, "name": pl.String,
                                         "split": pl.String, "value": pl.Float64}, orient="row")
    report = {"table": {"rows": "rho", "columns": "a", "value": "s.sensitivity"}}
    [t] = build_tables(cells, [report], metrics)
    assert t.column_levels == [0.0, 0.2, 1.0] and t.row_levels == [0.0, 0.5]
    [by_sweep] = build_tables(cells, [{"table": {"rows": "sweep", "value": "s.sensitivity"}}],
                              metrics)
    assert by_sweep.row_levels == ["a", "b"]  # words keep the plan's order


def test_dsl_table_is_one_polars_frame_with_the_titles_and_plans_print_short(tmp_path):
    import polars as pl

    import dsl

    spec, store = _smoke_run(tmp_path)
    frame = dsl.table(spec, store=store, profile="smoke", overrides=["spec.seeds=1"])
    assert isinstance(frame, pl.DataFrame)
    assert set(frame["table"]) == {"Accuracy", "linear.accuracy by transform_relation"}
    acc = frame.filter(pl.col("table") == "Accuracy")
    assert acc.height == 2 and acc["mean"].to_list() == [0.8, 0.8]  # rotate, hue x linear
    p = dsl.plan(spec, profile="smoke")
    assert len(repr(p)) < 300 and repr(p).startswith("<Plan of 1 spec (tiny): 2 cells, ")
    assert "--profile smoke" in repr(p) and len(repr(p.specs[0])) < 300


def test_diff_orders_why_jobs_changed_by_pipeline_and_shows_unset_values(tmp_path):
    from engine.results.diff import diff

    a = tmp_path / "a" / "tiny.toml"
    b = tmp_path / "b" / "tiny.toml"
    a.parent.mkdir()
    b.parent.mkdir()
    a.write_text(SPEC)
    # the probe's new n_train is unset in A; the target data's change is found through the
    # probes' inputs, after the probes' own fields: shown first all the same (pipeline order)
    tgt = 'transforms = ["rotate"], resolution = 16 }\nn_train = 64'
    assert tgt in SPEC
    b.write_text(SPEC.replace(tgt, tgt.replace("64", "48")).replace(
        'kind = "linear"\n', 'kind = "linear"\nn_train = 32\n'))
    d = diff(a, b, store=tmp_path / "store")
    reasons = d.plan.reasons()
    kinds = reasons["kind"].to_list()
    order = ["dataset", "train", "features", "linear", "finetune", "sensitivity", "accuracy"]
    assert kinds == sorted(kinds, key=order.index) and kinds[0] == "dataset"
    assert "linear" in kinds
    text = d.to_markdown()
    why = text.split("Why jobs changed")[1].split("## Results")[0]
    assert "| linear | `n_train` | (unset) | 32 |" in why
    rows = [line for line in why.splitlines() if line.startswith("| ") and "`" in line]
    assert [r.split("|")[1].strip() for r in rows] == kinds


def test_chart_of_a_table_only_spec_draws_its_tables(tmp_path, capsys):
    spec, store = _smoke_run(tmp_path)  # SPEC has two table reports and no chart
    out = tmp_path / "charts"
    assert main(["chart", str(spec), "--store", str(store.root), "-o", str(out),
                 "-f", "json"]) == 0
    captured = capsys.readouterr()
    assert "no chart reports" not in captured.err
    written = sorted(p.name for p in out.iterdir())
    assert len(written) == 2 and written[0].startswith("tiny-01-accuracy")
    import json

    vega = json.dumps(json.loads((out / written[0]).read_text()))
    assert '"type": "bar"' in vega and "drawn from the spec's table report" in vega


def test_report_index_says_per_spec_results_last_run_options_and_status(tmp_path, capsys):
    spec, store = _smoke_run(tmp_path)
    (tmp_path / "other.toml").write_text(SPEC.replace('title = "Tiny"', 'title = "Other"'))
    out = tmp_path / "reports"
    assert main(["report", str(tmp_path), "--store", str(store.root), "-o", str(out)]) == 0
    index = (out / "index.html").read_text()
    rows = index.split("<tr>")[2:]
    other, tiny = sorted(rows)  # "Other" < "Tiny"
    assert "Tiny" in tiny and "<td>all</td>" in tiny and "done" in tiny
    assert tiny.count("--profile smoke --set spec.seeds=1") == 2  # shown with, and its run's
    assert store.runs("tiny")[0].run_id in tiny
    # at full size only its datasets (too small for the smoke caps to change) are in the store
    assert "<td>2 of 16 jobs</td>" in other and "never run" in other and "full size" in other


def test_read_plans_keep_the_order_the_specs_were_given(tmp_path, capsys):
    """a and c ran under smoke, b never ran: planned in two groups, shown a, b, c."""
    import argparse

    from dsl.commands._last_run import read_plans
    from dsl.planner import plan

    store = Store(tmp_path / "store")
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.toml").write_text(SPEC)
    for name in ("a", "c"):
        p = plan([tmp_path / f"{name}.toml"], profile="smoke")
        store.finish_run(store.record_run(p.specs[0], "smoke"), "done")
    args = argparse.Namespace(paths=[str(tmp_path)], profile=None, overrides=[],
                              store=str(store.root), data_root=None)
    plans = read_plans(args)
    assert [(p.specs[0].name, p.profile) for p in plans] == [("a", "smoke"), ("b", None),
                                                            ("c", "smoke")]
    assert "the last runs of a (" in capsys.readouterr().err


def test_on_a_terminal_a_long_cpu_run_asks_and_no_starts_nothing(tmp_path):
    """The whole command on a pseudo-terminal: the cost line, the question, 'n', exit 1, and
    not even a run recorded (the paper-scale samples spec is hundreds of CPU-hours)."""
    import os
    import pty
    import subprocess

    from engine.executors.local import visible_gpus

    if visible_gpus():
        pytest.skip("a GPU machine does not ask")
    root = Path(__file__).resolve().parents[1]
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.Popen(["python3", "-m", "dsl", "run",
                             str(root / "specs" / "invariance_vs_factors_samples.toml"),
                             "--store", str(tmp_path / "store")],
                            stdin=follower, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, text=True)
    os.close(follower)
    os.write(leader, b"n\n")
    out, err = proc.communicate(timeout=300)
    os.close(leader)
    assert proc.returncode == 1, err
    assert out.startswith("to run: 410 jobs (110 dataset, 100 train, ")
    assert "nothing started" in err
    assert Store(tmp_path / "store").runs() == []
