"""A disk that fills mid-run, for tests/test_fault_injection.py.

`blob` is a job kind that writes a .npy of `bytes` bytes (numpy's own writer: its short write on
a full disk is the "N requested and M written" error) and a value. `main` runs, inside a small
tmpfs the test mounted, one scenario per amount of free space: fill the disk but that much, run
a plan of blobs and combines, free the space, run again; it prints what happened as JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

from engine.jobs import Metric

MODULE = "disk_fill"  # by name: run as a script, this file is __main__


def blob(config, inputs, out_dir: Path, ctx) -> list[Metric]:
    ledger = config.get("ledger")
    if ledger:
        with open(ledger, "a") as fh:
            fh.write(f"{config['name']}\n")
    np.save(out_dir / "blob.npy", np.full(int(config["bytes"]), int(config["value"]), np.uint8))
    (out_dir / "value.json").write_text(json.dumps({"value": float(config["value"])}))
    return [Metric("value", None, float(config["value"]))]


def make_plan(ledger: str, n: int, size: int, kind: str = "fblob", extra=lambda i: {}):
    """n blobs b{i} (value i+1) -> one combine c{i} each (value i+1 + 10 i)."""
    from dsl.graph import Cell, Job, Plan, ProbeRef, SpecPlan

    jobs, cells = {}, []
    for i in range(n):
        b = Job.make(kind, "1", {"name": f"b{i}", "value": i + 1, "bytes": size,
                                 "ledger": ledger, **extra(i)})
        c = Job.make("fcombine", "1", {"name": f"c{i}", "add": 10.0 * i, "ledger": ledger},
                     {"a": b.id})
        jobs[b.id], jobs[c.id] = b, c
        cells.append(Cell("fill", i, {"i": i}, b.id, (ProbeRef("combine", "fcombine", c.id),)))
    spec = SpecPlan(name="fill", path="/nonexistent/fill.toml", text="# fill\n", hash="0" * 16,
                    title="disk fill", cells=tuple(cells), jobs=dict(jobs), reports=())
    return Plan(specs=(spec,), jobs=dict(jobs))


def _kinds() -> dict:
    from engine.kinds import Kind

    return {"fblob": Kind("fblob", "1", f"{MODULE}:blob", False, "writes a blob"),
            "fenospc": Kind("fenospc", "1", f"{MODULE}:enospc", False, "a blob, disk full")}


KINDS = _kinds()


def _fill(mount: Path, leave: int) -> Path:
    """Write a file that takes all the free space of `mount` but `leave` bytes."""
    filler = mount / "filler"
    free = shutil.disk_usage(mount).free
    with open(filler, "wb") as fh:
        fh.truncate(0)
        remaining = max(0, free - leave)
        chunk = b"\0" * (1 << 16)
        while remaining > 0:
            remaining -= fh.write(chunk[:min(len(chunk), remaining)])
    return filler


def _run(plan, store: Path) -> dict:
    from dsl.errors import DslError
    from engine.runner import run

    try:
        summary = run(plan, store=store, jobs=2, progress=False, echo=False)
    except DslError as err:  # the driver itself could not write: the run stops, one message
        return {"ok": False, "error": str(err), "failed": {}, "ran": []}
    return {"ok": summary.ok, "error": None, "failed": summary.failed, "ran": summary.ran}


def scenario(mount: Path, work: Path, leave: int, n: int, size: int) -> dict:
    from engine.store import Store

    store = mount / "store"
    shutil.rmtree(store, ignore_errors=True)
    ledger = work / f"ledger-{leave}"
    ledger.unlink(missing_ok=True)
    plan = make_plan(str(ledger), n, size)
    Store(store).release("nobody:0")  # the store exists before the disk fills: mid-run
    filler = _fill(mount, leave)
    first = _run(plan, store)
    try:
        done_after_first = sorted(Store(store).finished(plan.jobs)) if store.exists() else []
    except Exception:  # noqa: BLE001 - the database may be unreadable until space is freed
        done_after_first = None
    filler.unlink()
    done_after_first = done_after_first if done_after_first is not None else \
        sorted(Store(store).finished(plan.jobs))
    second = _run(plan, store)
    s = Store(store)
    values = {}
    metrics = s.metrics(plan.jobs)
    names = {j.id: j.config["name"] for j in plan.jobs.values()}
    for row in metrics.iter_rows(named=True):
        if row["name"] == "value":
            values[names[row["job_id"]]] = row["value"]
    counts: dict[str, int] = {}
    for line in ledger.read_text().split() if ledger.exists() else []:
        counts[line] = counts.get(line, 0) + 1
    return {"leave": leave, "first": first, "second": second,
            "done_after_first": [names[j] for j in done_after_first], "values": values,
            "runs": counts, "debris": sorted(p.name for p in store.iterdir()
                                             if p.name.startswith("dsl.sqlite."))}


def main(argv: list[str]) -> int:
    import engine.kinds
    import fake_kinds

    engine.kinds.KINDS.update(fake_kinds.FAKE_KINDS)
    engine.kinds.KINDS.update(KINDS)
    mount, work = Path(argv[0]), Path(argv[1])
    n, size = int(argv[2]), int(argv[3])
    out = [scenario(mount, work, int(leave), n, size) for leave in argv[4:]]
    (work / "results.json").write_text(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    raise SystemExit(main(sys.argv[1:]))


def enospc(config, inputs, out_dir: Path, ctx) -> list[Metric]:
    """`blob` on a simulated disk: full while the file `full` exists (a job with `fill` creates
    it, once), so a job can fill the disk mid-run and a test can free it by deleting the file."""
    import errno

    once = Path(config["full"] + ".filled")
    if config.get("fill") and not once.exists():
        once.touch()
        Path(config["full"]).touch()
    if os.path.exists(config["full"]):
        ledger = config.get("ledger")
        if ledger:
            with open(ledger, "a") as fh:
                fh.write(f"{config['name']}\n")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(out_dir / "blob.npy"))
    return blob(config, inputs, out_dir, ctx)
