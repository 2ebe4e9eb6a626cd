"""A factor whose levels run the same jobs is said before a run: an error when no field uses it
(a forgotten "{lr}"), a plan note when a profile or --set makes its levels coincide."""

from __future__ import annotations

import pytest

from dsl.cli import main
from dsl.errors import SpecError
from dsl.planner import plan

SPEC = """\
[spec]
title = "t"
[task.src]
data = { kind = "transforms2d", objects = ["apple", "banana"], resolution = 16 }
n_train = "{n}"
[factors]
n = [1000, 3000]
EXTRA
[train]
task = "src"
arch = "small_cnn"
epochs = 1
"""


def _spec(tmp_path, extra: str = "", name: str = "s.toml"):
    path = tmp_path / name
    path.write_text(SPEC.replace("EXTRA", extra))
    return path


def test_a_factor_no_field_uses_is_a_problem_at_its_line(tmp_path):
    with pytest.raises(SpecError) as info:
        plan([_spec(tmp_path, "lr = [1e-3, 1e-2]")])
    (problem,) = info.value.problems
    assert (problem.path, problem.line) == ("factors.lr", 8)
    assert problem.message == "factor 'lr' is used by no field: its 2 levels would run the same jobs"
    assert problem.suggestion == 'set lr = "{lr}" under [train], or remove the factor'
    with pytest.raises(SpecError) as info:
        plan([_spec(tmp_path, 'tag = ["a", "b"]')])
    assert info.value.problems[0].suggestion == \
        'write "{tag}" as the value of the field it sweeps, or remove the factor'


def test_a_label_factor_zipped_with_a_used_one_and_a_one_level_factor_are_fine(tmp_path):
    p = plan([_spec(tmp_path, 'sweep = ["small", "large"]\nzip = [["n", "sweep"]]')])
    assert len(p.specs[0].cells) == 2
    p = plan([_spec(tmp_path, 'label = ["only"]', name="one.toml")])
    assert len(p.specs[0].cells) == 2


def test_plan_notes_levels_a_profile_makes_identical(tmp_path, capsys):
    path = _spec(tmp_path)
    assert plan([path], profile="smoke").specs[0].same_jobs() == {"n": [[1000, 3000]]}
    assert plan([path]).specs[0].same_jobs() == {}
    assert main(["plan", str(path), "--profile", "smoke"]) == 0
    assert "note: n = 1000, 3000 run the same jobs (the profile or --set options make them " \
        "identical): their results will be identical" in capsys.readouterr().out
    assert main(["plan", str(path)]) == 0
    assert "run the same jobs" not in capsys.readouterr().out
