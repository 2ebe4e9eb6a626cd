"""The job-kind registry (dsl.kinds) is the one home of a kind's facts: what reads it agrees with
it, and a kind that only the registry knows is validated, planned, costed, placed, run and
tabulated like a shipped one."""

from __future__ import annotations

from pathlib import Path

from dsl import catalog, kinds, profiles, spec
from dsl.kinds import KINDS, Kind
from engine.resources import KIND_DEFAULTS, ResourcePolicy
from engine.results.frame import KIND_METRICS
from tests.plugin_script import run_plugin_script

ROOT = Path(__file__).resolve().parent.parent


def test_every_shipped_probe_names_a_model_and_a_builder_that_exist():
    for name in catalog.PROBE_KINDS:
        k = KINDS[name]
        assert kinds.load(k.probe) is spec.PROBE_MODELS[name]
        assert callable(kinds.load(k.resolve))
        assert k.metrics, name
    assert set(catalog.PROBE_KINDS) == {k.name for k in KINDS.values() if k.probe}


def test_every_cost_names_a_function_and_every_model_kind_has_one():
    for k in KINDS.values():
        if k.cost is not None:
            assert callable(kinds.load(k.cost)), k.name
        assert (k.cost is None) == (k.name == "dataset"), k.name


def test_the_docs_list_every_kind_with_its_metrics():
    text = (ROOT / "docs" / "jobs.md").read_text()
    for k in KINDS.values():
        assert f"### `{k.name}`" in text
        for metric in k.metrics:
            assert f"`{metric}`" in text, (k.name, metric)


def test_views_follow_a_kind_registered_later(monkeypatch):
    """Tables, checks, resources and profiles read the registry when asked, not a copy."""
    extra = Kind("extra", "1", "nowhere:run", True, "test", cpu=3.0, arch=True,
                 metrics=("m",), profiles={"smoke": ()}, reads_files=True, order=50)
    monkeypatch.setitem(KINDS, "extra", extra)
    assert KIND_METRICS["extra"] == ("m",) and spec.METRICS["extra"] == ("m",)
    assert list(KIND_METRICS)[-1] == "extra"  # listed in display order
    assert KIND_DEFAULTS["extra"].cpu == 3.0 and KIND_DEFAULTS["extra"].arch
    req = ResourcePolicy(per_gpu=4).request("extra", {"model": {"arch": "resnet50"}})
    assert (req.gpu, req.cpu) == (0.5, 3.0)
    assert "extra" in kinds.reads_files()
    assert profiles.get("smoke").apply("extra", {"a": 1}) == {"a": 1}


def test_a_plugin_probe_kind_goes_from_spec_to_table(tmp_path):
    out = run_plugin_script("fake_probe.py", tmp_path)
    assert "probe 'count' has no metric 'scor' (it has score, calls)" in out["bad_metric"]
    assert "bad.toml:25" in out["bad_metric"]
    assert out["planned"] == [1.5, 3.0]
    assert out["smoke"] == [1.5, 2.0]  # the kind's own smoke rule caps scale at 2
    assert out["cost"]["count"] == 0.0045  # (1.5 + 3.0) x 1e12 FLOP
    assert out["request"] == "gpu:0,cpu:2"
    assert out["ran"] == {"ok": True, "count": 4}  # dataset, train, two count jobs
    assert out["table"] == [{"s": 1.5, "count.score": 3.0}, {"s": 3.0, "count.score": 6.0}]


def test_the_kinds_table_in_the_docs_is_the_registry():
    text = (ROOT / "docs" / "jobs.md").read_text()
    begin = "<!-- kinds table: generated -->\n"
    start = text.index(begin) + len(begin)
    end = text.index("<!-- end of kinds table -->")
    assert text[start:end] == kinds.markdown(), "regenerate it with python3 -m dsl.kinds"


def test_a_profile_with_its_own_rules_ignores_the_registry():
    """A profile made outside the registry (a benchmark's calibration sample) says its rules."""
    mine = profiles.Profile("mine", "test", rules={"train": (
        profiles.Rule(("epochs",), "cap", 3),)})
    assert mine.apply("train", {"epochs": 50, "batch_size": 512}) == {"epochs": 3,
                                                                      "batch_size": 512}
    assert mine.apply("linear", {"epochs": 200}) == {"epochs": 200}
    smoke = profiles.get("smoke")
    assert smoke.apply("linear", {"epochs": 200, "n_train": None}) == {"epochs": 20,
                                                                      "n_train": None}
