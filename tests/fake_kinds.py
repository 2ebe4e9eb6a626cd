"""Fake job kinds and plans for engine tests: tiny, deterministic, and honest about what ran.

Each job writes its value into its artifact and appends its id to a ledger file (one line per
execution, O_APPEND), so a test can count how often every job really ran. Worker processes import
this module by name (the driver puts "fake_kinds:fn" into each task), so it must stay importable
from the tests folder. `main()` is a driver used by tests that need a separate `dsl run` process.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from dsl.graph import Cell, Job, Plan, ProbeRef, SpecPlan
from engine.jobs import Metric
from engine.kinds import Kind

MODULE = __name__


def _ledger(config) -> None:
    path = config.get("ledger")
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{config['name']}\n".encode())
        finally:
            os.close(fd)


def _hold(config) -> None:
    """Sleep `sleep` seconds, then wait while the file `hold` exists (a test lets go by deleting
    it; the path is part of the config, so the job keeps its identity across runs)."""
    time.sleep(float(config.get("sleep", 0.0)))
    hold = config.get("hold")
    deadline = time.time() + 120
    while hold and os.path.exists(hold) and time.time() < deadline:
        time.sleep(0.05)


def source(config, inputs, out_dir: Path, ctx) -> list[Metric]:
    """A root job: value = config["value"]; may sleep, fail, or write slowly (half-written test)."""
    _ledger(config)
    (out_dir / "part1.txt").write_text("first half")
    _hold(config)
    if config.get("fail"):
        raise ValueError(f"{config['name']} was told to fail")
    value = float(config["value"])
    (out_dir / "value.json").write_text(json.dumps({"value": value}))
    return [Metric("value", None, value), Metric("double", "test", 2 * value)]


def combine(config, inputs, out_dir: Path, ctx) -> list[Metric]:
    """Sums its inputs' values plus config["add"]: a wrong or missing input changes the result."""
    _ledger(config)
    _hold(config)
    if config.get("fail"):
        raise RuntimeError(f"{config['name']} was told to fail")
    total = float(config.get("add", 0.0))
    for role in sorted(inputs):
        total += json.loads((inputs[role].path / "value.json").read_text())["value"]
    (out_dir / "value.json").write_text(json.dumps({"value": total}))
    return [Metric("value", None, total), Metric("inputs", None, float(len(inputs)))]


FAKE_KINDS = {
    "fsource": Kind("fsource", "1", f"{MODULE}:source", False, "fake root job"),
    "fcombine": Kind("fcombine", "1", f"{MODULE}:combine", True, "fake dependent job"),
}


def install(monkeypatch) -> None:
    """Register the fake kinds in the driver process (workers get `impl` through the task)."""
    import engine.kinds

    for name, kind in FAKE_KINDS.items():
        monkeypatch.setitem(engine.kinds.KINDS, name, kind)


def make_plan(ledger: str | os.PathLike | None = None, n: int = 3, *, sleep: float = 0.0,
              fail: set[str] = frozenset(), hold: dict[str, str] | None = None,
              name: str = "fake") -> Plan:
    """n sources s{i} -> one combine c{i} each -> one total over every c{i}.

    `fail` names jobs that raise; `hold` maps job names to files they wait on while present.
    """
    hold = hold or {}
    ledger = str(ledger) if ledger else None

    def cfg(job_name: str, **extra):
        base = {"name": job_name, "sleep": sleep, "ledger": ledger}
        if job_name in fail:
            base["fail"] = True
        if job_name in hold:
            base["hold"] = str(hold[job_name])
        return {**base, **extra}

    jobs: dict = {}
    cells = []
    combines = []
    for i in range(n):
        s = Job.make("fsource", "1", cfg(f"s{i}", value=i + 1))
        c = Job.make("fcombine", "1", cfg(f"c{i}", add=10.0 * (i + 1)), {"a": s.id})
        jobs[s.id], jobs[c.id] = s, c
        combines.append(c)
        cells.append(Cell(name, i, {"i": i}, s.id, (ProbeRef("combine", "fcombine", c.id),)))
    total = Job.make("fcombine", "1", cfg("total"), {f"in{i}": c.id for i, c in enumerate(combines)})
    jobs[total.id] = total
    spec = SpecPlan(name=name, path=f"/nonexistent/{name}.toml", text="# fake\n", hash="0" * 16,
                    title="fake plan", cells=tuple(cells), jobs=dict(jobs), reports=())
    return Plan(specs=(spec,), jobs=dict(jobs))


def by_name(plan: Plan) -> dict[str, str]:
    """Job name (s0, c0, total...) -> job id."""
    return {job.config["name"]: job.id for job in plan.jobs.values()}


def ledger_counts(ledger: str | os.PathLike) -> dict[str, int]:
    path = Path(ledger)
    counts: dict[str, int] = {}
    if path.exists():
        for line in path.read_text().split():
            counts[line] = counts.get(line, 0) + 1
    return counts


def main(argv: list[str] | None = None) -> int:
    """A `dsl run` stand-in: fake_kinds.main(STORE, LEDGER, N, SLEEP[, JOB=HOLD_FILE...])."""
    import engine.kinds
    from engine.runner import run

    args = list(sys.argv[1:] if argv is None else argv)
    store, ledger, n, sleep = args[0], args[1], int(args[2]), float(args[3])
    hold = dict(a.split("=", 1) for a in args[4:])
    engine.kinds.KINDS.update(FAKE_KINDS)
    summary = run(make_plan(ledger, n, sleep=sleep, hold=hold), store=store, jobs=2,
                  progress=False, echo=False)
    print(json.dumps({"ran": sorted(summary.ran), "elsewhere": sorted(summary.elsewhere),
                      "cached": sorted(summary.cached), "failed": summary.failed}), flush=True)
    return 0 if summary.ok else 1


def die(config, inputs, out_dir: Path, ctx) -> list[Metric]:
    """A worker killed under its job (as by the OOM killer): no exception, the process just ends."""
    (out_dir / "partial.txt").write_text("never published")
    os._exit(9)


def environment(config, inputs, out_dir: Path, ctx) -> list[Metric]:
    """Reports which GPU the worker was pinned to (-1: none) and its process id."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    return [Metric("gpu", None, float(visible) if visible.isdigit() else -1.0),
            Metric("pid", None, float(os.getpid()))]


def threads(config, inputs, out_dir, ctx):
    """Reports the worker's OMP_NUM_THREADS (what the executor gave it to share the cores)."""
    return [Metric("omp_threads", None, float(os.environ.get("OMP_NUM_THREADS", "0")))]


def drain(executor, n: int, timeout: float = 60.0) -> dict:
    """Results of `n` submitted tasks by job id (fewer if `timeout` seconds pass first)."""
    out = {}
    deadline = time.time() + timeout
    while len(out) < n and time.time() < deadline:
        for r in executor.wait(timeout=1.0):
            out[r.job_id] = r
    return out
