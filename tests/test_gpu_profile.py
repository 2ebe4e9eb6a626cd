"""The quick GPU profile: 5 seeds, 10,000 images, half-width networks (small_cnn whole), up to 15
epochs, on resolved configs like every profile (sized by arithmetic: dsl/kinds.py)."""

from pathlib import Path

from dsl.planner import plan

SPECS = Path(__file__).resolve().parents[1] / "specs"


def test_gpu_keeps_five_seeds_halves_widths_and_caps_sizes():
    gpu = plan([SPECS / "invariance_vs_factors_samples.toml"], profile="gpu").specs[0]
    assert {c.seed for c in gpu.cells} == set(range(5))
    trains = [j for j in gpu.jobs.values() if j.kind == "train"]
    assert trains and all(j.config["model"]["width"] == 0.5 and j.config["epochs"] <= 15 and
                          j.config["batch_size"] <= 128 for j in trains)
    sizes = [j.config["sizes"] for j in gpu.jobs.values() if j.kind == "dataset"]
    assert max(s["train"] for s in sizes) == 10000  # 50,000-500,000 capped; 1,000 kept
    assert min(s["train"] for s in sizes) == 1000
    assert all(s["val"] <= 1000 and s["test"] <= 2000 for s in sizes)


def test_gpu_keeps_small_cnn_whole_and_its_jobs_apart_from_the_laptop_s():
    gpu = plan([SPECS / "quickstart.toml"], profile="gpu").specs[0]
    lap = plan([SPECS / "quickstart.toml"], profile="laptop").specs[0]
    widths = {j.config["model"]["width"] for j in gpu.jobs.values() if j.kind == "train"}
    assert widths == {1.0}
    assert {c.seed for c in gpu.cells} == {0, 1, 2}  # a spec with fewer seeds keeps its own
    trains = {j for j, job in gpu.jobs.items() if job.kind == "train"}
    assert trains and not trains & set(lap.jobs)  # other sizes: other JobIds

