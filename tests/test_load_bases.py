"""A missing `extends` base anywhere (another folder, no suffix, the spec's own name) and an
`extends` written outside [spec] are one clear problem each, never a traceback."""

from __future__ import annotations

import pytest

from dsl.errors import SpecError
from dsl.load import load_spec


def _problem(path):
    with pytest.raises(SpecError) as info:
        load_spec(path)
    (problem,) = [p for p in info.value.problems if p.path == "spec.extends"] or \
        info.value.problems
    return problem


@pytest.fixture
def folders(tmp_path):
    bases, mine = tmp_path / "bases", tmp_path / "mine"
    bases.mkdir()
    mine.mkdir()
    (bases / "_base.toml").write_text('[spec]\ntitle = "base"\n[train]\narch = "small_cnn"\n')
    return bases, mine


def test_a_misspelt_base_in_another_folder_is_suggested_as_written(folders):
    bases, mine = folders
    (mine / "abs.toml").write_text(f'[spec]\nextends = "{bases}/_bse.toml"\n')
    problem = _problem(mine / "abs.toml")
    assert f"base spec '{bases}/_bse.toml' not found" in problem.message and problem.line == 2
    assert problem.suggestion == f"did you mean '{bases}/_base.toml'?"

    (mine / "rel.toml").write_text('[spec]\nextends = "../bases/_bse.toml"\n')
    assert _problem(mine / "rel.toml").suggestion == "did you mean '../bases/_base.toml'?"


def test_a_base_named_without_its_suffix_suggests_the_file(folders):
    bases, mine = folders
    (mine / "nosuffix.toml").write_text('[spec]\nextends = "../bases/_base"\n')
    assert _problem(mine / "nosuffix.toml").suggestion == "did you mean '../bases/_base.toml'?"


def test_the_suggestion_is_never_the_spec_itself(folders):
    _, mine = folders
    (mine / "nobase.toml").write_text('[spec]\nextends = "_bse.toml"\n')
    problem = _problem(mine / "nobase.toml")
    assert "not found" in problem.message
    assert not problem.suggestion or "nobase.toml" not in problem.suggestion


def test_extends_outside_the_spec_table_says_where_it_belongs(folders):
    _, mine = folders
    (mine / "top.toml").write_text('extends = "../bases/_base.toml"\n')
    with pytest.raises(SpecError) as info:
        load_spec(mine / "top.toml")
    (problem,) = [p for p in info.value.problems if p.path == "extends"]
    assert problem.message == "unknown key 'extends'" and problem.line == 1
    assert problem.suggestion == "'extends' belongs in the [spec] table: write it under [spec]"


def test_a_data_table_without_kind_merges_with_the_base_s(tmp_path):
    """`data = { transforms = [...] }` in a spec that extends another changes only the
    transforms; naming another kind still replaces the whole table."""
    (tmp_path / "base.toml").write_text(
        '[spec]\ntitle = "b"\n[task.t]\ndata = { kind = "transforms2d", objects = ["apple", '
        '"banana"], transforms = ["rotate"], resolution = 16 }\n[train]\ntask = "t"\n')
    (tmp_path / "child.toml").write_text(
        '[spec]\nextends = "base.toml"\n[task.t]\ndata = { transforms = ["hue"] }\n')
    data = load_spec(tmp_path / "child.toml").task["t"].data
    assert (data.kind, data.objects, data.resolution) == ("transforms2d", ["apple", "banana"], 16)
    assert [t.name if hasattr(t, "name") else t for t in data.transforms] == ["hue"]

    (tmp_path / "other.toml").write_text(
        '[spec]\nextends = "base.toml"\n[draw]\npats = { patterns = 2 }\n[task.t]\n'
        'data = { kind = "random_patterns", patterns = "pats" }\n')
    replaced = load_spec(tmp_path / "other.toml").task["t"].data
    assert replaced.kind == "random_patterns" and not hasattr(replaced, "objects")
