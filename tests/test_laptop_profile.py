"""The laptop profile: the first 5 seeds, capped sizes and epochs, batch 32, width 1/8, fewer
epochs for the costliest architectures, all on resolved configs (docs/claims.md: measured)."""

from pathlib import Path

from dsl.config_rules import Rule
from dsl.planner import plan

SPECS = Path(__file__).resolve().parents[1] / "specs"


def test_laptop_keeps_five_seeds_and_caps_every_training():
    full = plan([SPECS / "invariance_vs_factors_classes.toml"]).specs[0]
    lap = plan([SPECS / "invariance_vs_factors_classes.toml"], profile="laptop").specs[0]
    assert {c.seed for c in full.cells} == set(range(10))
    assert {c.seed for c in lap.cells} == set(range(5))  # enough seeds for a claim's interval
    trains = [j for j in lap.jobs.values() if j.kind == "train"]
    # batch 32: four times the optimizer steps of batch 128 for the same CPU time per image
    assert trains and all(j.config["epochs"] == 8 and j.config["batch_size"] == 32 and
                          j.config["model"]["width"] == 0.125 for j in trains)
    sizes = [j.config["sizes"] for j in lap.jobs.values() if j.kind == "dataset"]
    assert all(s["train"] <= 2000 and s["val"] <= 500 and s["test"] <= 1000 for s in sizes)
    probes = [j for j in lap.jobs.values() if j.kind == "linear"]
    assert probes and all(j.config["epochs"] <= 100 for j in probes)


def test_laptop_trains_the_costliest_architectures_fewer_epochs():
    lap = plan([SPECS / "invariance_vs_factors_architecture.toml"], profile="laptop").specs[0]
    epochs: dict[str, set] = {}
    for j in lap.jobs.values():
        if j.kind == "train":
            epochs.setdefault(j.config["model"]["arch"], set()).add(j.config["epochs"])
    assert epochs == {"resnet18": {8}, "vgg11_bn": {8}, "vit": {8},
                      "resnet50": {4}, "densenet121": {4}}


def test_laptop_fine_tunes_at_batch_32_for_at_most_5_epochs():
    lap = plan([SPECS / "finetuning.toml"], profile="laptop").specs[0]
    tunes = [j for j in lap.jobs.values() if j.kind == "finetune"]
    assert tunes and all(j.config["epochs"] == 5 and j.config["batch_size"] == 32
                         for j in tunes)


def test_laptop_leaves_specs_with_fewer_seeds_their_seeds():
    quick = plan([SPECS / "quickstart.toml"], profile="laptop").specs[0]
    assert {c.seed for c in quick.cells} == {0, 1, 2}
    smoke = plan([SPECS / "quickstart.toml"], profile="smoke").specs[0]
    assert {c.seed for c in smoke.cells} == {0}


def test_a_rule_with_only_rewrites_just_the_configs_it_names():
    rule = Rule(("epochs",), "cap", 4, only=((("model", "arch"), ("resnet50",)),))
    big, small, bare = ({"model": {"arch": "resnet50"}, "epochs": 50},
                        {"model": {"arch": "resnet18"}, "epochs": 50}, {"epochs": 50})
    for config in (big, small, bare):
        rule.apply(config)
    assert (big["epochs"], small["epochs"], bare["epochs"]) == (4, 50, 50)
