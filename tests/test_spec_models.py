"""The raw models: every section and form of the language parses; the JSON Schema agrees."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import tomli
from pydantic import ValidationError

from dsl import catalog
from dsl.load import load_spec
from dsl.spec import (ChartReport, ClassesDraw, CompositeData, FactorsSpec, FinetuneProbe,
                      ObjectsDraw, PatternsDraw, SensitivityProbe, Spec, TransformsDraw,
                      json_schema, placeholders, validate_section)

SPECS = Path(__file__).resolve().parent.parent / "specs"
EVERYTHING = (Path(__file__).resolve().parent / "spec_data" / "everything.toml").read_text()



@pytest.fixture(scope="module")
def everything(tmp_path_factory):
    path = tmp_path_factory.mktemp("spec") / "everything.toml"
    path.write_text(EVERYTHING)
    return load_spec(path)


def test_every_section_parses(everything):
    s = everything
    assert s.spec.seed_list() == [0, 3] and s.spec.description
    assert isinstance(s.draw["few"], ObjectsDraw) and s.draw["few"].from_ == "objs"
    assert s.draw["more"].includes == "objs"
    assert s.draw["tf2"].disjoint_from == ["tf"]  # one name is a list of one
    assert isinstance(s.draw["chain"], TransformsDraw) and s.draw["chain"].nested
    assert isinstance(s.draw["cls"], ClassesDraw) and s.draw["cls"].of == "cifar10"
    assert isinstance(s.draw["pats"], PatternsDraw)
    assert s.data["t2d"].params["rotate"]["degrees"] == [0, 90]
    assert s.data["t2d"].params["noise"]["sigma"] == "{s}"
    assert s.data["count_patterns"].patterns == 12
    assert s.data["c100"].classes == [0, 1, 99]
    assert isinstance(s.data["mix"], CompositeData)
    assert s.data["mix"].background.color == [0, 0, 0]
    assert s.data["mix"].foreground.data == "t2d"
    assert s.data["mix2"].foreground.position == "upper_right"  # default
    assert set(s.task) == {"a", "C+O->C", "C+O->O", "b"}
    assert s.task["b"].label == "class" and s.task["b"].n_train is None
    assert s.factors.values()["flag"] == [True, False]
    assert s.factors.zip == [["n", "s"]]
    assert s.train.arch == "{arch}" and s.train.checkpoint == "best_val"
    assert [p.name_or_kind for p in s.probe] == ["linear", "finetune", "sens", "sens_bg", "accuracy"]
    assert isinstance(s.probe[1], FinetuneProbe) and s.probe[1].schedule == "linear"
    assert isinstance(s.probe[2], SensitivityProbe) and s.probe[2].task is None
    assert isinstance(s.report[1].chart, ChartReport)


def test_defaults_follow_the_language():
    spec = Spec.model_validate({"spec": {"title": "t"}, "train": {"task": "x"}})
    assert spec.spec.seeds == 1 and spec.train.arch == "resnet18"
    assert (spec.train.optimizer, spec.train.lr, spec.train.epochs) == ("adam", 1e-3, 50)
    assert (spec.train.batch_size, spec.train.checkpoint) == (512, "last")
    probe = validate_section("probe", {"kind": "finetune", "task": "t", "n_train": 200})
    assert (probe.epochs, probe.lr, probe.batch_size, probe.linear_epochs) == (50, 1e-4, 256, 200)
    linear = validate_section("probe", {"kind": "linear", "task": "t"})
    assert (linear.epochs, linear.lr, linear.batch_size) == (200, 1e-3, 512)
    assert validate_section("probe", {"kind": "sensitivity", "vary": "hue"}).pairs == 10000
    assert validate_section("probe", {"kind": "accuracy"}).splits == ["test"]


def test_placeholders_are_deferred_then_checked_after_substitution():
    raw = {"task": "t", "epochs": "{epochs}", "arch": "{arch}", "lr": "{lr}"}
    assert validate_section("train", raw).epochs == "{epochs}"
    with pytest.raises(ValidationError):  # after substitution the real type applies
        validate_section("train", {**raw, "epochs": "ten", "arch": "resnet18", "lr": 0.1})
    with pytest.raises(ValidationError):  # only an exact "{name}" stands for a number
        validate_section("train", {**raw, "epochs": "{epochs}0"})
    assert placeholders({"a": ["{x}", "c[{k}]"], "b": 1}) == ["x", "k"]


@pytest.mark.parametrize("section, value", [
    ("train", {"task": "t", "epochs": "50"}),      # TOML strings are not numbers
    ("train", {"task": "t", "epochs": True}),
    ("train", {"task": "t", "lr": 0}),
    ("train", {"task": "t", "momentum": 1.5}),
    ("train", {"task": "t", "schedule": "step"}),
    ("probe", {"kind": "accuracy", "splits": []}),
    ("probe", {"kind": "accuracy", "splits": ["tset"]}),
    ("data", {"kind": "solid", "color": [0, 0]}),
    ("data", {"kind": "cifar10", "classes": [10]}),
    ("data", {"kind": "composite", "background": "black", "foreground": {}}),
    ("data", {"kind": "composite", "background": "black",
              "foreground": {"objects": "o", "data": "d"}}),
    ("data", {"kind": "transforms2d", "objects": "o", "params": {"posterize": {"bits": 1.5}}}),
    ("data", {"kind": "transforms2d", "objects": "o", "params": {"hflip": {"p": 2}}}),
    ("data", {"kind": "transforms2d", "objects": "o", "params": {"scale": {"factor": [1, 0]}}}),
])
def test_wrong_values_are_rejected(section, value):
    with pytest.raises(ValidationError):
        validate_section(section, value)


@pytest.mark.parametrize("draw", [
    {"objects": len(catalog.OBJECT_NAMES) + 1}, {"transforms": 19}, {"objects": 0},
    {"classes": 11, "of": "cifar10"}, {"classes": 5, "of": "mnist"}, {"objects": 3, "x": 1},
    {"objects": 3, "transforms": 3}, {"objectz": 3},
])
def test_wrong_draws_are_rejected(draw):
    with pytest.raises(ValidationError):
        Spec.model_validate({"spec": {"title": "t"}, "train": {"task": "x"}, "draw": {"d": draw}})


def test_factors_allow_free_names_but_only_lists_of_scalars():
    assert FactorsSpec.model_validate({"a": [1, "x", 2.5, True]}).values() == {
        "a": [1, "x", 2.5, True]}
    for bad in ({"a": []}, {"a": 3}, {"a": [[1]]}, {"a": [{"b": 1}]}, {"zip": [["a"]]}):
        with pytest.raises(ValidationError):
            FactorsSpec.model_validate(bad)


def test_report_needs_exactly_one_view():
    base = {"spec": {"title": "t"}, "train": {"task": "x"}}
    for report in ({}, {"table": {"rows": "a", "value": "v"}, "chart": {"x": "a", "y": "v"}}):
        with pytest.raises(ValidationError):
            Spec.model_validate({**base, "report": [report]})


def test_schema_accepts_shipped_specs():
    schema = json_schema()
    validator = jsonschema.Draft202012Validator(schema)
    for name in ("adversarial_invariance.toml", "invariance_vs_factors_samples.toml",
                 "relevance_availability.toml", "invariance_transfer.toml",
                 "_base.toml", "_invariance_transfer.toml"):  # bases: a [train] without task
        doc = json.loads(json.dumps(tomli.loads((SPECS / name).read_text())))
        errors = [e.message for e in validator.iter_errors(doc)]
        assert errors == [], (name, errors)


def test_schema_rejects_what_validation_rejects():
    validator = jsonschema.Draft202012Validator(json_schema())
    good = {"spec": {"title": "t"}, "train": {"task": "x", "epochs": "{e}"}}
    assert list(validator.iter_errors(good)) == []
    for bad in ({"spec": {"title": "t", "seedz": 1}, "train": {"task": "x"}},
                {"spec": {"title": "t"}, "train": {"task": "x", "arch": "resnet19"}},
                {"spec": {"title": "t"}, "train": {"task": "x", "epochs": "ten"}},
                {"spec": {"title": "t"}, "train": {"task": "x"},
                 "probe": [{"kind": "lineer", "task": "x"}]}):
        assert list(validator.iter_errors(bad)), bad


def test_everything_spec_is_schema_valid():
    validator = jsonschema.Draft202012Validator(json_schema())
    assert [e.message for e in validator.iter_errors(tomli.loads(EVERYTHING))] == []


def test_documented_examples_are_the_shipped_specs():
    """docs/spec-language.md shows the two example specs verbatim (comments aside)."""
    doc = (SPECS.parent / "docs" / "spec-language.md").read_text()
    blocks = [b.split("```", 1)[0] for b in doc.split("```toml\n")[1:]]
    shown = {tomli.loads(b)["spec"]["title"]: tomli.loads(b) for b in blocks if "[spec]" in b}
    for name in ("adversarial_invariance.toml", "invariance_vs_factors_samples.toml"):
        spec = tomli.loads((SPECS / name).read_text())
        assert shown[spec["spec"]["title"]] == spec
