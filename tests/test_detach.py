"""Runs that outlive the shell without Slurm: `dsl run --detach` with the local executor, a driver
killed with SIGKILL and taken over by the next run, and `dsl cancel` of a running driver."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from engine import runfiles
from dsl.commands.run import run
from engine.store import Store

import fake_kinds
from test_slurm import TINY_SPEC

TESTS = Path(__file__).resolve().parent


def _until(check, timeout=120.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_detached_local_driver_killed_with_sigkill_is_taken_over(tmp_path):
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY_SPEC)
    root = tmp_path / "store"
    env = {**os.environ, "PYTHONPATH": str(TESTS.parent)}
    t0 = time.time()
    out = subprocess.run([sys.executable, "-m", "dsl", "run", str(spec), "--detach", "--store",
                          str(root)], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert time.time() - t0 < 10
    run_id = next(line.split()[1] for line in out.stdout.splitlines() if line.startswith("run "))
    driver = runfiles.driver(root, run_id)
    assert driver["argv"][0] == "run" and Path(driver["log"]).is_file()
    store = Store(root)
    jobs = driver["jobs"]
    # Kill the driver once the datasets are finished but before the run is.
    done = _until(lambda: [j for j, r in store.jobs(jobs).items() if r.status == "done"],
                  what="a finished job")
    assert store.run(run_id).status == "running"
    os.kill(driver["pid"], signal.SIGKILL)
    _until(lambda: store.run(run_id).status == "died", 30, "the run to read as died")
    again = run(spec, store=root, progress=False, echo=False)
    assert again.ok and set(done) <= set(again.cached)
    assert not set(done) & set(again.ran)
    assert store.finished(jobs) == set(jobs)


def test_dsl_cancel_stops_the_driver_and_releases_every_claim(tmp_path, monkeypatch, capsys):
    from dsl.cli import main

    fake_kinds.install(monkeypatch)
    hold = tmp_path / "hold"
    hold.write_text("")
    ledger = tmp_path / "ledger"
    plan = fake_kinds.make_plan(ledger, 2, hold={"c0": hold})
    names = fake_kinds.by_name(plan)
    root = tmp_path / "store"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(TESTS.parent)])}
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys, fake_kinds; sys.exit(fake_kinds.main())",
         str(root), str(ledger), "2", "0", f"c0={hold}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = Store(root)
    c0 = names["c0"]

    def held_and_done():
        recs = store.jobs([c0, names["c1"]]) if store.exists() else {}
        return len(recs) == 2 and recs[c0].status == "running" and \
            recs[names["c1"]].status == "done"

    _until(held_and_done, what="c0 held, c1 done")
    (run_rec,) = store.runs("fake")
    assert main(["status", run_rec.run_id[:12], "--json", "--store", str(root)]) == 0
    (state,) = json.loads(capsys.readouterr().out)
    assert state["status"] == "running" and state["jobs"]["running"] >= 1
    assert state["by_kind"]["fcombine"]["running"] == 1 and state["jobs"]["done"] >= 3
    assert state["driver"]["alive"] is True and state["running"][0]["job"] == c0
    assert main(["status", "fake", "--store", str(root)]) == 0  # by spec name, for people
    text = capsys.readouterr().out
    assert f"run {run_rec.run_id}  fake  running" in text and "fcombine" in text
    assert main(["cancel", run_rec.run_id[:12], "--store", str(root)]) == 0
    assert "cancelled" in capsys.readouterr().out
    assert proc.wait(timeout=30) != 0
    assert store.run(run_rec.run_id).status in ("interrupted", "cancelled")
    assert not [j for j, r in store.jobs(plan.jobs).items() if r.status == "running"]
    hold.unlink()
    again = run(plan, store=root, progress=False, echo=False)
    assert again.ok and names["c1"] in again.cached and c0 in again.ran
    counts = fake_kinds.ledger_counts(ledger)
    assert counts["c1"] == 1 and counts["s0"] == 1


def logs_then_fails(config, inputs, out_dir, ctx):
    ctx.log("loaded 128 images")
    raise RuntimeError("diverged at step 7")


def test_a_failed_job_keeps_its_log_for_dsl_logs(tmp_path, monkeypatch, capsys):
    import engine.kinds
    from dsl.cli import main
    from engine.kinds import Kind

    monkeypatch.setitem(engine.kinds.KINDS, "fsource",
                        Kind("fsource", "1", f"{__name__}:logs_then_fails", False, "fails"))
    plan = fake_kinds.make_plan(None, 1)
    s0 = fake_kinds.by_name(plan)["s0"]
    summary = run(plan, store=tmp_path, progress=False, echo=False)
    assert list(summary.failed) == [s0]
    assert not list((tmp_path / "tmp").glob(f"{s0}*"))  # the staging folder is gone...
    assert runfiles.kept_log(tmp_path, s0).is_file()  # ...its log is not
    assert main(["logs", s0[:12], "--store", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "loaded 128 images" in out and "RuntimeError: diverged at step 7" in out
    assert main(["logs", "fcombine-", "--store", str(tmp_path)]) == 2  # c0 and total, skipped
    assert "is ambiguous" in capsys.readouterr().err


def test_the_detached_driver_gets_the_same_options_back():
    from dsl.cli import build_parser
    from engine.detach import argv_of

    line = ["run", "specs/a.toml", "specs/b", "--profile", "smoke", "--set", "train.epochs=2",
            "--set", "seeds=1", "--jobs", "3", "--executor", "slurm", "--partition", "gpu",
            "--slurm-extra", "constraint=a100", "--time", "4:00:00", "--verbose", "--detach",
            "--store", "/shared/s", "--no-progress", "--data", "/data"]
    args = build_parser().parse_args(line)
    again = argv_of(args.run_parser, args, drop={"detach", "store", "progress"})
    assert "--detach" not in again and "--store" not in again
    back = build_parser().parse_args(again + ["--detach", "--store", "/shared/s",
                                              "--no-progress"])
    assert {k: v for k, v in vars(back).items() if k != "run_parser"} == \
        {k: v for k, v in vars(args).items() if k != "run_parser"}
