"""Datasets: determinism by index, objects, backgrounds, patterns, composites, pairs, the job."""

import json

import numpy as np
import pytest
import torch

from dsl.catalog import OBJECT_NAMES, OBJECTS, TRANSFORMS
from dsl.errors import DslError
from engine.data import artifact, generate, sensitivity_pairs
from engine.data.backgrounds import N_PROCEDURAL, procedural
from engine.data.generation import build
from engine.data.objects import object_bank
from engine.jobs import RunContext


def t2d(objects=OBJECT_NAMES[:5], transforms=(), res=32, backgrounds="procedural"):
    return {"kind": "transforms2d", "objects": list(objects),
            "transforms": [{"name": t, "params": {}} for t in transforms], "resolution": res,
            "foregrounds": "openmoji", "backgrounds": backgrounds, "object_size": 0.7}


def composite(rho=0.0, a=1.0, position="upper_right"):
    return {"kind": "composite", "background": t2d(OBJECT_NAMES[10:14]),
            "foreground": t2d(OBJECT_NAMES[:6], backgrounds=None), "scale": 0.55,
            "position": position, "correlation": rho, "availability": a, "resolution": 32}


def test_every_object_renders_with_a_clean_alpha():
    bank = object_bank("openmoji", OBJECT_NAMES, 32, 0.7)
    assert len(OBJECTS) == 61 and bank.images.shape == (61, 4, 32, 32)
    alpha = bank.images[:, 3]
    assert set(np.unique(alpha)) <= {0.0, 1.0}
    assert (alpha.sum((1, 2)) > 40).all()
    assert np.allclose(bank.half.max(1), 11.0)  # 22 px long side, centred
    colour = bank.images[:, :3][:, :, alpha[0] > 0]
    assert colour.std() > 0.05  # real colours, not a silhouette


def test_procedural_backgrounds():
    bank = procedural(32)
    assert bank.shape == (N_PROCEDURAL, 3, 32, 32) and N_PROCEDURAL >= 867
    flat = bank.reshape(len(bank), -1)
    assert len({row.tobytes() for row in flat}) == len(bank)
    assert flat.std(1).mean() > 10  # textured scenes, not flat colours
    assert procedural(20).shape == (N_PROCEDURAL, 3, 20, 20)


@pytest.mark.parametrize("cfg", [t2d(transforms=list(TRANSFORMS)), composite(0.5, 0.7),
                                 {"kind": "random_patterns", "patterns": [3, 9, 27],
                                  "transforms": [{"name": "rotate", "params": {}}],
                                  "resolution": 32, "pattern_size": 0.7}])
def test_sample_is_a_function_of_its_index(cfg):
    idx = np.arange(40)
    x, y = generate(cfg, "train", idx, seed=3)
    order = np.random.default_rng(0).permutation(40)
    parts = [generate(cfg, "train", order[s:s + 7], seed=3) for s in range(0, 40, 7)]
    x2 = torch.cat([p[0] for p in parts])
    assert torch.equal(x[order], x2)
    assert torch.equal(x, generate(cfg, "train", idx, seed=3, chunk=6)[0])  # chunks: speed only
    for label in y:
        assert torch.equal(y[label][order], torch.cat([p[1][label] for p in parts]))
    assert not torch.equal(x, generate(cfg, "train", idx, seed=4)[0])
    assert not torch.equal(x, generate(cfg, "val", idx, seed=3)[0])


def test_classes_are_uniform_and_backgrounds_vary():
    x, y = generate(t2d(), "train", np.arange(1000), seed=0)
    counts = torch.bincount(y["class"], minlength=5)
    assert (counts > 150).all()
    corners = x[:, :, 0, 0].numpy()
    assert len({c.tobytes() for c in corners}) > 300


def test_random_patterns_are_float_noise():
    cfg = {"kind": "random_patterns", "patterns": [5, 6], "transforms": [], "resolution": 32,
           "pattern_size": 0.7}
    x, y = generate(cfg, "train", np.arange(60), seed=0)
    lo, hi = (32 - 22) // 2, (32 - 22) // 2 + 22
    square = x[:, :, lo:hi, lo:hi].float() / 255
    assert len(square.unique()) > 200  # not a handful of byte values
    assert abs(square.mean().item() - 0.5) < 0.05 and abs(square.std().item() - 0.2887) < 0.03
    same = square[y["class"] == 0]
    assert (same == same[0]).all()  # the class is one fixed pattern
    border = x[:, :, :lo, :].float()
    assert not torch.equal(border[0], border[1])  # fresh noise background per sample


def test_composite_correlation_and_availability_rates():
    src = build(composite(rho=0.6, a=0.3))
    from engine.data.generation import root_key

    idx = torch.arange(6000)
    lab = src.labels("train", idx, root_key(composite(rho=0.6, a=0.3), 0, "train"))
    present = lab["foreground"] >= 0
    assert abs(present.float().mean().item() - 0.3) < 0.03
    tied = (lab["foreground"][present] == lab["background"][present] % 6).float().mean().item()
    assert abs(tied - (0.6 + 0.4 / 6)) < 0.04
    assert torch.equal(lab["class"], lab["background"])


def test_composite_places_the_object_in_its_corner():
    cfg = composite()
    cfg["background"] = {"kind": "solid", "color": [0, 0, 0], "resolution": 32}
    x, y = generate(cfg, "train", np.arange(30), seed=0)
    ink = x.float().sum((0, 1))
    side = round(0.55 * 32)
    assert ink[:side, 32 - side:].sum() > 0 and ink[side:, :].sum() == 0
    assert ink[:, :32 - side].sum() == 0
    assert (y["background"] == 0).all()


def test_sensitivity_pairs_vary_only_what_is_asked():
    cfg = t2d(transforms=["hue"])
    x1, x2, index = sensitivity_pairs(cfg, {"transforms": [{"name": "rotate", "params": {}}]},
                                      32, seed=0)
    assert x1.shape == (32, 3, 32, 32) and x1.dtype == torch.uint8
    assert torch.equal(index, torch.arange(32))  # generated data: 32 different samples
    assert torch.equal(x1[:, :, :2, :2], x2[:, :, :2, :2])  # same background at the corners
    assert (x1 != x2).flatten(1).any(1).float().mean() > 0.9  # different rotations
    d_pair = (x1.float() - x2.float()).abs().mean()
    d_ind = (x1.float() - x2.roll(1, 0).float()).abs().mean()  # two different samples
    assert d_pair < d_ind
    again = sensitivity_pairs(cfg, {"transforms": [{"name": "rotate", "params": {}}]}, 32, 0)
    assert all(torch.equal(p, q) for p, q in zip((x1, x2, index), again))


def test_sensitivity_pairs_components():
    cfg = composite()
    x1, x2, _ = sensitivity_pairs(cfg, {"component": "foreground"}, 16, seed=1)
    side = round(0.55 * 32)
    assert torch.equal(x1[:, :, side:, :], x2[:, :, side:, :])  # background untouched
    x1, x2, _ = sensitivity_pairs(cfg, {"component": "background"}, 16, seed=1)
    assert not torch.equal(x1[:, :, side:, :], x2[:, :, side:, :])
    with pytest.raises(DslError):
        sensitivity_pairs({"kind": "solid", "color": [0, 0, 0], "resolution": 32},
                          {"component": "foreground"}, 4, 0)


def test_dataset_job_writes_the_artifact(tmp_path):
    from engine.data.job import run

    cfg = composite(rho=0.5)
    out = run({"data": cfg, "sizes": {"train": 20, "val": 5, "test": 7}, "seed": 0}, {},
              tmp_path, RunContext(device="cpu"))
    assert out == []
    arrays = artifact.load(tmp_path)
    assert {s: len(d) for s, d in arrays.splits.items()} == {"train": 20, "val": 5, "test": 7}
    assert arrays.splits["train"].x.dtype == np.uint8
    assert arrays.num_classes("foreground") == 6 and arrays.num_classes("class") == 4
    assert arrays.names("foreground") == list(OBJECT_NAMES[:6])
    x, _ = generate(cfg, "val", np.arange(5), 0)
    assert np.array_equal(arrays.splits["val"].x, x.numpy())
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["sizes"]["test"] == 7
    with pytest.raises(DslError):
        run({"data": t2d(), "sizes": {"train": None, "val": 1, "test": 1}, "seed": 0}, {},
            tmp_path, RunContext(device="cpu"))


def test_data_gen_benchmark_gives_each_side_the_same_cores():
    """benchmarks/data_gen.py runs end to end, tiny: both sides in two worker processes, then
    one core each, and prints a median for each ratio."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "benchmarks/data_gen.py", "--n", "256",
                          "--reference-n", "4", "--rounds", "1", "--procs", "2",
                          "--batch", "128"], cwd=root, check=True, capture_output=True,
                         text=True, timeout=300).stdout
    assert "whole CPU (2 processes each)" in out and "one core:" in out
    # the header names the CPU and the kernels' target: ratios are quoted per machine
    assert re.search(r"^CPU: .+, \d+ cores; kernels (on|off)", out, re.M), out
    assert re.search(r"with torch ops only [\d,]+, \d+\.\dx", out), out
    for ratio in ("whole CPU vs reference", "whole CPU vs lean PIL", "one core vs reference"):
        assert re.search(rf"speed-up, {ratio}: \d+\.\dx", out), out


@pytest.mark.parametrize("position", ["upper_left", "lower_left", "lower_right", "center"])
def test_composite_puts_the_object_where_it_is_asked(position):
    cfg = composite(position=position)
    cfg["background"] = {"kind": "solid", "color": [0, 0, 0], "resolution": 32}
    x, _ = generate(cfg, "train", np.arange(30), seed=0)
    ink = x.float().sum((0, 1)) > 0
    side, free = round(0.55 * 32), 32 - round(0.55 * 32)
    top = {"upper_left": 0, "lower_left": free, "lower_right": free, "center": free // 2}[position]
    left = {"upper_left": 0, "lower_left": 0, "lower_right": free, "center": free // 2}[position]
    box = torch.zeros(32, 32, dtype=torch.bool)
    box[top:top + side, left:left + side] = True
    assert ink[box].any() and not ink[~box].any()


def test_an_absent_object_leaves_the_background_as_it_is():
    """availability 0: the foreground label is -1 and no object is pasted."""
    cfg = composite(a=0.0)
    cfg["background"] = {"kind": "solid", "color": [0, 0, 0], "resolution": 32}
    x, y = generate(cfg, "train", np.arange(20), seed=0)
    assert (y["foreground"] == -1).all() and not x.any()


def test_to_uint8_rounds_and_flattens_over_black():
    from engine.data.generation import to_uint8

    rgba = torch.tensor([[0.5, 0.2, 1.0, 1.0], [1.0, 1.0, 1.0, 0.5], [1.0, 0.3, 0.0, 0.0],
                         [1.3, -0.2, 0.999, 1.0]])[:, :, None, None]
    assert to_uint8(rgba)[:, :, 0, 0].tolist() == [[128, 51, 255], [128, 128, 128], [0, 0, 0],
                                                   [255, 0, 255]]
