"""A generated dataset too large to keep (a size with three zeros too many) is a spec problem at
plan time, at its field; the smoke profile's caps make the same spec plannable."""

from __future__ import annotations

import pytest

from dsl.errors import SpecError
from dsl.planner import plan

SPEC = '[spec]\ntitle = "x"\n[task.s]\ndata = { kind = "transforms2d", objects = ["apple", ' \
       '"banana"] }\nn_train = N\n[train]\ntask = "s"\n'


def test_a_generated_dataset_past_the_limit_is_a_problem_at_its_size(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(SPEC.replace("N", "3000000000"))
    with pytest.raises(SpecError) as info:
        plan([path])
    (problem,) = info.value.problems
    assert (problem.path, problem.line) == ("task.s.n_train", 5)
    assert problem.message.startswith("3,000,020,000 images at 32x32 make a 8,583 GiB dataset")
    assert len(plan([path], profile="smoke").specs[0].cells) == 1


def test_the_paper_s_largest_set_is_well_within_the_limit(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(SPEC.replace("N", "500000"))
    assert len(plan([path]).specs[0].cells) == 1
