"""The GPU paths against the CPU ones: skipped without CUDA, run by `benchmarks/device.sh run`.

CI has no GPU, so these are skipped there (pytest reports them as skipped, not passed). Setting
DSL_TEST_DEVICE=cpu runs the same checks with the CPU standing in for the GPU, which tests the
checks themselves on any machine.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from dsl.catalog import OBJECT_NAMES, TRANSFORMS
from engine.data import generate
from engine.probes.linear import fit_linear, score
from tests import synthetic
from tests.test_train import run_train

GPU = os.environ.get("DSL_TEST_DEVICE") or ("cuda" if torch.cuda.is_available() else None)
pytestmark = pytest.mark.skipif(GPU is None, reason="no CUDA device (DSL_TEST_DEVICE unset)")

T2D = {"kind": "transforms2d", "objects": list(OBJECT_NAMES[:10]), "resolution": 32,
       "foregrounds": "openmoji", "backgrounds": "procedural", "object_size": 0.7}
CONFIGS = {
    "every transform": dict(T2D, transforms=[{"name": n, "params": {}} for n in TRANSFORMS]),
    "paper six": dict(T2D, transforms=[{"name": n, "params": {}} for n in
                                       ("translate", "rotate", "scale", "hflip", "hue", "blur")]),
    "random patterns": {"kind": "random_patterns", "patterns": list(range(8)), "resolution": 32,
                        "transforms": [{"name": n, "params": {}} for n in
                                       ("shear", "elastic", "noise", "contrast")]},
    "composite": {"kind": "composite", "background": dict(T2D, transforms=[]),
                  "foreground": dict(T2D, objects=list(OBJECT_NAMES[10:14]), backgrounds="none",
                                     transforms=[{"name": "rotate", "params": {}}]),
                  "correlation": 0.5, "availability": 0.8, "resolution": 32},
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_generated_pixels_match_the_cpu(name):
    """Sample i is the same image on either device, up to float rounding at a few pixels."""
    cfg = CONFIGS[name]
    idx = np.arange(3000, 3512)
    x_cpu, y_cpu = generate(cfg, "train", idx, 0, "cpu")
    x_gpu, y_gpu = generate(cfg, "train", idx, 0, GPU)
    assert x_gpu.device.type == torch.device(GPU).type
    for label in y_cpu:
        assert torch.equal(y_cpu[label], y_gpu[label].cpu()), label
    diff = (x_cpu.int() - x_gpu.cpu().int()).abs()
    assert (diff > 1).float().mean().item() < 1e-3, name
    assert diff.float().mean().item() < 0.05, name


def test_training_learns_on_the_gpu(tmp_path):
    data = synthetic.dataset(tmp_path / "data", sizes=(512, 128, 128))
    _, _, metrics = run_train(tmp_path, data, "run", device=GPU)
    assert metrics[("accuracy", "test")] > 0.8  # chance is 0.25
    assert all(np.isfinite(v) for v in metrics.values())


def test_compiled_training_learns_on_the_gpu(tmp_path):
    """`dsl run --compile`: torch.compile with CUDA graphs (ignored on a CPU)."""
    data = synthetic.dataset(tmp_path / "data", sizes=(512, 128, 128))
    _, _, metrics = run_train(tmp_path, data, "run", device=GPU, compile=True)
    assert metrics[("accuracy", "test")] > 0.8


def test_linear_probe_agrees_with_the_cpu():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(5, 64, generator=g) * 3
    labels = torch.randint(0, 5, (2000,), generator=g)
    feats = centres[labels] + torch.randn(2000, 64, generator=g)
    acc = {}
    for device in ("cpu", GPU):
        head = fit_linear(feats[:1500], labels[:1500], 5, epochs=20, lr=1e-2, batch_size=256,
                          device=device)
        x, y = feats[1500:].to(device), labels[1500:].to(device)
        acc[device] = score(head, x, y)[1]
    assert acc["cpu"] > 0.9
    assert abs(acc["cpu"] - acc[GPU]) < 0.02
