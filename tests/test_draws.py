"""Draws: reproducible from (seed, name), constraints honoured, impossible draws named by line."""

from __future__ import annotations

import pytest

from dsl import catalog
from dsl.draws import DrawError, check_draws, definitions, draw_all, order
from dsl.load import read_document
from dsl.spec import Spec


def defs(**entries):
    return definitions(entries)


def test_reproducible_and_independent_of_other_draws():
    d = defs(a={"objects": 30}, t={"transforms": 3})
    first = draw_all(d, seed=4)
    assert first == draw_all(d, seed=4)
    assert draw_all(d, seed=5)["a"] != first["a"]
    # adding another draw, or renaming nothing else, leaves `a` alone: it depends on (seed, name)
    more = defs(zz={"objects": 10}, a={"objects": 30}, t={"transforms": 3})
    assert draw_all(more, seed=4)["a"] == first["a"]
    # members come in catalog order (a draw is a set with one spelling)
    assert list(first["a"]) == [o for o in catalog.OBJECT_NAMES if o in first["a"]]
    assert list(first["t"]) == [t for t in catalog.TRANSFORMS if t in first["t"]]


@pytest.mark.parametrize("seed", range(6))
def test_constraints(seed):
    d = defs(
        target={"objects": 30},
        source={"objects": 30, "disjoint_from": ["target"]},
        subset={"objects": 15, "from": "target"},
        superset={"objects": 50, "includes": "target"},
        listed={"transforms": 2, "from": ["rotate", "hue", "blur", "noise"]},
        chain={"transforms": 8, "nested": True},
        cls={"classes": 5, "of": "cifar100"},
        other_cls={"classes": 5, "of": "cifar100", "disjoint_from": "cls"},
        pats={"patterns": 30},
    )
    got = draw_all(d, seed)
    assert len(set(got["source"])) == 30 and not set(got["source"]) & set(got["target"])
    assert set(got["subset"]) < set(got["target"]) and len(got["subset"]) == 15
    assert set(got["superset"]) > set(got["target"]) and len(got["superset"]) == 50
    assert set(got["listed"]) <= {"rotate", "hue", "blur", "noise"} and len(got["listed"]) == 2
    assert len(set(got["chain"])) == 8 and set(got["chain"]) <= set(catalog.TRANSFORMS)
    assert all(0 <= c < 100 for c in got["cls"]) and not set(got["cls"]) & set(got["other_cls"])
    assert all(0 <= p < catalog.N_PATTERNS for p in got["pats"]) and len(set(got["pats"])) == 30


def test_nested_chain_is_a_random_order():
    d = defs(chain={"transforms": 8, "nested": True})
    orders = {draw_all(d, s)["chain"] for s in range(8)}
    assert len(orders) > 1
    catalog_order = [t for t in catalog.TRANSFORMS]
    assert any(list(o) != sorted(o, key=catalog_order.index) for o in orders)


def test_impossible_disjoint_draw():
    d = defs(a={"objects": 40}, b={"objects": 30, "disjoint_from": ["a"]})
    with pytest.raises(DrawError) as err:
        draw_all(d, 0)
    assert err.value.name == "b" and err.value.field == "disjoint_from"
    assert "only 21 available" in err.value.message


def test_includes_more_than_the_count():
    d = defs(a={"objects": 10}, b={"objects": 5, "includes": "a"})
    with pytest.raises(DrawError, match="cannot include all 10"):
        draw_all(d, 0)
    # one short of the base is as impossible as five short
    with pytest.raises(DrawError, match="9 objects cannot include all 10"):
        draw_all(defs(a={"objects": 10}, b={"objects": 9, "includes": "a"}), 0)
    exact = draw_all(defs(a={"objects": 10}, b={"objects": 10, "includes": "a"}), 0)
    assert exact["b"] == exact["a"]


def test_cycles_unknown_refs_and_mixed_sorts():
    with pytest.raises(DrawError, match="cycle: a -> b -> a|cycle: b -> a -> b"):
        order(defs(a={"objects": 3, "from": "b"}, b={"objects": 3, "disjoint_from": ["a"]}))
    with pytest.raises(DrawError, match="unknown draw 'nope'"):
        order(defs(a={"objects": 3, "from": "nope"}))
    with pytest.raises(DrawError, match="objects draw cannot be disjoint_from 't'"):
        order(defs(t={"transforms": 3}, a={"objects": 3, "disjoint_from": ["t"]}))
    # class indices of cifar10 and cifar100 are different things: no constraint between them
    with pytest.raises(DrawError, match="draw 'a' is of cifar10, this one of cifar100") as err:
        order(defs(a={"classes": 3, "of": "cifar10"},
                   b={"classes": 3, "of": "cifar100", "disjoint_from": "a"}))
    assert err.value.name == "b" and err.value.field == "disjoint_from"


SPEC = """\
[spec]
title = "impossible"
seeds = 2

[draw]
a = { objects = 40 }
b = { objects = 30, disjoint_from = ["a"] }

[task.t]
data = { kind = "transforms2d", objects = "a" }

[train]
task = "t"
"""


def test_check_draws_names_file_line_field_and_availability(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(SPEC)
    doc = read_document(path)
    problems = check_draws(Spec.model_validate(doc.data), doc)
    assert len(problems) == 1
    p = problems[0]
    assert p.line == 7 and p.path == "draw.b.disjoint_from" and p.file.endswith("bad.toml")
    assert "only 21 available" in p.message and "30 objects" in p.message
    assert p.suggestion == "draw fewer objects or drop a disjoint_from"


def test_check_draws_reports_seed_dependent_failures(tmp_path):
    # c needs 16 objects outside a and b; whether they exist depends on how much a and b overlap
    text = SPEC.replace('a = { objects = 40 }\nb = { objects = 30, disjoint_from = ["a"] }',
                        'a = { objects = 30 }\nb = { objects = 30 }\n'
                        'c = { objects = 16, disjoint_from = ["a", "b"] }')
    text = text.replace("seeds = 2", "seeds = 20")
    path = tmp_path / "maybe.toml"
    path.write_text(text)
    doc = read_document(path)
    problems = check_draws(Spec.model_validate(doc.data), doc)
    assert problems and problems[0].path == "draw.c.disjoint_from"
    assert "seed" in problems[0].message and problems[0].line == 8


def test_validate_reports_impossible_draw(tmp_path):
    from dsl.cli import main

    path = tmp_path / "bad.toml"
    path.write_text(SPEC)
    assert main(["validate", str(path)]) == 1


def test_every_pattern_can_be_drawn():
    got = draw_all(defs(p={"patterns": catalog.N_PATTERNS}), 0)["p"]
    assert got == tuple(range(catalog.N_PATTERNS))


def test_includes_blames_the_constraint_that_removes_its_members():
    d = defs(a={"objects": 5}, x={"objects": 3, "from": "a"},
             b={"objects": 20, "includes": "a", "disjoint_from": "x"})
    with pytest.raises(DrawError) as err:
        draw_all(d, 0)
    assert (err.value.name, err.value.field) == ("b", "disjoint_from")
    assert err.value.message == "includes 'a', but 3 of its members are excluded by " \
                                "`disjoint_from`"
    d = defs(a={"objects": 5}, b={"objects": 8, "includes": "a", "from": ["apple", "dog"]})
    with pytest.raises(DrawError) as err:
        draw_all(d, 0)
    assert (err.value.name, err.value.field) == ("b", "from")
    # what is available counts the included members too
    d = defs(a={"objects": 5}, b={"objects": 59, "includes": "a", "disjoint_from": "c"},
             c={"objects": 3, "disjoint_from": "a"})
    with pytest.raises(DrawError) as err:
        draw_all(d, 0)
    assert "cannot draw 59 objects disjoint from 'c' (3) out of the 61 objects: only 58 " \
           "available" == err.value.message


def test_check_draws_reports_a_failed_draw_once_not_the_draws_that_need_it(tmp_path):
    text = SPEC.replace('b = { objects = 30, disjoint_from = ["a"] }',
                        'b = { objects = 30, disjoint_from = ["a"] }\n'
                        'c = { objects = 5, from = "b" }')
    path = tmp_path / "chain.toml"
    path.write_text(text)
    doc = read_document(path)
    problems = check_draws(Spec.model_validate(doc.data), doc)
    assert [(p.path, p.line) for p in problems] == [("draw.b.disjoint_from", 7)]
