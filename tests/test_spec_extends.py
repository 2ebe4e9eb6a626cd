"""`extends` merging, its errors (cycles, missing bases, errors inside a base) and `--set`."""

from __future__ import annotations

import pytest

from dsl.errors import SpecError
from dsl.load import load_spec, merge, parse_override, read_document

BASE = '''\
[spec]
title = "base"
seeds = 3

[train]
arch = "resnet18"
epochs = 50
lr = 1e-3

[[probe]]
kind = "accuracy"

[[report]]
table = { rows = "probe", value = "train.accuracy" }
'''

CHILD = '''\
[spec]
title = "child"
extends = "base.toml"

[draw]
objects = { objects = 5 }

[task.t]
data = { kind = "transforms2d", objects = "objects" }

[train]
task = "t"
epochs = 2

[[probe]]
kind = "linear"
task = "t"
'''


@pytest.fixture
def specs(tmp_path):
    (tmp_path / "base.toml").write_text(BASE)
    (tmp_path / "child.toml").write_text(CHILD)
    return tmp_path


def test_base_is_merged_under_the_child(specs):
    spec = load_spec(specs / "child.toml")
    assert spec.spec.title == "child"
    assert spec.spec.seeds == 3                       # from the base
    assert spec.spec.name == "child"                  # the file stem, never inherited
    assert spec.train.epochs == 2                     # the child wins
    assert spec.train.arch == "resnet18" and spec.train.lr == 1e-3
    assert [p.kind for p in spec.probe] == ["linear"]  # arrays of tables are replaced
    assert len(spec.report) == 1                      # ...or kept when the child has none


def test_positions_follow_the_value_that_won(specs):
    doc = read_document(specs / "child.toml")
    assert doc.locate(("train", "epochs")) == (str(specs / "child.toml"), 13)
    assert doc.locate(("train", "lr")) == (str(specs / "base.toml"), 8)
    # the base's probe was replaced: its lines must not leak into the child's probe
    assert doc.locate(("probe", 0, "kind"))[0].endswith("child.toml")
    assert doc.files == [str(specs / "child.toml"), str(specs / "base.toml")]
    assert set(doc.texts) == set(doc.files)


def test_error_in_base_names_the_base_file_and_line(specs):
    (specs / "base.toml").write_text(BASE.replace("lr = 1e-3", "lr = 1e-3\nmomentun = 0.9"))
    with pytest.raises(SpecError) as info:
        load_spec(specs / "child.toml")
    (problem,) = info.value.problems
    assert problem.file == str(specs / "base.toml")
    assert problem.line == 9
    assert problem.suggestion == "did you mean 'momentum'?"


def test_table_with_another_kind_replaces_instead_of_merging():
    base = {"data": {"d": {"kind": "transforms2d", "objects": "o", "resolution": 64}}}
    child = {"data": {"d": {"kind": "solid"}}}
    merged, _ = merge(base, {}, child, {})
    assert merged == {"data": {"d": {"kind": "solid"}}}
    merged, _ = merge(base, {}, {"data": {"d": {"kind": "transforms2d", "objects": "p"}}}, {})
    assert merged["data"]["d"] == {"kind": "transforms2d", "objects": "p", "resolution": 64}


def test_several_bases_later_wins(specs):
    (specs / "other.toml").write_text('[train]\nepochs = 7\nlr = 0.5\n')
    (specs / "child.toml").write_text(CHILD.replace('extends = "base.toml"',
                                                    'extends = ["base.toml", "other.toml"]')
                                      .replace("epochs = 2\n", ""))
    spec = load_spec(specs / "child.toml")
    assert (spec.train.epochs, spec.train.lr, spec.spec.seeds) == (7, 0.5, 3)


def test_extends_cycle_names_the_chain(specs):
    (specs / "base.toml").write_text(BASE.replace('seeds = 3', 'seeds = 3\nextends = '
                                                  '"child.toml"'))
    with pytest.raises(SpecError) as info:
        load_spec(specs / "child.toml")
    (problem,) = info.value.problems
    assert "extends cycle: " in problem.message
    assert "child.toml -> " in problem.message and "base.toml -> " in problem.message
    assert problem.file == str(specs / "base.toml") and problem.line == 4


def test_missing_base(specs):
    (specs / "child.toml").write_text(CHILD.replace("base.toml", "nope.toml"))
    with pytest.raises(SpecError) as info:
        load_spec(specs / "child.toml")
    (problem,) = info.value.problems
    assert "base spec 'nope.toml' not found" in problem.message
    assert problem.line == 3


def test_misspelt_base_suggests_the_file_that_exists(specs):
    (specs / "child.toml").write_text(CHILD.replace("base.toml", "bsae.toml"))
    with pytest.raises(SpecError) as info:
        load_spec(specs / "child.toml")
    (problem,) = info.value.problems
    assert problem.suggestion == "did you mean 'base.toml'?"


def test_overrides_edit_the_document(specs):
    spec = load_spec(specs / "child.toml", overrides=[
        "train.epochs=9", "spec.seeds=[4, 5]", 'train.arch="small_cnn"', "probe.0.epochs=3",
        'task.t.data.objects=["apple", "dog"]', "factors.n=[1, 2]"])
    assert spec.train.epochs == 9 and spec.spec.seeds == [4, 5]
    assert spec.train.arch == "small_cnn" and spec.probe[0].epochs == 3
    assert spec.task["t"].data.objects == ["apple", "dog"]
    assert spec.factors.values() == {"n": [1, 2]}


def test_override_value_that_is_not_toml_is_a_string():
    assert parse_override("train.arch=resnet50") == (("train", "arch"), "resnet50")
    assert parse_override('task."C+O->C".n_train=5') == (("task", "C+O->C", "n_train"), 5)


def test_override_with_unknown_section(specs):
    with pytest.raises(SpecError) as info:
        load_spec(specs / "child.toml", overrides=["trian.epochs=2"])
    (problem,) = info.value.problems
    assert "--set" in problem.file and "unknown section 'trian'" in problem.message
    assert problem.suggestion == "did you mean 'train'?"


def test_override_with_bad_value_is_reported_at_the_override(specs):
    with pytest.raises(SpecError) as info:
        load_spec(specs / "child.toml", overrides=["train.epochz=2"])
    (problem,) = info.value.problems
    assert problem.file == "--set train.epochz=2" and problem.line is None
    assert problem.suggestion == "did you mean 'epochs'?"
    assert str(problem).startswith("--set train.epochz=2 (train.epochz): unknown key")


def test_replaced_values_keep_no_positions_from_the_base(specs):
    # the base's [[probe]] had an `epochs` line; the child's probe list replaced it, so a
    # problem at probe[0].epochs belongs to the child's probe, not to a line of the base
    (specs / "base.toml").write_text(BASE.replace('kind = "accuracy"',
                                                  'kind = "linear"\ntask = "t"\nepochs = 7'))
    doc = read_document(specs / "child.toml")
    assert "epochs" not in doc.data["probe"][0]
    assert doc.locate(("probe", 0, "epochs")) == doc.locate(("probe", 0)) == (
        str(specs / "child.toml"), 15)


def test_a_base_name_is_never_inherited(specs):
    (specs / "base.toml").write_text(BASE.replace('title = "base"', 'title = "base"\n'
                                                  'name = "shared_name"'))
    assert load_spec(specs / "child.toml").spec.name == "child"
    assert read_document(specs / "base.toml").data["spec"]["name"] == "shared_name"
    (specs / "named.toml").write_text(CHILD.replace('title = "child"', 'title = "child"\n'
                                                    'name = "mine"'))
    assert load_spec(specs / "named.toml").spec.name == "mine"


def test_override_of_an_array_index_out_of_range_or_through_a_value(specs):
    with pytest.raises(SpecError) as info:
        load_spec(specs / "child.toml", overrides=["probe.1.epochs=3", "train.epochs.x=1"])
    assert [(p.file, p.message) for p in info.value.problems] == [
        ("--set probe.1.epochs=3", "--set: probe[1] does not exist (1 entries)"),
        ("--set train.epochs.x=1", "--set: train.epochs is not a table")]
    with pytest.raises(SpecError, match="'train.epochs': expected PATH=VALUE"):
        load_spec(specs / "child.toml", overrides=["train.epochs"])


def test_a_table_set_whole_is_blamed_on_the_set_not_on_the_lines_it_replaced(specs):
    with pytest.raises(SpecError) as info:
        load_spec(specs / "child.toml", overrides=['train={ task = "t", epochs = "x" }'])
    (problem,) = info.value.problems
    assert problem.path == "train.epochs"
    assert (problem.file, problem.line) == ('--set train={ task = "t", epochs = "x" }', None)
