"""The architecture registry (dsl.archs): one record per arch is everything the language, the cost
model, the cluster placement, the profiles and the engine know about it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dsl.archs import ARCHES
from dsl.catalog import ARCHS
from dsl.estimate import FORWARD_GFLOP
from engine.resources import ARCH_WEIGHT

ROOT = Path(__file__).resolve().parent.parent


def test_every_table_keyed_by_arch_is_read_from_the_records():
    assert list(ARCHS) == list(ARCHES) == list(FORWARD_GFLOP) == list(ARCH_WEIGHT)
    for a in ARCHES.values():
        assert ARCHS[a.name] == a.feature_dim and FORWARD_GFLOP[a.name] == a.forward_gflop
        assert ARCH_WEIGHT[a.name] == a.gpu_slots


def test_the_spec_language_docs_name_every_arch():
    row = next(line for line in (ROOT / "docs" / "spec-language.md").read_text().splitlines()
               if line.startswith("| `arch` |"))
    assert row.endswith(f"({', '.join(ARCHES)}) |"), "docs/spec-language.md's arch row: " + row


@pytest.mark.parametrize("arch", sorted(ARCHES))
def test_stated_forward_cost_is_what_torch_counts_within_a_factor_of_three(arch):
    """A new record with a made-up cost is caught. FlopCounterMode counts convolutions and
    matrix products only; the table's figures are rounded, and two of them (small_cnn 0.02,
    counted 0.008; densenet121 0.6, counted 0.25) were set above the count before this test."""
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    from engine.models import build

    model = build({"arch": arch, "width": 1.0, "num_classes": 10}).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, 3, 32, 32))
    counted = counter.get_total_flops() / 1e9
    assert counted / 3 <= ARCHES[arch].forward_gflop <= counted * 3, (arch, counted)


# An architecture added the documented way: its module in engine/models/, one record in dsl.archs.
NEW_MODULE = '''
"""A one-hidden-layer MLP on pooled pixels (a test's new architecture)."""
import torch
from torch import nn


class TinyMLP(nn.Module):
    def __init__(self, num_classes: int, width: float = 1.0):
        super().__init__()
        self.feature_dim = max(1, round(48 * width))
        self.body = nn.Sequential(nn.Linear(3 * 4 * 4, self.feature_dim), nn.ReLU())
        self.head = nn.Linear(self.feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(nn.functional.adaptive_avg_pool2d(x, 4).flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
'''
RECORD = ('    Arch("tiny_mlp", "engine.models.tiny_mlp:TinyMLP", 48, 0.0001, gpu_slots=2, '
          'keeps_width=True),\n)}')
CHECK = '''
import json, torch
from dsl.estimate import estimate
from dsl.planner import plan
from engine.models import build
from engine.resources import ResourcePolicy

p = plan([SPEC], profile="smoke", overrides=["train.arch=tiny_mlp"])
trains = [j for j in p.jobs.values() if j.kind == "train"]
model = build(trains[0].config["model"])
print(json.dumps({
    "archs": sorted({j.config["model"]["arch"] for j in trains}),
    "widths": sorted({j.config["model"]["width"] for j in trains}),
    "train_flop": estimate(p.jobs, [trains[0].id]).total,
    "gpu": ResourcePolicy(per_gpu=4).request("train", trains[0].config).gpu,
    "logits": list(model(torch.zeros(2, 3, 32, 32)).shape),
}))
'''


def test_a_new_arch_is_one_module_and_one_record(tmp_path):
    for package in ("dsl", "engine"):
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    (tmp_path / "engine" / "models" / "tiny_mlp.py").write_text(NEW_MODULE)
    archs = tmp_path / "dsl" / "archs.py"
    text = archs.read_text()
    assert text.rstrip().endswith(")}")
    archs.write_text(text.rstrip()[:-2] + RECORD + "\n")
    check = CHECK.replace("SPEC", repr(str(ROOT / "specs" / "quickstart.toml")))
    out = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert out.returncode == 0, out.stderr[-3000:]
    import json

    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["archs"] == ["tiny_mlp"]
    assert seen["widths"] == [1.0]  # keeps_width: the smoke profile leaves it whole
    assert seen["train_flop"] > 0  # costed from its record
    assert seen["gpu"] == 0.5  # two of four slots
    assert seen["logits"][0] == 2
