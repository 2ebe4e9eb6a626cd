"""The position scanner: every key path of tricky TOML maps to the line it was written on."""

from __future__ import annotations

import pytest

from dsl.errors import SpecError
from dsl.toml_positions import parse_toml, scan_positions
from test_spec_robust import paths

TRICKY = '''\
# a comment with [brackets] and = signs
[spec]
title = "x = [1, 2]"   # trailing comment with "quotes"
"dotted.key" = 1
a.b . c = 2

[task]
"C+O->C" = { data = "cifar10", label = "class" }
'probe O' = { data = { kind = "solid", color = [0, 0, 0] } }

[task."x.y"]
data = """multi
line [not a table]
"""
n_train = 5

[factors]
k = [
  1,   # one
  2,
  [3, 4],
]
exclude = [{ k = 1 }, { k = 2 }]

[[probe]]
kind = 'linear'

[[probe]]
kind = "accuracy"
splits = ["test",
          "val"]

[[report]]
[report.table]
rows = "k"  # table rows
[[report.chart]]
x = "k"
[[report.chart]]
x = "j"
[[report]]
table = { rows = "k", value = "linear.accuracy" }
'''


def line(text: str, needle: str) -> int:
    hits = [k + 1 for k, row in enumerate(text.splitlines()) if needle in row]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


@pytest.fixture(scope="module")
def pos():
    return scan_positions(TRICKY)


@pytest.mark.parametrize("path, needle", [
    (("spec",), "[spec]"),
    (("spec", "title"), "title ="),
    (("spec", "dotted.key"), '"dotted.key"'),
    (("spec", "a", "b", "c"), "a.b . c"),
    (("spec", "a"), "a.b . c"),
    (("task", "C+O->C"), '"C+O->C"'),
    (("task", "C+O->C", "label"), '"C+O->C"'),
    (("task", "probe O", "data", "color", 2), "'probe O'"),
    (("task", "x.y"), '[task."x.y"]'),
    (("task", "x.y", "data"), 'data = """multi'),
    (("task", "x.y", "n_train"), "n_train = 5"),
    (("factors", "k", 0), "  1,"),
    (("factors", "k", 1), "  2,"),
    (("factors", "k", 2, 1), "[3, 4]"),
    (("factors", "exclude", 1, "k"), "exclude ="),
    (("probe", 0), "kind = 'linear'"),  # the header is the line before
    (("probe", 1, "splits", 1), '"val"]'),
    (("report", 0, "table", "rows"), "# table rows"),
    (("report", 0, "chart", 1, "x"), 'x = "j"'),
    (("report", 1, "table", "value"), 'table = { rows = "k", value'),
])
def test_key_paths_map_to_their_lines(pos, path, needle):
    expected = line(TRICKY, needle)
    if path == ("probe", 0):
        expected -= 1
    assert pos.lines[path] == expected


def test_array_of_tables_indices(pos):
    headers = [k + 1 for k, row in enumerate(TRICKY.splitlines()) if row == "[[probe]]"]
    assert [pos.lines[("probe", 0)], pos.lines[("probe", 1)]] == headers
    assert ("probe", 2) not in pos.lines


def test_line_of_falls_back_to_nearest_parent(pos):
    assert pos.line_of(("task", "C+O->C", "n_train")) == line(TRICKY, '"C+O->C"')
    assert pos.line_of(("probe", 1, "epochs")) == pos.lines[("probe", 1)]
    assert pos.line_of(("nothing", "here")) is None


def test_matches_tomli_document(pos):
    doc, _ = parse_toml(TRICKY, "t.toml")
    assert doc["task"]["x.y"]["data"].startswith("multi")
    missing = [p for p in paths(doc) if p not in pos.lines]
    assert missing == []


def test_syntax_error_names_file_and_line():
    text = '[spec]\ntitle = "x"\nseeds = [1, 2\n\n[train]\n'
    with pytest.raises(SpecError) as info:
        parse_toml(text, "specs/x.toml")
    (problem,) = info.value.problems
    assert problem.file == "specs/x.toml"
    assert problem.line in (3, 4, 5)
    assert str(problem).startswith(f"specs/x.toml:{problem.line}")


def test_duplicate_key_reports_its_line():
    text = '[spec]\ntitle = "x"\n\n[train]\ntask = "a"\ntask = "b"\n'
    with pytest.raises(SpecError) as info:
        parse_toml(text, "dup.toml")
    (problem,) = info.value.problems
    assert problem.line == 6
    assert "dup.toml:6" in str(problem)
