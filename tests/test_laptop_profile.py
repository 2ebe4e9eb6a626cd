"""The laptop profile: the first 3 seeds, capped sizes and epochs, width 1/8, on resolved configs."""

from pathlib import Path

from dsl.planner import plan

SPECS = Path(__file__).resolve().parents[1] / "specs"


def test_laptop_keeps_three_seeds_and_caps_every_training():
    full = plan([SPECS / "invariance_vs_factors_classes.toml"]).specs[0]
    lap = plan([SPECS / "invariance_vs_factors_classes.toml"], profile="laptop").specs[0]
    assert {c.seed for c in full.cells} == set(range(10))
    assert {c.seed for c in lap.cells} == {0, 1, 2}  # enough seeds for a claim's interval
    trains = [j for j in lap.jobs.values() if j.kind == "train"]
    assert trains and all(j.config["epochs"] <= 8 and j.config["batch_size"] <= 128 and
                          j.config["model"]["width"] == 0.125 for j in trains)
    sizes = [j.config["sizes"] for j in lap.jobs.values() if j.kind == "dataset"]
    assert all(s["train"] <= 2000 and s["val"] <= 500 and s["test"] <= 1000 for s in sizes)
    probes = [j for j in lap.jobs.values() if j.kind == "linear"]
    assert probes and all(j.config["epochs"] <= 100 for j in probes)


def test_laptop_leaves_specs_with_fewer_seeds_their_seeds():
    quick = plan([SPECS / "quickstart.toml"], profile="laptop").specs[0]
    assert {c.seed for c in quick.cells} == {0, 1, 2}
    smoke = plan([SPECS / "quickstart.toml"], profile="smoke").specs[0]
    assert {c.seed for c in smoke.cells} == {0}
