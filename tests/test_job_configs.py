"""Typed job configs (dsl.job_configs): every config the planner makes parses back to itself,
a recorded config that does not fit its kind is refused naming the kind and the field, the job
functions read them, and docs/jobs.md lists their fields as the classes say."""

from __future__ import annotations

from pathlib import Path

import pytest

from dsl import identity, job_config_docs, job_configs, kinds
from dsl.job_configs import (JobConfigError, LinearConfig, ModelConfig, SensitivityConfig,
                             TrainConfig, Vary)
from dsl.planner import plan
from engine.store import recorded_lookup

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted(p for p in (ROOT / "specs").glob("*.toml") if not p.name.startswith("_"))
# the two transfer specs plan 20,000 jobs each without a profile, and their configs are of the
# shapes their smoke and laptop plans already hold; every other plan is checked whole
BIG = {"invariance_transfer", "invariance_transfer_cifar"}
PLANS = [(s, p) for s in SHIPPED for p in (None, "smoke", "laptop")
         if not (p is None and s.stem in BIG)]


@pytest.mark.parametrize("spec,profile", PLANS,
                         ids=[f"{s.stem}-{p or 'default'}" for s, p in PLANS])
def test_every_planned_config_parses_back_to_itself(spec, profile, tmp_path):
    p = plan([spec], profile=profile, recorded=recorded_lookup(tmp_path / "store"),
             data_root=tmp_path / "no-data")
    typed = set()
    for job in p.jobs.values():
        config = job_configs.parse(job.kind, job.config)
        assert isinstance(config, job_configs.config_class(job.kind)), job.kind
        again = config.to_config()
        assert again == job.config, job.kind
        # equal as hashed, too: 1 and 1.0 are one value to == but two to the JobId
        assert identity.job_id(job.kind, job.version, again, job.inputs) == job.id
        typed.add(job.kind)
    assert typed >= {"dataset", "train"}


def test_every_shipped_kind_names_its_config_class():
    for kind in kinds.KINDS.values():
        cls = job_configs.config_class(kind.name)
        assert cls is not None and cls.KIND == kind.name, kind.name


def _train() -> dict:
    return {"model": {"arch": "small_cnn", "width": 0.5, "num_classes": 4}, "label": "class",
            "optimizer": {"name": "sgd", "lr": 0.1, "weight_decay": 0.0, "momentum": 0.9},
            "schedule": {"name": "cosine", "warmup_epochs": 1, "final_lr": 0.0},
            "epochs": 3, "batch_size": 64, "checkpoint": "last", "seed": 2}


def test_a_missing_field_is_named_with_its_kind():
    config = _train()
    del config["optimizer"]["lr"]
    with pytest.raises(JobConfigError, match=r"^train config: field 'optimizer\.lr' is missing"):
        TrainConfig.parse(config)
    with pytest.raises(JobConfigError, match=r"^linear config: field 'weight_decay' is missing"):
        job_configs.parse("linear", {"label": "class", "epochs": 2, "lr": 0.1, "batch_size": 8,
                                     "n_train": None, "seed": 0})


def test_an_unknown_field_is_named_with_a_suggestion():
    with pytest.raises(JobConfigError, match=r"train config: field 'epoch' is not a field .*"
                                             r"did you mean 'epochs'"):
        TrainConfig.parse({**_train(), "epoch": 3})
    config = _train()
    config["model"]["depth"] = 3
    with pytest.raises(JobConfigError, match=r"train config: field 'model\.depth'"):
        TrainConfig.parse(config)


def test_wrong_types_and_values_are_named():
    with pytest.raises(JobConfigError, match=r"train config: field 'epochs' is '3', not int"):
        TrainConfig.parse({**_train(), "epochs": "3"})
    with pytest.raises(JobConfigError, match=r"field 'checkpoint' is 'best', not one of last"):
        TrainConfig.parse({**_train(), "checkpoint": "best"})
    with pytest.raises(JobConfigError, match=r"accuracy config: field 'splits' is 'test', not"):
        job_configs.parse("accuracy", {"model": _train()["model"], "label": "class",
                                       "splits": "test"})
    with pytest.raises(JobConfigError, match=r"field 'vary' needs exactly one"):
        Vary.parse({}, "sensitivity", "vary")


def test_empty_augment_and_files_are_absent_and_may_be_absent():
    model = ModelConfig("small_cnn", 0.5, 4)
    config = TrainConfig.parse(_train())
    assert config.augment == () and "augment" not in config.to_config()
    s = SensitivityConfig(model, {"kind": "solid"}, Vary(component="foreground"), 8, 0)
    assert s.to_config() == {"model": model.to_config(), "data": {"kind": "solid"},
                             "vary": {"component": "foreground"}, "pairs": 8, "seed": 0}
    assert SensitivityConfig.parse(s.to_config()) == s
    # ints stay ints and floats floats: the dict hashed is the dict parsed
    lin = {"label": "class", "epochs": 2, "lr": 1, "batch_size": 8, "weight_decay": 0.0,
           "n_train": None, "seed": 0}
    assert LinearConfig.parse(lin).to_config() == lin and LinearConfig.parse(lin).lr == 1


def test_a_kind_without_a_config_class_keeps_its_dict(monkeypatch):
    k = kinds.KINDS["linear"]
    monkeypatch.setitem(kinds.KINDS, "plain", kinds.Kind("plain", "1", k.impl, False, "x"))
    config = {"anything": 1}
    assert job_configs.parse("plain", config) is config


def test_the_job_functions_refuse_a_config_that_does_not_fit(tmp_path):
    """The engine parses before it reads data or a model: a partial config fails at once,
    naming the field, instead of running with a default of the engine's own."""
    from engine.jobs import Input, RunContext
    from engine.probes import linear
    from engine import train

    missing = {"label": "class", "epochs": 2, "lr": 0.1, "batch_size": 8, "seed": 0}
    absent = Input("features-x", "features", {}, tmp_path / "absent")
    with pytest.raises(JobConfigError, match="linear config: field 'weight_decay' is missing"):
        linear.run(missing, {"features": absent}, tmp_path, RunContext(device="cpu"))
    config = _train()
    del config["checkpoint"]
    with pytest.raises(JobConfigError, match="train config: field 'checkpoint' is missing"):
        train.run(config, {"data": Input("dataset-x", "dataset", {}, tmp_path / "absent")},
                  tmp_path, RunContext(device="cpu"))


def test_finetuning_momentum_is_the_spec_s_default():
    from dsl.spec import TrainSpec

    assert job_configs.FinetuneConfig.momentum.fget(None) == TrainSpec(task="t").momentum


def test_the_config_fields_in_the_docs_are_the_classes():
    text = (ROOT / "docs" / "jobs.md").read_text()
    start = text.index("<!-- job configs: generated -->\n") + len(
        "<!-- job configs: generated -->\n")
    end = text.index("<!-- end of job configs -->")
    assert text[start:end] == job_config_docs.markdown(), \
        "regenerate it with python3 -m dsl.job_config_docs"
