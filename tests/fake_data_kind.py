"""A data kind that is not shipped, registered the way a plugin would be: one record in the
data-kind registry (dsl.data_kinds) naming its model and this module as its resolver. The test
(tests/test_data_kinds.py) runs `main` in a fresh process (data kinds are registered before
dsl.spec is imported) and checks what it prints: the kind was validated, resolved, sized,
counted, checked and planned without a line of the language or the planner naming it.
The engine side (pixels) is not pluggable yet: engine.data.generation knows the shipped kinds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from dsl.data_kinds import DataKind, register

STRIPES = DataKind("stripes", "fake_data_model:StripesData", __name__,
                   "a fake data kind: class k has k + 1 stripes",
                   sizes={"train": 300, "val": 30, "test": 60},
                   builtins={"zebra": {"kind": "stripes", "classes": 2, "resolution": 16}})


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
    p = plan([spec])
    datasets = [j.config for j in p.jobs.values() if j.kind == "dataset"]
    out["datasets"] = sorted(datasets, key=lambda c: json.dumps(c, sort_keys=True))
    out["classes"] = sorted(j.config["model"]["num_classes"] for j in p.jobs.values()
                            if j.kind == "train")
    out["jobs"] = sorted(j.kind for j in p.jobs.values())
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
