"""`augment` in [train] and finetune probes: names checked with file:line, resolved into the job
config, part of the job's identity, and absent (ids unchanged) when there is none."""

from __future__ import annotations

import textwrap

import pytest

from dsl.errors import SpecError
from dsl.load import load_spec
from dsl.planner import plan

SPEC = '''\
[spec]
title = "augment"

[draw]
objs = { objects = 3 }
tfs = { transforms = 2 }

[task.source]
data = { kind = "transforms2d", objects = "objs" }
n_train = 64
n_val = 16
n_test = 16

[train]
task = "source"
arch = "small_cnn"
epochs = 1
AUGMENT

[[probe]]
kind = "finetune"
task = "source"
n_train = 32
epochs = 1
FINETUNE
'''


def spec(tmp_path, augment="", finetune="", name="s.toml"):
    path = tmp_path / name
    path.write_text(SPEC.replace("AUGMENT", augment).replace("FINETUNE", finetune))
    return path


def jobs(path, kind):
    return [j for j in plan(path).jobs.values() if j.kind == kind]


def problems(path):
    with pytest.raises(SpecError) as info:
        load_spec(path)
    return info.value.problems


def line_of(path, needle):
    hits = [k + 1 for k, row in enumerate(path.read_text().splitlines()) if needle in row]
    assert len(hits) == 1
    return hits[0]


def test_no_augment_leaves_the_config_and_the_id_as_they_were(tmp_path):
    bare = jobs(spec(tmp_path, name="a.toml"), "train")[0]
    empty = jobs(spec(tmp_path, "augment = []", 'augment = "none"', name="b.toml"), "train")[0]
    assert "augment" not in bare.config and bare.id == empty.id
    assert "augment" not in jobs(spec(tmp_path, name="c.toml"), "finetune")[0].config


def test_augment_resolves_presets_params_and_draws_into_the_identity(tmp_path):
    bare = jobs(spec(tmp_path, name="a.toml"), "train")[0]
    std = jobs(spec(tmp_path, 'augment = "standard"', name="b.toml"), "train")[0]
    assert std.config["augment"] == [{"name": "hflip", "params": {"p": 0.5}},
                                     {"name": "crop", "params": {"padding": 4}}]
    assert std.id != bare.id
    # the same transforms however written: one identity; params override the catalog's
    a = jobs(spec(tmp_path, 'augment = ["crop", "hflip"]', name="c.toml"), "train")[0]
    assert a.id == std.id
    padded = jobs(spec(tmp_path, 'augment = "standard"\naugment_params = { crop = { padding = 2 } '
                                 '}', name="d.toml"), "train")[0]
    assert padded.config["augment"][1] == {"name": "crop", "params": {"padding": 2}}
    # a transforms draw: the seed's drawn transforms, in composition order
    drawn = jobs(spec(tmp_path, 'augment = ["tfs", "rotate"]', name="e.toml"), "train")[0]
    names = [t["name"] for t in drawn.config["augment"]]
    assert "rotate" in names and 2 <= len(names) <= 3


def test_finetune_takes_augment_and_the_train_job_is_unchanged(tmp_path):
    bare = spec(tmp_path, name="a.toml")
    aug = spec(tmp_path, "", 'augment = ["translate"]\naugment_params = { translate = '
                             '{ extent = 0.5 } }', name="b.toml")
    (t0,), (t1,) = jobs(bare, "train"), jobs(aug, "train")
    (f0,), (f1,) = jobs(bare, "finetune"), jobs(aug, "finetune")
    assert t0.id == t1.id and f0.id != f1.id
    assert f1.config["augment"] == [{"name": "translate", "params": {"extent": 0.5}}]


@pytest.mark.parametrize("augment,needle,field,hint", [
    ('augment = ["rotate", "standrad"]', "standrad", "train.augment[1]", "'standard'"),
    ('augment = "corp"', "corp", "train.augment", "'crop'"),
    ('augment = ["rotation"]', "rotation", "train.augment[0]", "'rotate'"),
])
def test_unknown_augment_names_point_at_the_line_with_a_suggestion(tmp_path, augment, needle,
                                                                   field, hint):
    path = spec(tmp_path, augment)
    (p,) = problems(path)
    assert (p.file, p.line, p.path) == (str(path), line_of(path, needle), field)
    assert "unknown transform" in p.message and hint in (p.suggestion or "")


def test_unknown_augment_params_and_finetune_names_are_problems_too(tmp_path):
    path = spec(tmp_path, 'augment = "crop"\naugment_params = { crop = { pading = 2 } }',
                'augment = ["hfilp"]')
    found = {p.path: p for p in problems(path)}
    assert set(found) == {"train.augment_params.crop.pading", "probe[0].augment[0]"}
    assert "'padding'" in found["train.augment_params.crop.pading"].suggestion
    assert found["probe[0].augment[0]"].line == line_of(path, "hfilp")
    assert "'hflip'" in found["probe[0].augment[0]"].suggestion


def test_a_factor_sweeps_augment(tmp_path):
    path = tmp_path / "f.toml"
    path.write_text(SPEC.replace("AUGMENT", 'augment = "{aug}"').replace("FINETUNE", "")
                    + textwrap.dedent('''
                    [factors]
                    aug = ["none", "standard", "rotate"]
                    '''))
    configs = sorted(str(j.config.get("augment")) for j in jobs(path, "train"))
    assert len(configs) == 3 and configs[0] == "None"
    bad = tmp_path / "g.toml"
    bad.write_text(path.read_text().replace('"rotate"]', '"rotat"]'))
    (p,) = problems(bad)
    assert p.path == "train.augment" and "aug = 'rotat'" in p.message


def test_invariance_sources_has_a_table_and_a_chart_per_studied_transform():
    from pathlib import Path

    s = load_spec(Path(__file__).resolve().parents[1] / "specs" / "invariance_sources.toml")
    studied = dict.fromkeys(s.factors.values()["transform"])
    assert list(studied) == ["translate", "scale", "hue"]
    for t in studied:
        views = [r for r in s.report if r.filter == {"transform": t}]
        tables = [r.table for r in views if r.table]
        charts = [r.chart for r in views if r.chart]
        assert [(x.rows, x.columns) for x in tables] == [("source", "arch")], t
        assert [(c.x, c.color) for c in charts] == [("source", "arch")], t
    # each studied transform is rendered into the data, augmented online, and probed
    rows = list(zip(*(s.factors.values()[k] for k in ("transform", "in_data", "augment"))))
    for t in studied:
        assert {(d, a) for x, d, a in rows if x == t} == {
            (d, a) for d in ("none", t) for a in ("none", t, "standard")}
