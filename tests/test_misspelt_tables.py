"""`[factor]` for `[factors]` is one mistake: reported once, first-class, not as an unknown
factor at every place a factor is used."""

from __future__ import annotations

import pytest

from dsl.errors import SpecError
from dsl.load import load_spec


def test_a_misspelt_factors_table_is_one_problem_that_names_its_factors(tmp_path):
    path = tmp_path / "f.toml"
    path.write_text('[spec]\ntitle = "x"\n[task.s]\ndata = { kind = "transforms2d", objects = '
                    '["apple", "banana"], transforms = "{tf}" }\nn_train = "{n}"\n[factor]\n'
                    'tf = ["rotate", "hue"]\nn = [100, 200]\n[train]\ntask = "s"\n'
                    'epochs = "{e}"\n')
    with pytest.raises(SpecError) as info:
        load_spec(path)
    root, other = info.value.problems
    assert (root.path, root.line, root.message) == ("factor", 6, "unknown key 'factor'")
    assert root.suggestion == "did you mean 'factors'? It declares {n}, {tf}, used below"
    # a factor the misspelt table does not declare is still its own problem
    assert (other.path, other.message.split(";")[0]) == ("train.epochs", "unknown factor '{e}'")


def test_a_factor_in_a_draw_is_one_problem_with_the_way_to_sweep_draws(tmp_path):
    path = tmp_path / "d.toml"
    path.write_text('[spec]\ntitle = "x"\n[draw]\no = { objects = "{k}" }\n[factors]\n'
                    'k = [2, 3]\n[task.s]\ndata = { kind = "transforms2d", objects = "o" }\n'
                    '[train]\ntask = "s"\n')
    with pytest.raises(SpecError) as info:
        load_spec(path)
    (problem,) = info.value.problems  # not also "expected a valid integer"
    assert (problem.path, problem.message) == ("draw.o.objects",
                                               "'{k}': factors cannot be used in [draw]")
    assert "sweep the draw names" in problem.suggestion
