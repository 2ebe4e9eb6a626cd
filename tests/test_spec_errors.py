"""Every class of spec error: one problem, on the exact line, with the right suggestion."""

from __future__ import annotations

import pytest

from dsl.errors import SpecError
from dsl.load import load_spec

VALID = '''\
[spec]
title = "errors"
seeds = 2

[draw]
target_objects = { objects = 10 }
source_objects = { objects = 10, disjoint_from = ["target_objects"] }
chain = { transforms = 4, nested = true }

[data.same]
kind = "transforms2d"
objects = "source_objects"
transforms = ["rotate", "hue"]

[task.source]
data = "same"
n_train = "{n}"

[task."C+O->C"]
data = { kind = "transforms2d", objects = "target_objects", transforms = "chain[{k}]" }

[factors]
n = [100, 200]
k = [1, 2]

[train]
task = "source"
arch = "small_cnn"
epochs = 2

[[probe]]
kind = "linear"
task = "C+O->C"

[[report]]
table = { rows = "n", columns = "k", value = "linear.accuracy" }
'''


def write(tmp_path, text, name="s.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def problems(tmp_path, text, **kw):
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, text), **kw)
    return info.value.problems


def line(text, needle):
    hits = [k + 1 for k, row in enumerate(text.splitlines()) if needle in row]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


def edit(old, new, text=VALID):
    assert old in text
    return text.replace(old, new, 1)


def only(tmp_path, text):
    found = problems(tmp_path, text)
    assert len(found) == 1, "\n".join(map(str, found))
    return found[0]


def test_valid_spec_loads(tmp_path):
    spec = load_spec(write(tmp_path, VALID))
    assert spec.spec.name == "s"
    assert spec.task["source"].n_train == "{n}"  # checked after substitution by the back end


CASES = [
    # (old, new, needle for the line, field path, message part, suggestion part)
    ("seeds = 2", "seedz = 2", "seedz", "spec.seedz", "unknown key 'seedz'", "'seeds'"),
    ('arch = "small_cnn"', 'arch = "resnet19"', "resnet19", "train.arch", "unknown arch",
     "'resnet18'"),
    ("epochs = 2", 'epochs = "two"', '"two"', "train.epochs", "expected an integer >= 1",
     None),
    ("epochs = 2", "epochs = 2.5", "2.5", "train.epochs", "expected an integer", None),
    ('transforms = ["rotate", "hue"]', 'transforms = ["rotation", "hue"]', "rotation",
     "data.same.transforms[0]", "unknown transform", "'rotate'"),
    ('kind = "transforms2d"', 'kind = "transforms_2d"', "transforms_2d", "data.same",
     "unknown data kind 'transforms_2d'", "'transforms2d'"),
    ('kind = "linear"', 'kind = "lineer"', "lineer", "probe[0]", "unknown probe kind 'lineer'",
     "'linear'"),
    ('n_train = "{n}"', 'n_train = "{n}"\nlabel = "foregrond"', "foregrond",
     "task.source.label", "unknown label", "'foreground'"),
    ('data = "same"', 'data = "sam"', '"sam"', "task.source.data", "unknown data 'sam'",
     "'same'"),
    ('task = "source"', 'task = "sourc"', '"sourc"', "train.task", "unknown task 'sourc'",
     "'source'"),
    ('task = "C+O->C"', 'task = "C+O->D"', "C+O->D", "probe[0].task", "unknown task",
     "'C+O->C'"),
    ('disjoint_from = ["target_objects"]', 'disjoint_from = ["target_object"]',
     "target_object\"]", "draw.source_objects.disjoint_from[0]", "unknown draw",
     "'target_objects'"),
    ('objects = "source_objects"', 'objects = "source_object"', '"source_object"',
     "data.same.objects", "unknown objects draw", "'source_objects'"),
    ('n_train = "{n}"', 'n_train = "{nn}"', '"{nn}"', "task.source.n_train",
     "unknown factor '{nn}'", "'n'"),
    ('"chain[{k}]"', '"chain[{kk}]"', "chain[{kk}]", 'task."C+O->C".data.transforms',
     "unknown factor '{kk}'", "'k'"),
    ("n = [100, 200]", "n = []", "n = []", "factors.n", "factor 'n' has no values", None),
    ('rows = "n"', 'rows = "nn"', '"nn"', "report[0].table.rows", "unknown column 'nn'",
     "'n'"),
    ('value = "linear.accuracy"', 'value = "linear.acuracy"', "acuracy",
     "report[0].table.value", "has no metric 'acuracy'", "'accuracy'"),
    ('value = "linear.accuracy"', 'value = "liner.accuracy"', "liner",
     "report[0].table.value", "unknown probe 'liner'", "'linear'"),
    ('objects = "source_objects"\n', 'objects = "source_objects"\nparams = { rotate = '
     '{ degree = [0, 90] } }\n', "degree =", "data.same.params.rotate.degree",
     "has no parameter 'degree'", "'degrees'"),
    ('objects = "source_objects"\n', 'objects = "source_objects"\nparams = { rotate = '
     '{ degrees = 90 } }\n', "degrees =", "data.same.params.rotate.degrees",
     "expected a range [low, high]", None),
    ("seeds = 2", "seeds = [1, 1]", "seeds = [1, 1]", "spec.seeds", "seeds must not repeat",
     None),
    # Eq. 1's independent samples are two different pairs' images: one pair has none
    ('task = "C+O->C"\n', 'task = "C+O->C"\n\n[[probe]]\nkind = "sensitivity"\nvary = "rotate"\n'
     'pairs = 1\n', "pairs = 1", "probe[1].pairs", "expected an integer >= 2, got 1", None),
    # whole-document checks that say more than the draw resolver or the back end would
    ('disjoint_from = ["target_objects"]', 'disjoint_from = ["source_objects"]',
     "source_objects = {", "draw.source_objects.disjoint_from[0]",
     "draw 'source_objects' refers to itself", None),
    ("target_objects = { objects = 10 }\nsource_objects = { objects = 10,",
     "target_objects = { objects = 31 }\nsource_objects = { objects = 31,", "source_objects = {",
     "draw.source_objects.disjoint_from",
     "cannot draw 31 objects disjoint from 'target_objects' (31): 61 in all leaves 30; draw at "
     "most 30", None),
    ("chain = { transforms = 4, nested = true }", "chain = { transforms = 4, nested = true }\n"
     'picked = { objects = 4, from = ["apple", "dog", "cat"] }', "picked =",
     "draw.picked.objects", "cannot draw 4 objects out of 3; draw at most 3", None),
    ('transforms = ["rotate", "hue"]', 'transforms = ["all", "hue"]', '["all", "hue"]',
     "data.same.transforms[0]", "'all' cannot be a list item", None),
    ("k = [1, 2]", 'k = [1, 2]\n"my-k" = [1]', '"my-k"', "factors.my-k",
     "factor name 'my-k' must be an identifier", None),
    ("k = [1, 2]", "k = [1, 2]\ntrain = [1]", "train = [1]", "factors.train",
     "'train' is a report column already", None),
    ("k = [1, 2]", "k = [1, 2]\nexclude = [{ k = true }]", "exclude =", "factors.exclude[0].k",
     "factor 'k' has no value true", None),  # true is not 1 in TOML
    ('[[report]]', '[[probe]]\nkind = "sensitivity"\nvary = ["background", "hue"]\n\n[[report]]',
     '"background", "hue"', "probe[1].vary[0]", "'background' is a component: vary it alone",
     None),
    ('value = "linear.accuracy"', 'value = "linear.accuracy@tset"', "@tset",
     "report[0].table.value", "unknown split 'tset'", "'test'"),
    ('table = { rows = "n", columns = "k", value = "linear.accuracy" }',
     'chart = { kind = "heatmap", x = "n", y = "k" }', 'kind = "heatmap"', "report[0].chart",
     "a heatmap needs color = VALUE", None),
    ('table = { rows = "n", columns = "k", value = "linear.accuracy" }',
     'table = { rows = "n", columns = "k", value = "linear.accuracy" }\nfilter = { n = 300 }',
     "filter =", "report[0].filter.n", "factor 'n' has no value 300", None),
]


@pytest.mark.parametrize("old, new, needle, path, message, suggestion", CASES,
                         ids=[c[3] + ":" + c[4][:20] for c in CASES])
def test_error_has_line_path_and_suggestion(tmp_path, old, new, needle, path, message,
                                            suggestion):
    text = edit(old, new)
    problem = only(tmp_path, text)
    assert problem.line == line(text, needle)
    assert problem.path == path
    assert message in problem.message
    if suggestion:
        assert suggestion in (problem.suggestion or "")
    assert problem.file.endswith("s.toml")


def test_missing_required_field_points_at_its_table(tmp_path):
    text = edit('task = "source"\n', "")
    problem = only(tmp_path, text)
    assert problem.path == "train.task"
    assert "missing required field 'task'" in problem.message
    assert problem.line == line(text, "[train]")


def test_finetune_needs_n_train(tmp_path):
    text = edit('kind = "linear"', 'kind = "finetune"')
    text = edit("linear.accuracy", "finetune.accuracy", text)
    problem = only(tmp_path, text)
    assert problem.path == "probe[0].n_train"
    assert problem.line == line(text, "[[probe]]")


def test_duplicate_probe_names(tmp_path):
    text = VALID.replace('[[report]]', '[[probe]]\nkind = "linear"\ntask = "source"\n\n'
                         '[[report]]')
    problem = only(tmp_path, text)
    assert problem.path == "probe[1]"
    assert "duplicate probe name 'linear'" in problem.message
    second = [k + 1 for k, r in enumerate(text.splitlines()) if r == "[[probe]]"][1]
    assert problem.line == second
    assert "name" in problem.suggestion


def test_zip_groups_need_equal_lengths_and_known_factors(tmp_path):
    text = edit("k = [1, 2]", 'k = [1, 2, 3]\nzip = [["n", "k"], ["n", "q"]]')
    found = problems(tmp_path, text)
    messages = {p.path: p for p in found}
    assert "equal lengths" in messages["factors.zip[0]"].message
    assert messages["factors.zip[0]"].line == line(text, "zip =")
    assert "unknown factor 'q'" in messages["factors.zip[1][1]"].message
    assert "in two zip groups" in messages["factors.zip[1][0]"].message


def test_exclude_names_known_factors_and_values(tmp_path):
    text = edit("k = [1, 2]", "k = [1, 2]\nexclude = [{ kk = 1 }, { k = 3 }]")
    found = {p.path: p for p in problems(tmp_path, text)}
    assert "unknown factor 'kk'" in found["factors.exclude[0].kk"].message
    assert found["factors.exclude[0].kk"].suggestion == "did you mean 'k'?"
    assert "no value 3" in found["factors.exclude[1].k"].message
    assert found["factors.exclude[1].k"].line == line(text, "exclude =")


def test_repeated_factor_value(tmp_path):
    problem = only(tmp_path, edit("n = [100, 200]", "n = [100, 200, 100]"))
    assert problem.path == "factors.n[2]"
    assert "repeats the value 100" in problem.message


def test_placeholder_in_grid_sections_is_an_error(tmp_path):
    problem = only(tmp_path, edit("{ objects = 10 }", '{ objects = 10, includes = "{n}" }'))
    assert "cannot be used in [draw]" in problem.message


def test_placeholder_references_are_checked_per_factor_value(tmp_path):
    text = edit("n = [100, 200]", 'n = [100, 200]\nsrc = ["source", "target"]').replace(
        'task = "source"', 'task = "{src}"')
    problem = only(tmp_path, text)
    assert problem.path == "train.task"
    assert "unknown task 'target' (with src = 'target')" in problem.message


def test_chain_prefix_checks(tmp_path):
    problem = only(tmp_path, edit("k = [1, 2]", "k = [1, 5]"))
    assert "has only 4 transforms" in problem.message
    assert problem.path == 'task."C+O->C".data.transforms'


def test_mixing_draw_sorts(tmp_path):
    problem = only(tmp_path, edit('disjoint_from = ["target_objects"]',
                                  'disjoint_from = ["chain"]'))
    assert "objects draw cannot be disjoint_from 'chain', a transforms draw" in problem.message


def test_label_foreground_needs_composite(tmp_path):
    problem = only(tmp_path, edit('n_train = "{n}"', 'n_train = "{n}"\nlabel = "foreground"'))
    assert "needs composite data" in problem.message


def test_data_cycle(tmp_path):
    text = VALID.replace("[task.source]", '[data.a]\nkind = "composite"\nbackground = "b"\n'
                         'foreground = { objects = "source_objects" }\n\n[data.b]\n'
                         'kind = "composite"\nbackground = "a"\nforeground = { objects = '
                         '"source_objects" }\n\n[task.source]')
    problem = only(tmp_path, text)
    assert "data contains itself: a -> b -> a" in problem.message


def test_all_problems_in_one_pass_sorted_by_line(tmp_path):
    text = edit("seeds = 2", "seedz = 2")
    text = edit('arch = "small_cnn"', 'arch = "resnet19"', text)
    text = edit('rows = "n"', 'rows = "nn"', text)
    found = problems(tmp_path, text)
    assert [p.path for p in found] == ["spec.seedz", "train.arch", "report[0].table.rows"]
    assert [p.line for p in found] == sorted(p.line for p in found)


def test_wrong_table_shapes_do_not_crash(tmp_path):
    text = VALID.replace('[[report]]\ntable = { rows = "n", columns = "k", value = '
                         '"linear.accuracy" }\n', 'report = 3\n')
    text = text.replace("[factors]", "[factors]\nzip = 7")
    found = problems(tmp_path, text)
    assert {p.path for p in found} >= {"factors.zip"}


def test_impossible_disjoint_draw(tmp_path):
    text = edit("target_objects = { objects = 10 }", "target_objects = { objects = 40 }")
    text = edit("source_objects = { objects = 10,", "source_objects = { objects = 30,", text)
    problem = only(tmp_path, text)
    assert problem.path == "draw.source_objects.disjoint_from"
    assert ("cannot draw 30 objects disjoint from 'target_objects' (40): 61 in all leaves 21; "
            "draw at most 21") in problem.message
    assert problem.line == line(text, "source_objects = {")


def test_subset_larger_than_its_source(tmp_path):
    text = edit("chain = {", 'few = { objects = 11, from = "target_objects" }\nchain = {')
    problem = only(tmp_path, text)
    assert "cannot draw 11 objects out of 10" in problem.message
    assert problem.line == line(text, "few =")


def test_cyclic_draws(tmp_path):
    text = edit("target_objects = { objects = 10 }",
                'target_objects = { objects = 10, from = "source_objects" }')
    found = problems(tmp_path, text)
    assert any("cycle: " in p.message and "source_objects" in p.message for p in found)


def test_probe_written_as_a_table(tmp_path):
    problem = only(tmp_path, edit("[[probe]]", "[probe]"))
    assert problem.suggestion == "write [[probe]], not [probe]"
    assert problem.line == line(edit("[[probe]]", "[probe]"), "[probe]")


def test_every_params_problem_is_reported(tmp_path):
    text = edit('objects = "source_objects"\n', 'objects = "source_objects"\nparams = { '
                'rotate = { degrees = [90, 0] }, hue = { shfit = [0, 1] }, rotat = {}, '
                'invert = { p = 1.5 } }\n')
    found = {p.path: p for p in problems(tmp_path, text)}
    assert set(found) == {"data.same.params.rotate.degrees", "data.same.params.hue.shfit",
                          "data.same.params.rotat", "data.same.params.invert.p"}
    assert found["data.same.params.hue.shfit"].suggestion == "did you mean 'shift'?"
    assert found["data.same.params.rotat"].suggestion == "did you mean 'rotate'?"
    assert found["data.same.params.invert.p"].message == (
        "expected a probability in [0, 1], got 1.5")
    assert all(p.line == line(text, "params =") for p in found.values())


def test_chain_index_past_the_draw_suggests_an_index_not_a_name(tmp_path):
    found = problems(tmp_path, edit("k = [1, 2]", "k = [1, 5]"))
    assert [p.path for p in found] == ['task."C+O->C".data.transforms']
    assert "has only 4 transforms (with k = 5)" in found[0].message
    assert found[0].suggestion.startswith("use an index from 1 to 4")


def test_misspelt_chain_draw_suggests_the_nested_draw(tmp_path):
    problem = only(tmp_path, edit('"chain[{k}]"', '"chian[{k}]"'))
    assert problem.suggestion == "did you mean 'chain[1]'?"


def test_draw_count_written_as_a_list(tmp_path):
    text = edit("target_objects = { objects = 10 }",
                'target_objects = { objects = ["apple", "dog"] }')
    problem = only(tmp_path, text)
    assert problem.path == "draw.target_objects.objects"
    assert problem.message == "objects is how many to draw, got ['apple', 'dog']"
    assert problem.suggestion == 'to draw N of these write { objects = N, from = ["apple", "dog"] }'
    assert problem.line == line(text, "target_objects =")


def test_wrong_case_suggests_the_name(tmp_path):
    problem = only(tmp_path, edit('arch = "small_cnn"', 'arch = "small_cnn"\noptimizer = "SGD"'))
    assert problem.path == "train.optimizer"
    assert problem.suggestion == "did you mean 'sgd'?"


def test_draw_of_the_wrong_sort_lists_the_right_ones(tmp_path):
    problem = only(tmp_path, edit('objects = "source_objects"', 'objects = "chain"'))
    assert problem.message == "'chain' is a transforms draw, not an objects draw"
    assert problem.suggestion == "objects draws: target_objects, source_objects"


@pytest.mark.parametrize("old, new, hint", [
    ("seeds = 2", "seeds = 2\nseeds = 3", "'seeds' is set twice"),
    ("[train]", "[train]\nepochs = 1\n[train]", "[train] appears twice"),
    ('arch = "small_cnn"', "arch = small_cnn", "strings need quotes"),
])
def test_toml_mistakes_have_a_fix(tmp_path, old, new, hint):
    problem = only(tmp_path, edit(old, new))
    assert problem.message.startswith("invalid TOML")
    assert hint in (problem.suggestion or "")


def test_undeclared_factor_says_where_to_declare_it(tmp_path):
    problem = only(tmp_path, edit("epochs = 2", 'epochs = "{epochs}"'))
    assert problem.path == "train.epochs"
    assert problem.suggestion.startswith("declare it under [factors] (epochs = [...])")


def test_quoted_number_says_drop_the_quotes(tmp_path):
    problem = only(tmp_path, edit("epochs = 2", 'epochs = "2"'))
    assert problem.message == "expected an integer >= 1, got '2'"
    assert problem.suggestion == "write 2 without quotes"


@pytest.mark.parametrize("old, new, path, message", [
    ("target_objects = { objects = 10 }", "target_objects = { objects = 70 }",
     "draw.target_objects.objects", "cannot draw 70 objects out of 61; draw at most 61"),
    ("chain = { transforms = 4,", "chain = { transforms = 20,", "draw.chain.transforms",
     "cannot draw 20 transforms out of 18; draw at most 18"),
    ("chain = {", 'cls = { classes = 12, of = "cifar10" }\nchain = {', "draw.cls.classes",
     "cannot draw 12 classes out of 10; draw at most 10"),
])
def test_oversized_draw_is_reported_once(tmp_path, old, new, path, message):
    draw = path.rsplit(".", 1)[0]
    found = [p for p in problems(tmp_path, edit(old, new)) if p.path.startswith(draw)]
    assert [(p.path, p.message) for p in found] == [(path, message)]


def test_placeholder_inside_a_param_range(tmp_path):
    sweep = edit('objects = "source_objects"\n', 'objects = "source_objects"\nparams = { '
                 'rotate = { degrees = [0, "{n}"] } }\n')
    from dsl.planner import plan

    load_spec(write(tmp_path, sweep))  # a range swept by a factor is valid
    degrees = {str(t["params"]["degrees"]) for j in plan([tmp_path / "s.toml"]).jobs.values()
               if j.kind == "dataset" for t in j.config["data"]["transforms"]
               if t["name"] == "rotate"}
    assert degrees == {"[0.0, 100.0]", "[0.0, 200.0]"}
    bad = write(tmp_path, sweep.replace('"{n}"]', '"{d}"]').replace("k = [1, 2]",
                                                                 "k = [1, 2]\nd = [10, -2]"))
    with pytest.raises(SpecError) as info:
        plan([bad])
    found = {p.path: p for p in info.value.problems}
    assert "got [0, -2] (with d = -2)" in found["data.same.params.rotate.degrees"].message


def test_substituted_value_out_of_range_says_what_is_expected(tmp_path):
    from dsl.planner import plan

    text = edit("n = [100, 200]", "n = [100, -2]")
    with pytest.raises(SpecError) as info:
        plan([write(tmp_path, text)])
    (problem,) = info.value.problems
    assert problem.path == "task.source.n_train"
    assert problem.message == "expected an integer >= 1, got -2 (with n = -2)"


def test_misspelt_required_key_is_one_problem(tmp_path):
    problem = only(tmp_path, edit('task = "source"', 'tsk = "source"'))
    assert problem.path == "train.tsk"
    assert problem.suggestion == "did you mean 'task'?"


def test_empty_seed_list(tmp_path):
    problem = only(tmp_path, edit("seeds = 2", "seeds = []"))
    assert problem.path == "spec.seeds"
    assert problem.message == "expected at least 1 item, got []"


def test_misspelt_vary_component(tmp_path):
    text = edit('task = "C+O->C"\n', 'task = "C+O->C"\n\n[[probe]]\nkind = "sensitivity"\n'
                'vary = "backgrnd"\n')
    problem = only(tmp_path, text)
    assert problem.path == "probe[1].vary"
    assert problem.suggestion == "did you mean 'background'?"


def test_bad_name_in_a_from_list_is_one_problem(tmp_path):
    text = edit("target_objects = { objects = 10 }",
                'target_objects = { objects = 2, from = ["apple", "dgo", "cat"] }')
    problem = only(tmp_path, text)
    assert problem.path == "draw.target_objects.from[1]"
    assert problem.suggestion == "did you mean 'dog'?"


@pytest.mark.parametrize("override, hint", [
    ("seeds=3", "did you mean 'spec.seeds'?"),
    ("epochs=3", "did you mean 'train.epochs'?"),
    ("tran.epochs=3", "did you mean 'train'?"),
])
def test_set_of_a_field_without_its_section_names_the_section(tmp_path, override, hint):
    with pytest.raises(SpecError) as err:
        load_spec(write(tmp_path, VALID), overrides=[override])
    assert hint in str(err.value)


def test_set_of_a_factor_without_its_section_names_factors(tmp_path):
    with pytest.raises(SpecError) as err:
        load_spec(write(tmp_path, VALID), overrides=["n=[3]"])
    assert "did you mean 'factors.n'?" in str(err.value)


def test_problems_come_in_file_then_line_order(tmp_path):
    # a field problem (pydantic, found first) below a reference problem (whole-document check)
    text = edit("epochs = 2", 'epochs = "2"', edit('disjoint_from = ["target_objects"]',
                                                   'disjoint_from = ["target_object"]'))
    found = problems(tmp_path, text)
    assert [(p.line, p.path) for p in found] == [
        (line(text, "source_objects = {"), "draw.source_objects.disjoint_from[0]"),
        (line(text, 'epochs = "2"'), "train.epochs")]
    # with a base: each file's problems together, each file's in line order
    (tmp_path / "_base.toml").write_text('[train]\nlr = "fast"\n')
    child = edit('title = "errors"', 'title = "errors"\nextends = "_base.toml"', text)
    found = problems(tmp_path, child)
    assert sorted((p.file.rsplit("/", 1)[-1], p.line) for p in found) == [
        ("_base.toml", 2), ("s.toml", line(child, "source_objects = {")),
        ("s.toml", line(child, 'epochs = "2"'))]
    files = [p.file for p in found]
    assert files == sorted(files, key=files.index)  # grouped by file
    assert [p.line for p in found if p.file.endswith("s.toml")] == sorted(
        p.line for p in found if p.file.endswith("s.toml"))


def test_a_probe_may_not_be_named_train(tmp_path):
    text = edit('kind = "linear"', 'kind = "linear"\nname = "train"')
    found = [p for p in problems(tmp_path, text) if p.path == "probe[0].name"]
    assert [(p.line, p.message) for p in found] == [
        (line(text, 'name = "train"'), "'train' names the source model's metrics "
                                       "(train.accuracy); rename the probe")]
