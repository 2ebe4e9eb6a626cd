"""A data kind that is not shipped, registered the way a plugin would be: one record in the
data-kind registry (dsl.data_kinds) naming its model and this module as its resolver. The test
(tests/test_data_kinds.py) runs `main` in a fresh process (data kinds are registered before
dsl.spec is imported) and checks what it prints: the kind was validated, resolved, sized,
counted, checked, planned, rendered and trained on without a line of the language, the planner
or the engine naming it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from dsl.data_kinds import DataKind, register

STRIPES = DataKind("stripes", "fake_data_model:StripesData", __name__,
                   "a fake data kind: class k has k + 1 stripes",
                   sizes={"train": 300, "val": 30, "test": 60},
                   builtins={"zebra": {"kind": "stripes", "classes": 2, "resolution": 16}},
                   source=f"{__name__}:source")


def resolve(r, m, seed, env, path):
    return {"kind": m.kind, "classes": int(m.classes), "resolution": int(m.resolution)}


def class_count(data, label):
    return data["classes"]


def check(r, m, data, sizes, path, env, main):
    """Every class needs a training image (a rule of this kind only)."""
    train = sizes.get("train")
    if main and train is not None and train < data["classes"]:
        return r._fail(path + ("n_train",), f"n_train = {train} but stripes has "
                       f"{data['classes']} classes", "one image per class at least",
                       env).problems
    return []


def source(cfg, seed, sizes, root, sub):
    """The engine's image source: class k is k + 1 white horizontal stripes on black."""
    import torch

    from engine.data.sources import Source

    class Stripes(Source):
        def __init__(self):
            self.resolution = int(cfg["resolution"])
            self.names = [f"{k + 1}_stripes" for k in range(int(cfg["classes"]))]

        def render(self, split, idx, key, cls, vary=frozenset()):
            r = self.resolution
            rows = torch.arange(r, device=idx.device)
            bands = (rows[None, :] * 2 * (cls[:, None] + 1) // r) % 2  # [B, r]
            x = torch.ones(idx.shape[0], 4, r, r, device=idx.device)
            x[:, :3] = bands[:, None, :, None].float()
            return x

    return Stripes()


SPEC = """
[spec]
title = "a plugin data kind"
seeds = 1

[data.lines]
kind = "stripes"
classes = "{k}"

[task.t]
data = "lines"
n_train = 40

[task.z]
data = "zebra"

[factors]
k = [3, 5]

[train]
task = "t"
arch = "small_cnn"
epochs = 1

[[probe]]
kind = "linear"
task = "z"
"""


def main(folder: str) -> int:
    register(STRIPES)  # before anything imports dsl.spec
    from dsl.errors import DslError
    from dsl.load import load_spec
    from dsl.planner import plan
    from engine.data import artifact
    from engine.runner import run as run_plan
    from engine.executors.local import LocalExecutor
    from engine.paths import ArtifactPaths
    from engine.store import recorded_lookup

    root = Path(folder)
    out: dict = {}
    for name, text in {
            "bad_field": SPEC.replace('classes = "{k}"', 'classes = "many"'),
            "bad_kind": SPEC.replace('kind = "stripes"', 'kind = "stripez"'),
            "bad_check": SPEC.replace("n_train = 40", "n_train = 4"),
            "bad_label": SPEC.replace("n_train = 40", 'n_train = 40\nlabel = "foreground"'),
    }.items():
        path = root / f"{name}.toml"
        path.write_text(text)
        try:
            plan([path])
            out[name] = None
        except DslError as err:
            out[name] = str(err)
    spec = root / "plugin.toml"
    spec.write_text(SPEC)
    load_spec(spec)
    p = plan([spec], recorded=recorded_lookup(root / "store"), data_root=root / "data")
    datasets = [j.config for j in p.jobs.values() if j.kind == "dataset"]
    out["datasets"] = sorted(datasets, key=lambda c: json.dumps(c, sort_keys=True))
    out["classes"] = sorted(j.config["model"]["num_classes"] for j in p.jobs.values()
                            if j.kind == "train")
    out["jobs"] = sorted(j.kind for j in p.jobs.values())
    # a spawned worker (the default) knows nothing of this registration: the record travels
    # with each task (dsl.data_kinds.plugins) and the worker registers it
    summary = run_plan(p, store=root / "store", executor=LocalExecutor(1),
                       progress=False, echo=False)
    out["ran"] = {"ok": summary.ok, "count": len(summary.ran)}
    zebra = next(j for j in p.jobs.values() if j.kind == "dataset"
                 and j.config["data"]["classes"] == 2)
    test = artifact.load(ArtifactPaths(root / "store").artifact(str(zebra.id))).splits["test"]
    classes = test.labels["class"]
    out["zebra"] = {"shape": list(test.x.shape), "classes": sorted(set(classes.tolist())),
                    # class k: k + 1 stripes down the first column, black first
                    "columns": {str(k): test.x[classes == k][0, 0, :, 0].tolist()
                                for k in (0, 1)}}
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
