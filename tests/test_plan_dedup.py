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
    assert summary["uses"]["sensitivity"] == 4 and summary["jobs"]["sensitivity"] == 2
    assert summary["uses"]["train"] == 4 and summary["jobs"]["train"] == 2
    assert summary["shared"]["sensitivity"] == 2  # each seed's one job serves both targets
    assert summary["to_run"] == summary["jobs"] and summary["cached"] == {}


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
    assert total["jobs"]["train"] == 2 and total["uses"]["train"] == 4 + 2
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


def ids_of(tmp_path, text, name="s.toml", extra=None):
    """{job id: kind} of a spec written in a folder of its own (with `extra` files beside it)."""
    folder = tmp_path / f"v{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    for fname, ftext in (extra or {}).items():
        write(folder, ftext, fname)
    return {jid: job.kind for jid, job in plan([write(folder, text, name)]).jobs.items()}


def test_edits_that_change_no_meaning_rerun_nothing(tmp_path):
    """"Edit the spec, rerun: only what changed runs": each edit here keeps every job id."""
    base = ids_of(tmp_path, SPEC)
    swap_probes = SPEC.replace('[[probe]]\nkind = "linear"\ntask = "{target}"\n\n', "") + (
        '\n[[probe]]\nkind = "linear"\ntask = "{target}"\n')
    train = '[train]\ntask = "a"\narch = "small_cnn"\nepochs = 3\n'
    edits = {
        "title and description": SPEC.replace('title = "dedup"',
                                              'title = "x"\ndescription = "why"'),
        "comments, whitespace, key order": "# note\n" + SPEC.replace(" = ", "   =  ").replace(
            'arch = "small_cnn"\nepochs = 3', 'epochs = 3  # short\narch = "small_cnn"'),
        "a report": SPEC + '\n[[report]]\ntable = { rows = "target", value = "linear.accuracy" }\n',
        "factor levels reordered": SPEC.replace('["b", "c"]', '["c", "b"]'),
        "probes reordered": swap_probes,
        "defaults written out": SPEC.replace('epochs = 3', 'epochs = 3\noptimizer = "adam"\n'
                                             'lr = 1e-3\nweight_decay = 0.0\nwidth = 1.0\n'
                                             'schedule = "constant"\ncheckpoint = "last"').replace(
            'task = "{target}"', 'task = "{target}"\nepochs = 200\nlr = 0.001').replace(
            'transforms = "hue" }', 'transforms = "hue", params = { hue = { shift = [-0.5, 0.5] '
            '} } }\nlabel = "class"'),
        "a task renamed": SPEC.replace("[task.a]", "[task.src]").replace('task = "a"',
                                                                         'task = "src"'),
        "inline data named": SPEC.replace(
            '[task.a]\ndata = { kind = "transforms2d", objects = "source_objects", transforms = '
            '"rotate" }', '[data.rot]\nkind = "transforms2d"\nobjects = "source_objects"\n'
            'transforms = ["rotate"]\n\n[task.a]\ndata = "rot"'),
        "seeds as a list": SPEC.replace("seeds = 2", "seeds = [1, 0]"),
    }
    for what, text in edits.items():
        assert text != SPEC, what
        assert ids_of(tmp_path, text) == base, what
    # a setting moved into a base file; a copy of the spec under another name
    child = SPEC.replace(train, "").replace('title = "dedup"', 'title = "dedup"\nextends = '
                                            '"_base.toml"')
    assert ids_of(tmp_path, child, extra={"_base.toml": train}) == base
    assert ids_of(tmp_path, SPEC, name="copy.toml") == base


def test_transform_order_and_number_spelling_rerun_nothing(tmp_path):
    two = SPEC.replace('transforms = "hue" }', 'transforms = ["hue", "rotate"], params = { '
                       'rotate = { degrees = [0, 90] } } }')
    base = ids_of(tmp_path, two)
    assert ids_of(tmp_path, two.replace('["hue", "rotate"]', '["rotate", "hue"]')) == base
    assert ids_of(tmp_path, two.replace("[0, 90]", "[0.0, 90.0]")) == base


def test_edits_rerun_only_what_they_change(tmp_path):
    base = ids_of(tmp_path, SPEC)

    def change(text):
        new = ids_of(tmp_path, text)
        return (Counter(k for j, k in new.items() if j not in base),
                Counter(k for j, k in base.items() if j not in new))

    # a third seed: only its own jobs are new, nothing of seeds 0 and 1 changes
    assert change(SPEC.replace("seeds = 2", "seeds = 3")) == (
        {"dataset": 3, "train": 1, "features": 2, "linear": 2, "sensitivity": 1}, {})
    # a new factor level: only the new cells' probe jobs (same source model, same datasets)
    assert change(SPEC.replace('["b", "c"]', '["b", "c", "a"]')) == (
        {"features": 2, "linear": 2}, {})
    # probe settings: only the probes
    assert change(SPEC.replace('task = "{target}"', 'task = "{target}"\nepochs = 7')) == (
        {"linear": 4}, {"linear": 4})
    # another probe: only it
    added = SPEC + '\n[[probe]]\nname = "acc"\nkind = "accuracy"\n'
    assert change(added) == ({"accuracy": 2}, {})
    # a target task's transforms: its datasets and what reads them, never the trainings
    assert change(SPEC.replace('transforms = "hue" }', 'transforms = "blur" }')) == (
        {"dataset": 2, "features": 2, "linear": 2}, {"dataset": 2, "features": 2, "linear": 2})


TYPED = """\
[spec]
title = "typed factor values"

[task.t1]
data = { kind = "transforms2d", objects = ["apple", "banana"] }
n_train = 100

[task.ttrue]
data = { kind = "transforms2d", objects = ["dog", "cat", "car"] }
n_train = 100

[factors]
x = [1, true]

[train]
task = "t{x}"
arch = "small_cnn"
"""


def test_factor_values_equal_in_python_but_not_in_toml_stay_apart(tmp_path):
    # 1 == True in Python, so a memo keyed on the value alone would give the `true` cell the `1`
    # cell's jobs; a boolean interpolates as TOML spells it, in validation and resolution alike
    p = plan([write(tmp_path, TYPED, "s.toml")])
    (one, x1), (true, x2) = [(c.factors["x"], p.jobs[c.train]) for c in p.specs[0].cells]
    assert type(one) is int and type(true) is bool
    assert x1.id != x2.id
    assert x1.config["model"]["num_classes"] == 2 and x2.config["model"]["num_classes"] == 3


def test_a_spec_named_twice_on_the_command_line_is_planned_once(tmp_path):
    folder = tmp_path / "specs"
    folder.mkdir()
    one = write(folder, SPEC, "one.toml")
    # the same file through the folder, by itself, and by a path that only resolves to it
    p = plan([folder, one, folder / ".." / "specs" / "one.toml"])
    assert [s.name for s in p.specs] == ["one"]


def test_two_specs_with_one_name_are_an_error(tmp_path):
    import pytest

    from dsl.errors import DslError

    write(tmp_path, SPEC.replace('title = "dedup"', 'title = "a"\nname = "same"'), "a.toml")
    write(tmp_path, SPEC.replace('title = "dedup"', 'title = "b"\nname = "same"'), "b.toml")
    with pytest.raises(DslError, match="two specs are named 'same'") as err:
        plan([tmp_path])
    assert "a.toml and " in str(err.value) and str(err.value).count("b.toml") == 1
