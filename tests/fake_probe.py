"""A probe kind that is not shipped, registered the way a plugin would be: one record in the
job-kind registry (dsl.kinds) naming its model, builder, implementation and cost. The registry
test runs `main` in a fresh process (probe kinds are registered before dsl.spec is imported) and
checks what it prints: the kind was validated, planned, shrunk by smoke, costed, placed, run and
tabulated, all without a line of the language or the engine naming it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from dsl.config_rules import Rule
from dsl.kinds import KINDS, Kind, register

COUNT = Kind("count", "1", f"{__name__}:run", False, "a fake probe: score = 2 x scale",
             cpu=2.0, metrics=("score", "calls"), cost=f"{__name__}:flop", order=7,
             profiles={"smoke": (Rule(("scale",), "cap", 2.0),)},
             probe="fake_probe_model:CountProbe", resolve=f"{__name__}:jobs")


def install() -> None:
    register(COUNT)
    # dataset and train stand in without torch: the same versions (so the same ids), no work
    for name in ("dataset", "train"):
        k = KINDS[name]
        register(Kind(k.name, k.version, f"{__name__}:nothing", False, k.doc, cpu=k.cpu,
                      arch=k.arch, metrics=k.metrics, profiles=k.profiles,
                      reads_files=k.reads_files, cost=k.cost, order=k.order))


def jobs(r, p, target, seed, env, path, model, train):
    """A count probe's job reads the trained model and the target's dataset."""
    job = r.job("count", {"model": model, "label": target.label, "scale": float(p.scale),
                          "seed": seed}, {"model": train.id, "data": target.dataset.id})
    return job, [target.dataset, job], target.transforms


def flop(job, jobs) -> float:
    return 1e12 * job.config["scale"]


def run(config, inputs, out_dir: Path, ctx):
    from engine.jobs import Metric

    assert set(inputs) == {"model", "data"}, inputs
    return [Metric("score", "test", 2 * config["scale"]), Metric("calls", None, 1.0)]


def nothing(config, inputs, out_dir: Path, ctx):
    return []


SPEC = """
[spec]
title = "a plugin probe"
seeds = 1

[task.t]
data = { kind = "transforms2d", objects = ["cat", "dog"], transforms = [] }
n_train = 20
n_val = 10
n_test = 10

[factors]
s = [1.5, 3.0]

[train]
task = "t"
arch = "small_cnn"
epochs = 1

[[probe]]
kind = "count"
scale = "{s}"

[[report]]
table = { rows = "s", value = "count.score" }
"""


def main(folder: str) -> int:
    install()  # before anything imports dsl.spec
    from dsl.errors import DslError
    from dsl.estimate import estimate
    from dsl.load import load_spec
    from dsl.planner import plan
    from engine.resources import ResourcePolicy
    from engine.results.tables import table
    from engine.runner import run as run_plan
    from engine.store import recorded_lookup

    root = Path(folder)
    spec = root / "plugin.toml"
    spec.write_text(SPEC)
    bad = root / "bad.toml"
    bad.write_text(SPEC.replace("count.score", "count.scor"))
    out: dict = {}
    try:
        load_spec(bad)
    except DslError as err:
        out["bad_metric"] = str(err)
    p = plan([spec], recorded=recorded_lookup(root / "store"), data_root=root / "data")
    counts = [j for j in p.jobs.values() if j.kind == "count"]
    out["planned"] = sorted(j.config["scale"] for j in counts)
    smoke = plan([spec], profile="smoke",
                 recorded=recorded_lookup(root / "store"), data_root=root / "data")
    out["smoke"] = sorted(j.config["scale"] for j in smoke.jobs.values() if j.kind == "count")
    out["cost"] = estimate(p.jobs).as_dict()["pflop_by_kind"]
    out["request"] = str(ResourcePolicy().request("count", counts[0].config))
    summary = run_plan(p, store=root / "store", jobs=1, progress=False, echo=False)
    out["ran"] = {"ok": summary.ok, "count": len(summary.ran)}
    t = table(p, store=root / "store")[0]
    out["table"] = t.wide().to_dicts()
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
