"""`dsl.estimate`: the compute `dsl plan` prints, checked against its documented arithmetic.

Forward FLOPs per image scale with width^2 and (resolution/32)^2; training counts 3 forward
passes per sample and epoch plus one per val sample and epoch and one per test sample; a null
("all") size of real data is the class count times the per-class pool, less val.
"""

from __future__ import annotations

import textwrap

import pytest

from dsl import estimate as est
from dsl.planner import plan

SPEC = """\
[spec]
title = "estimate"
seeds = [0]

[task.src]
data = { kind = "transforms2d", objects = ["apple", "banana"], resolution = 64 }
n_train = 100
n_val = 10
n_test = 20

[task.cif]
data = { kind = "cifar10", classes = [1, 2, 3] }

[train]
task = "src"
arch = "resnet18"
width = 0.5
epochs = 3

[[probe]]
kind = "linear"
task = "cif"
epochs = 2

[[probe]]
kind = "finetune"
task = "src"
n_train = 50
epochs = 2

[[probe]]
kind = "sensitivity"
vary = "rotate"
pairs = 100

[[probe]]
kind = "accuracy"
splits = ["test", "val"]
"""

F32 = 1.11e9 * 0.5 ** 2  # resnet18 at width 0.5 on a 32x32 image
F64 = F32 * 4  # ... on 64x64


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    path = tmp_path_factory.mktemp("estimate") / "e.toml"
    path.write_text(textwrap.dedent(SPEC))
    p = plan([path])
    (cell,) = p.specs[0].cells
    by_probe = {r.name: p.jobs[r.job] for r in cell.probes}
    return p, p.jobs[cell.train], by_probe


def test_flop_of_each_job_kind(planned):
    p, train, probes = planned
    flop = {kind: est.job_flop(job, p.jobs) for kind, job in
            [("train", train)] + list(probes.items())}
    assert flop["train"] == pytest.approx(F64 * (3 * 100 * 3 + 10 * 3 + 20))
    # finetune: features once for its linear stage, 3 passes per epoch, val+test every epoch+1
    assert flop["finetune"] == pytest.approx(F64 * (50 + 3 * 50 * 2 + (10 + 20) * 3))
    assert flop["sensitivity"] == pytest.approx(F64 * 2 * 100)  # x1 and x2 of each pair
    assert flop["accuracy"] == pytest.approx(F64 * (20 + 10))  # only the listed splits
    # cifar10 with 3 classes and null sizes: train 3 x 5000 - 5000 val, test 3 x 1000
    features = p.jobs[probes["linear"].inputs["features"]]
    assert est.job_flop(features, p.jobs) == pytest.approx(F32 * (10000 + 5000 + 3000))
    dim, classes = 512 * 0.5, 3
    assert flop["linear"] == pytest.approx(2 * dim * classes * (3 * 10000 * 2 + 5000 + 3000))
    assert est.job_flop(p.jobs[train.inputs["data"]], p.jobs) == 0.0


def test_a_linear_probe_trains_on_at_most_n_train(planned):
    p, _, probes = planned
    linear = probes["linear"]
    capped = type(linear)(linear.id, linear.kind, linear.version,
                          {**linear.config, "n_train": 700}, linear.inputs)
    assert est.job_flop(capped, p.jobs) == pytest.approx(
        2 * 256 * 3 * (3 * 700 * 2 + 5000 + 3000))


def test_split_sizes_of_real_data_fill_nulls():
    cifar = {"kind": "cifar100", "classes": None}
    assert est.split_sizes({"data": cifar, "sizes": {"train": None, "val": 5000,
                                                     "test": None}}) == {
        "train": 50000 - 5000, "val": 5000, "test": 10000}
    # a null val of real data is at most 5000; a composite counts its background's images
    composite = {"kind": "composite", "background": {"kind": "cifar10", "classes": [0, 1]},
                 "foreground": {"kind": "solid"}}
    assert est.split_sizes({"data": composite, "sizes": {"train": 300, "val": None,
                                                         "test": None}}) == {
        "train": 300, "val": 5000, "test": 2000}
    folder = {"kind": "image_folder", "path": "/nowhere", "classes": None}
    assert est.split_sizes({"data": folder, "sizes": {"train": None, "val": 7,
                                                      "test": None}}) == {
        "train": est.UNKNOWN_FOLDER_SIZE, "val": 7, "test": est.UNKNOWN_FOLDER_SIZE}


def test_totals_pflop_and_gpu_hours(planned):
    p, _, _ = planned
    e = est.estimate(p.jobs)
    total = sum(est.job_flop(j, p.jobs) for j in p.jobs.values())
    assert e.total == pytest.approx(total)
    assert e.gpu_hours == pytest.approx(total / (est.ASSUMED_TFLOPS * 1e12) / 3600)
    d = e.as_dict()
    assert d["pflop"] == float(f"{total / 1e15:.4g}") and d["assumed_tflops"] == 100.0
    assert list(d["pflop_by_kind"]) == sorted(d["pflop_by_kind"])
    assert sum(d["pflop_by_kind"].values()) == pytest.approx(d["pflop"], rel=1e-3)
    # `only` restricts the sum (dsl plan estimates the jobs still to run)
    trains = [j for j, job in p.jobs.items() if job.kind == "train"]
    assert est.estimate(p.jobs, only=trains).flop == {
        "train": est.job_flop(p.jobs[trains[0]], p.jobs)}
    assert est._sig(123456.0) == 123500.0 and est._sig(0.000123456) == 0.0001235
    assert est.forward_flop({"arch": "vit", "width": 2.0}, resolution=16) == pytest.approx(
        1.65e9 * 4 * 0.25)
