"""The data-kind registry (dsl.data_kinds) and the per-kind resolvers (dsl.data_resolvers):
every shipped kind is registered once and reached only through the registry, and a plugin's kind
(tests/fake_data_kind.py) is validated, resolved, sized, checked, planned and run."""

from __future__ import annotations

import importlib
import sys
from types import SimpleNamespace

from dsl import catalog, data_kinds, data_resolvers, kinds, spec
from dsl.data_kinds import DATA_KINDS, DataKind
from tests.plugin_script import run_plugin_script


def test_every_kind_has_its_model_and_resolver():
    assert catalog.DATA_KINDS == data_kinds.names() == tuple(spec.DATA_MODELS)
    for name, k in DATA_KINDS.items():
        assert k.source and callable(kinds.load(k.source)), name
        model = spec.DATA_MODELS[name]
        assert name in str(model.model_fields["kind"].annotation), name
        mod = importlib.import_module(k.resolver)
        assert callable(mod.resolve) and callable(mod.class_count), name
    assert spec.BUILTIN_DATA == ("cifar10", "cifar100", "black")


def test_nested_data_is_reached_through_the_registry(monkeypatch):
    """A composite on a kind the shipped code never names: sizes, real source, class counts,
    transforms and local files all come from that kind's record and resolver."""
    fake = SimpleNamespace(__name__="fake_kind", class_count=lambda data, label: 7,
                           sources=lambda data: {"folder:" + data["where"]})
    monkeypatch.setitem(sys.modules, "fake_kind", fake)
    monkeypatch.setitem(DATA_KINDS, "scans", DataKind(
        "scans", "unused:Model", "fake_kind", "fake", real=True,
        sizes={"train": None, "val": 11, "test": None}))
    scans = {"kind": "scans", "where": "/scans", "transforms": [{"name": "hue", "params": {}}]}
    objects = {"kind": "transforms2d", "objects": ["cat", "dog"], "transforms": [],
               "foregrounds": "openmoji", "backgrounds": "none"}
    data = {"kind": "composite", "background": scans, "foreground": objects}
    task = SimpleNamespace(n_train=None, n_val=None, n_test=5)
    assert data_resolvers.real_kind(data) == "scans"
    assert data_resolvers.sizes(data, task) == {"train": None, "val": 11, "test": 5}
    assert data_resolvers.class_count(data) == 7
    assert data_resolvers.class_count(data, "foreground") == 2
    assert data_resolvers.data_transform_names(data) == {"hue"}
    assert data_resolvers.local_sources(data) == {"folder:/scans"}


def test_a_plugin_data_kind_is_validated_planned_and_run(tmp_path):
    out = run_plugin_script("fake_data_kind.py", tmp_path)
    assert out["bad_field"] == ("bad_field.toml:8 (data.lines.classes): expected an integer "
                                ">= 1, got 'many'")
    assert out["bad_kind"].startswith("bad_kind.toml:7 (data.lines): unknown data kind "
                                      "'stripez'")
    assert "did you mean 'stripes'?" in out["bad_kind"]
    # the kind's own check, at the task's n_train, for the cell that breaks it
    assert out["bad_check"] == ("bad_check.toml:12 (task.t.n_train): n_train = 4 but stripes "
                                "has 5 classes; one image per class at least")
    assert "label 'foreground' needs composite data" in out["bad_label"]
    # resolved by its resolver, sized by its record's defaults (n_train from the task)
    assert out["datasets"] == [
        {"data": {"kind": "stripes", "classes": k, "resolution": 16},
         "sizes": {"train": n, "val": 30, "test": 60}, "seed": 0}
        for k, n in ((2, 300), (3, 40), (5, 40))]  # k = 2: the built-in "zebra"
    assert out["classes"] == [3, 5]  # the model's head: the kind's class count
    assert out["jobs"] == sorted(["dataset"] * 3 + ["train", "features", "linear"] * 2)
    # the engine renders it with the kind's own source, and trains and probes on it
    assert out["ran"] == {"ok": True, "count": 9}
    assert out["zebra"]["shape"] == [60, 3, 16, 16] and out["zebra"]["classes"] == [0, 1]
    assert out["zebra"]["columns"] == {"0": [0] * 8 + [255] * 8, "1": ([0] * 4 + [255] * 4) * 2}


def test_the_engine_builds_sources_through_the_registry(monkeypatch):
    import pytest

    from dsl.errors import DslError
    from engine.data import generation

    src = generation.build({"kind": "solid", "color": [255, 0, 0], "resolution": 8})
    assert src.names == ["solid_255_0_0"]
    with pytest.raises(DslError, match="unknown data kind 'sollid'; did you mean 'solid'"):
        generation.build({"kind": "sollid"})
    monkeypatch.setitem(DATA_KINDS, "sketch", DataKind("sketch", "m:M", "r", "plan-only"))
    with pytest.raises(DslError, match="data kind 'sketch' has no image source"):
        generation.build({"kind": "sketch"})
