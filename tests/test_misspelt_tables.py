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
    assert root.suggestion == "did you mean 'factors'? It declares tf, n"
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


@pytest.mark.parametrize("text, path, hint", [
    ('[spec]\ntitle = "x"\n', "train", "add a [train] table with task = \"NAME\""),
    ('[spec]\ntitle = "x"\n[train]\narch = "small_cnn"\n', "train.task",
     "name the source task: task = \"NAME\""),
])
def test_a_missing_train_table_or_task_says_what_to_write(tmp_path, text, path, hint):
    spec = tmp_path / "s.toml"
    spec.write_text(text)
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    (problem,) = info.value.problems
    assert problem.path == path and problem.suggestion.startswith(hint)


def test_a_set_without_a_value_names_the_option_once():
    from dsl.load import parse_override

    with pytest.raises(SpecError) as info:
        parse_override("train.epochs")
    assert str(info.value.problems[0]).count("--set") == 2  # the origin and the example
    assert info.value.problems[0].message == "'train.epochs': expected PATH=VALUE"
