"""The shipped specs: every one validates and plans, at the paper's scale, to the job counts its
design implies (written here from the paper, not read back from the planner), shares the jobs it
should with the others, and shrinks under the smoke profile.
"""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
import tomli

from dsl.load import load_spec
from dsl.planner import plan

SPECS = Path(__file__).resolve().parents[1] / "specs"
SEEDS = 10
N_TRANSFORMS = 18

# Per seed: (source models, probe jobs by kind). From the paper's design:
PER_SEED = {
    # Table 1: 4 pretraining tasks; every model probed on every task (4 x 4); sensitivity to
    # swapping the CIFAR image and to swapping the object, once per model.
    "adversarial_invariance": (4, {"linear": 16, "sensitivity": 8}),
    # Sec. 4.1: same / other x 5 training-set sizes, one linear probe each.
    "invariance_vs_factors_samples": (10, {"linear": 10}),
    # same / other x 5 architectures.
    "invariance_vs_factors_architecture": (10, {"linear": 10}),
    # same / other x subset / disjoint / same / superset.
    "invariance_vs_factors_classes": (8, {"linear": 8}),
    # same / other on CIFAR with the transforms as augmentation.
    "invariance_vs_factors_cifar10": (2, {"linear": 2}),
    "invariance_vs_factors_cifar100": (2, {"linear": 2}),
    # App. C.3: relevance rho in 9 levels, availability a in 6 levels, sharing rho=0, a=1: 14
    # models; linear probes on the CIFAR label and the object label; sensitivity to the object.
    "relevance_availability": (14, {"linear": 28, "sensitivity": 14}),
    # Table 2: 2 data kinds x (18 transforms + none) models; sensitivity to each of the 18
    # transforms on in-distribution, unseen and strongly shifted data ...
    "invariance_transfer": (2 * 19, {"sensitivity": 2 * 19 * N_TRANSFORMS * 3}),
    # ... and on CIFAR-10 and CIFAR-100 (the same models).
    "invariance_transfer_cifar": (2 * 19, {"sensitivity": 2 * 19 * N_TRANSFORMS * 2}),
    # Sec. 5.2: nested transform sets T1..T8: a model per Tk, probed on every Tj.
    "invariance_mismatch": (8, {"linear": 64}),
    # App. C.2: same / other models, fine-tuned with 200 and with 2000 target samples.
    "finetuning": (2, {"finetune": 4}),
    # Bouchacourt et al.: 2 archs x (3 transforms in the data or not x 3 augmentations), the rows
    # without a studied transform (none, standard augmentation) one model for all 3 transforms:
    # 2 x (2 + 3 x 4) models; sensitivity and a linear probe for each of the 2 x 3 x 6 rows.
    "invariance_sources": (28, {"sensitivity": 36, "linear": 36}),
}


@pytest.fixture(scope="module")
def full_plan():
    return plan([SPECS])


def kinds(jobs) -> collections.Counter:
    return collections.Counter(job.kind for job in jobs.values())


def test_every_paper_experiment_ships_and_nothing_else_runs_by_default(full_plan):
    assert {s.name for s in full_plan.specs} == set(PER_SEED) | {"quickstart"}
    assert not any(s.name.startswith("_") for s in full_plan.specs)


@pytest.mark.parametrize("name", sorted(PER_SEED))
def test_job_counts_at_the_papers_scale(full_plan, name):
    models, probes = PER_SEED[name]
    spec = full_plan.spec(name)
    got = kinds(spec.jobs)
    assert got["train"] == models * SEEDS
    for kind, n in probes.items():
        assert got[kind] == n * SEEDS, kind
    assert {k for k in got if k not in ("dataset", "train", "features")} == set(probes)
    # every cell is one seed's factor combination, and ten seeds run
    assert {c.seed for c in spec.cells} == set(range(SEEDS))


def test_specs_cite_the_paper_and_extend_one_base():
    for path in sorted(SPECS.glob("*.toml")):
        text = path.read_text()
        doc = tomli.loads(text)
        assert doc["spec"].get("title"), path.name
        assert text.startswith("# "), f"{path.name}: opens with a comment citing the paper"
        if path.name not in ("quickstart.toml", "_base.toml"):
            assert "paper" in text.split("[spec]")[0].lower(), path.name
            extends = doc["spec"].get("extends")
            assert extends in ("_base.toml", "_invariance_transfer.toml"), path.name


def test_paper_defaults_come_from_the_base():
    spec = load_spec(SPECS / "invariance_vs_factors_samples.toml")
    assert spec.spec.seeds == SEEDS
    assert spec.train.arch == "resnet18"
    assert spec.train.epochs == 50
    assert spec.train.batch_size == 512


def test_models_are_shared_across_specs(full_plan):
    """One definition of a model is one job: the 50,000-sample same/other ResNet-18s serve
    samples, architecture, classes (disjoint) and finetuning; Table 2's 38 models per seed serve
    the generated and the CIFAR columns; relevance's rho=0, a=1 model is Table 1's C+O->C."""
    per_spec = sum(kinds(s.jobs)["train"] for s in full_plan.specs)
    unique = kinds(full_plan.jobs)["train"]
    shared = {
        "finetuning": 2, "invariance_vs_factors_architecture": 2,
        "invariance_vs_factors_classes": 2, "invariance_transfer_cifar": 38,
        "relevance_availability": 1, "invariance_sources": 4,
    }
    assert per_spec - unique == sum(shared.values()) * SEEDS

    def trains(name):
        return {c.train for c in full_plan.spec(name).cells}

    samples = trains("invariance_vs_factors_samples")
    for name in ("finetuning", "invariance_vs_factors_architecture",
                 "invariance_vs_factors_classes"):
        assert len(trains(name) & samples) == 2 * SEEDS, name
    assert trains("invariance_transfer") == trains("invariance_transfer_cifar")
    assert len(trains("relevance_availability") & trains("adversarial_invariance")) == SEEDS
    # the untransformed and the translate, scale and hue ResNet-18s of Table 2
    assert len(trains("invariance_sources") & trains("invariance_transfer")) == 4 * SEEDS


def test_cifar_needs_are_declared(full_plan):
    needs = {s.name: set(s.requires) for s in full_plan.specs if s.requires}
    assert needs == {
        "adversarial_invariance": {"cifar10"}, "relevance_availability": {"cifar10"},
        "invariance_vs_factors_cifar10": {"cifar10"},
        "invariance_vs_factors_cifar100": {"cifar100"},
        "invariance_transfer_cifar": {"cifar10", "cifar100"},
    }


def test_smoke_profile_runs_one_seed_of_everything():
    small = plan([SPECS], profile="smoke")
    for spec in small.specs:
        assert {c.seed for c in spec.cells} == {0}, spec.name
        models, probes = PER_SEED.get(spec.name, (2, {"linear": 2}))
        if spec.name == "invariance_vs_factors_samples":
            models, probes = 2, {"linear": 2}  # all 5 sizes are capped to 512 samples: one each
        got = kinds(spec.jobs)
        assert got["train"] == models, spec.name
        for kind, n in probes.items():
            assert got[kind] == n, (spec.name, kind)
    for job in small.jobs.values():
        if job.kind == "train":
            assert job.config["epochs"] <= 2
        if job.kind == "dataset":
            assert job.config["sizes"]["train"] <= 512
