"""Profiles: `smoke` shrinks resolved configs (not the spec); unknown names are helpful errors."""

from __future__ import annotations

import textwrap

import pytest

from dsl.errors import DslError
from dsl.planner import plan
from dsl.profiles import PROFILES, get

SPEC = """\
[spec]
title = "big"
seeds = 3

[draw]
objs = { objects = 10 }

[task.src]
data = { kind = "transforms2d", objects = "objs", transforms = "rotate" }

[task.cifar]
data = "cifar10"

[factors]
arch = ["resnet18", "small_cnn"]

[train]
task = "src"
arch = "{arch}"
width = 2.0
epochs = 50
batch_size = 512
warmup_epochs = 5

[[probe]]
kind = "linear"
task = "cifar"
epochs = 200

[[probe]]
kind = "finetune"
task = "src"
n_train = 2000
epochs = 50

[[probe]]
kind = "sensitivity"
vary = "all"
"""


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    path = tmp_path_factory.mktemp("profiles") / "big.toml"
    path.write_text(textwrap.dedent(SPEC))
    return plan([path]), plan([path], profile="smoke")


def of(p, kind):
    return [j for j in p.jobs.values() if j.kind == kind]


def test_smoke_shrinks_every_kind(plans):
    full, smoke = plans
    assert len(full.specs[0].cells) == 6 and len(smoke.specs[0].cells) == 2
    assert {c.seed for c in smoke.specs[0].cells} == {0}
    assert smoke.profile == "smoke"
    for ds in of(smoke, "dataset"):
        sizes = ds.config["sizes"]
        assert sizes["train"] <= 512 and sizes["val"] <= 128 and sizes["test"] <= 128
        assert None not in sizes.values()  # "all" is capped too
    widths = {j.config["model"]["arch"]: j.config["model"]["width"] for j in of(smoke, "train")}
    assert widths == {"resnet18": 0.25, "small_cnn": 2.0}  # small_cnn keeps its width
    for job in of(smoke, "train"):
        assert job.config["epochs"] == 2 and job.config["batch_size"] == 128
    for kind in ("features", "finetune", "sensitivity"):
        for job in of(smoke, kind):  # the model a probe loads is the one that was trained
            assert job.config["model"]["width"] == widths[job.config["model"]["arch"]]
    assert {j.config["epochs"] for j in of(smoke, "linear")} == {20}
    assert {j.config["n_train"] for j in of(smoke, "linear")} == {None}  # unset stays unset
    for job in of(smoke, "finetune"):
        assert job.config["epochs"] == 2 and job.config["n_train"] == 512
        assert job.config["linear"]["epochs"] == 20
    assert {j.config["pairs"] for j in of(smoke, "sensitivity")} == {64}


def test_smoke_jobs_never_share_ids_with_full_jobs(plans):
    full, smoke = plans
    assert not set(full.jobs) & set(smoke.jobs)
    assert full.specs[0].hash != smoke.specs[0].hash


def test_profiles_do_not_touch_unprofiled_plans(plans):
    full, _ = plans
    assert {j.config["epochs"] for j in of(full, "train")} == {50}
    assert {j.config["model"]["width"] for j in of(full, "train")} == {2.0}


def test_unknown_profile(tmp_path):
    assert "smoke" in PROFILES and get(None) is None
    with pytest.raises(DslError, match="did you mean 'smoke'") as err:
        get("smoek")
    assert "known: smoke" in str(err.value)
    with pytest.raises(DslError, match="unknown profile"):
        plan([tmp_path], profile="tiny")


def test_smoke_caps_warmup_and_the_finetune_linear_stage(plans):
    full, smoke = plans
    assert {j.config["schedule"]["warmup_epochs"] for j in of(full, "train")} == {5}
    assert {j.config["schedule"]["warmup_epochs"] for j in of(smoke, "train")} == {1}
    # the linear stage of a finetune trains on the same capped n_train as the finetune itself
    assert {j.config["linear"]["n_train"] for j in of(full, "finetune")} == {2000}
    assert {j.config["linear"]["n_train"] for j in of(smoke, "finetune")} == {512}


def test_smoke_runs_the_first_listed_seed(tmp_path):
    path = tmp_path / "seeds.toml"
    path.write_text(textwrap.dedent(SPEC).replace("seeds = 3", "seeds = [7, 2]"))
    assert [c.seed for c in plan([path], profile="smoke").specs[0].cells] == [7, 7]
    assert {c.seed for c in plan([path]).specs[0].cells} == {7, 2}


def test_smoke_accuracy_probes_load_the_shrunk_model(tmp_path):
    path = tmp_path / "acc.toml"
    path.write_text(textwrap.dedent(SPEC) + '\n[[probe]]\nkind = "accuracy"\n')
    smoke = plan([path], profile="smoke")
    trained = {j.id: j.config["model"] for j in of(smoke, "train")}
    accuracy = of(smoke, "accuracy")
    assert len(accuracy) == 2
    for job in accuracy:
        assert job.config["model"] == trained[job.inputs["model"]]
    assert {j.config["model"]["width"] for j in accuracy} == {0.25, 2.0}
