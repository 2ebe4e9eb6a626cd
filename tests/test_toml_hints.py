"""TOML mistakes get a fix in words: a table written both as [x] and [[x]] says to use [[x]]."""

from __future__ import annotations

import pytest

from dsl.errors import SpecError
from dsl.toml_positions import parse_toml


@pytest.mark.parametrize("text, line", [
    ('[spec]\ntitle = "x"\n[report]\ntitle = "a"\n[[report]]\ntitle = "b"\n', 5),
    ('[[probe]]\nkind = "linear"\n[probe]\nkind = "accuracy"\n', 3),
])
def test_a_table_written_as_x_and_as_array_x_says_to_use_the_array(text, line):
    with pytest.raises(SpecError) as info:
        parse_toml(text, "s.toml")
    (problem,) = info.value.problems
    name = "report" if "report" in text else "probe"
    assert problem.line == line
    assert problem.suggestion == f"[{name}] and [[{name}]] are both used: write every {name} " \
        f"as [[{name}]] (an array of tables)"


def test_a_table_given_twice_still_says_to_merge_it():
    with pytest.raises(SpecError) as info:
        parse_toml('[train]\narch = "a"\n[train]\nepochs = 1\n', "s.toml")
    assert info.value.problems[0].suggestion.startswith("[train] appears twice; merge the two")
