"""Deduplication: within a spec (a probe that ignores a factor), across specs, in dsl plan."""

from __future__ import annotations

import textwrap
from collections import Counter

from dsl.commands.plan import Summary
from dsl.planner import plan

SPEC = """\
[spec]
title = "dedup"
seeds = 2

[draw]
source_objects = { objects = 5 }
target_objects = { objects = 5, disjoint_from = ["source_objects"] }

[task.a]
data = { kind = "transforms2d", objects = "source_objects", transforms = "rotate" }
n_train = 100

[task.b]
data = { kind = "transforms2d", objects = "target_objects", transforms = "hue" }
n_train = 100

[task.c]
data = { kind = "transforms2d", objects = "target_objects", transforms = "none" }
n_train = 100

[factors]
target = ["b", "c"]

[train]
task = "a"
arch = "small_cnn"
epochs = 3

[[probe]]
kind = "linear"
task = "{target}"

[[probe]]
name = "sens"
kind = "sensitivity"
vary = "rotate"
"""


def write(tmp_path, text, name):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def kinds(jobs):
    return Counter(j.kind for j in jobs.values())


def test_a_probe_that_ignores_a_factor_is_one_job(tmp_path):
    p = plan([write(tmp_path, SPEC, "s.toml")])
    spec = p.specs[0]
    assert len(spec.cells) == 4  # 2 seeds x 2 targets
    assert kinds(spec.jobs) == {"dataset": 6, "train": 2, "features": 4, "linear": 4,
                                "sensitivity": 2}
    by_seed = {}
    for cell in spec.cells:
        sens = next(r for r in cell.probes if r.name == "sens")
        by_seed.setdefault(cell.seed, set()).add(sens.job)
    assert all(len(ids) == 1 for ids in by_seed.values())
    summary = Summary(p, cached=set()).specs["s"]
    assert summary["jobs"]["sensitivity"] == 4 and summary["unique"]["sensitivity"] == 2
    assert summary["jobs"]["train"] == 4 and summary["unique"]["train"] == 2
    assert summary["to_run"] == summary["unique"] and summary["cached"] == {}


def test_identical_training_job_across_specs_runs_once(tmp_path):
    one = write(tmp_path, SPEC, "one.toml")
    # another spec, another title and probe, the same source model
    two = write(tmp_path, SPEC.replace('title = "dedup"', 'title = "other"').replace(
        'target = ["b", "c"]', 'target = ["c"]'), "two.toml")
    p = plan([tmp_path])
    assert [s.name for s in p.specs] == ["one", "two"]
    first, second = p.specs
    shared = set(first.jobs) & set(second.jobs)
    assert {p.jobs[j].kind for j in shared} >= {"train", "dataset", "sensitivity"}
    assert len(p.jobs) == len(set(first.jobs) | set(second.jobs))
    assert len(p.jobs) < len(first.jobs) + len(second.jobs)
    total = Summary(p, cached=set()).total
    assert total["unique"]["train"] == 2 and total["jobs"]["train"] == 4 + 2
    # the union keeps every job after its inputs
    seen = set()
    for jid, job in p.jobs.items():
        assert set(job.inputs.values()) <= seen
        seen.add(jid)
    assert one.exists() and two.exists()


def test_folders_skip_bases(tmp_path):
    write(tmp_path, SPEC, "_base.toml")
    write(tmp_path, '[spec]\ntitle = "child"\nextends = "_base.toml"\n', "child.toml")
    p = plan([tmp_path])
    assert [s.name for s in p.specs] == ["child"]
    # the base is not planned on its own, but its text is kept with the spec that extends it
    assert sorted(k.rsplit("/", 1)[-1] for k in p.specs[0].sources) == ["_base.toml",
                                                                        "child.toml"]
