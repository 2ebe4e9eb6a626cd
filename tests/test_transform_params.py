"""Transform parameters: values outside what they can mean are spec problems, and the docs'
table of parameters is the catalog's."""

from __future__ import annotations

from pathlib import Path

import pytest

from dsl.catalog import transforms_table_md
from dsl.errors import SpecError
from dsl.load import load_spec

SPEC = '''[spec]
title = "x"
[task.s]
data = {{ kind = "transforms2d", objects = ["apple", "banana"], transforms = ["{t}"],
         params = {{ {t} = {{ {p} = {v} }} }} }}
[train]
task = "s"
'''


@pytest.mark.parametrize("t, p, v, expected", [
    ("scale", "factor", "[0.0, 5.0]", "expected both ends above 0, got [0.0, 5.0]"),
    ("erasing", "size", "1.5", "expected a value above 0 and at most 1, got 1.5"),
    ("posterize", "bits", "9", "expected a value within [1, 8], got 9"),
    ("brightness", "factor", "[-1, 2]", "expected both ends at least 0, got [-1, 2]"),
    ("blur", "sigma", "[0, 1]", "expected both ends above 0, got [0, 1]"),
    ("shear", "degrees", "[-90, 90]", "expected both ends within [-89, 89], got [-90, 90]"),
])
def test_a_parameter_outside_its_meaning_is_a_problem(tmp_path, t, p, v, expected):
    path = tmp_path / "s.toml"
    path.write_text(SPEC.format(t=t, p=p, v=v))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    (problem,) = info.value.problems
    assert problem.path == f"task.s.data.params.{t}.{p}" and problem.message == expected


@pytest.mark.parametrize("t, p, v", [("scale", "factor", "[0.1, 3.0]"),
                                     ("erasing", "size", "1.0"), ("posterize", "bits", "8"),
                                     ("translate", "extent", "0.0")])
def test_values_at_the_edges_of_their_meaning_are_fine(tmp_path, t, p, v):
    path = tmp_path / "s.toml"
    path.write_text(SPEC.format(t=t, p=p, v=v))
    load_spec(path)


def test_the_docs_list_every_parameter_as_the_catalog_does():
    docs = (Path(__file__).resolve().parents[1] / "docs" / "spec-language.md").read_text()
    assert transforms_table_md() in docs


def test_a_transform_listed_twice_is_a_problem_at_its_second_place(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[spec]\ntitle = "x"\n[task.s]\ndata = { kind = "transforms2d", objects = '
                    '["apple", "banana"], transforms = ["rotate", "hue", "rotate"] }\n'
                    '[train]\ntask = "s"\n')
    with pytest.raises(SpecError) as info:
        load_spec(path)
    (problem,) = info.value.problems
    assert problem.path == "task.s.data.transforms[2]"
    assert problem.message == "'rotate' is listed twice (items 0 and 2)"
    assert problem.suggestion == "list each transform once"
