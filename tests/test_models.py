"""Every architecture builds at full and tiny width, with the documented feature widths."""

from __future__ import annotations

import pytest
import torch

from dsl.catalog import ARCHS
from dsl.errors import DslError
from engine.jobs import Input
from engine.models import BUILDERS, build, load_trained, seeded_build


@pytest.mark.parametrize("width", [1.0, 0.125])
@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_forward_and_feature_shapes(arch, width):
    model = build({"arch": arch, "width": width, "num_classes": 7}).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        feats, logits = model.features(x), model(x)
    assert feats.shape == (2, model.feature_dim)
    assert logits.shape == (2, 7)
    assert model.head.in_features == model.feature_dim and model.head.out_features == 7
    # forward is exactly head(features): probes rely on swapping the head
    torch.testing.assert_close(logits, model.head(feats))
    if width == 1.0:
        assert model.feature_dim == ARCHS[arch], "dsl.catalog.ARCHS must state the real width"
    else:
        assert model.feature_dim < ARCHS[arch]


def test_engine_and_catalog_name_the_same_archs():
    assert set(BUILDERS) == set(ARCHS)


def test_unknown_arch_suggests_the_closest():
    with pytest.raises(DslError, match="resnet18"):
        build({"arch": "resnet19", "width": 1.0, "num_classes": 3})


@pytest.mark.parametrize("width", [0.3, 0.7])
def test_vit_heads_stay_valid_at_odd_widths(width):
    model = build({"arch": "vit", "width": width, "num_classes": 3})
    block = model.blocks[0]
    assert model.feature_dim % block.heads == 0
    assert model(torch.randn(1, 3, 32, 32)).shape == (1, 3)


@pytest.mark.parametrize("width, heads", [(1.0, 8), (0.5, 4), (0.125, 1)])
def test_vit_heads_keep_their_width_as_the_network_shrinks(width, heads):
    # ViT-Ti/S/B's rule: fewer heads of the same size, not 8 ever-thinner ones (engine.models.vit)
    model = build({"arch": "vit", "width": width, "num_classes": 3})
    assert model.blocks[0].heads == heads and model.feature_dim // heads == 48


def test_vit_and_cnns_accept_another_resolution():
    for arch in ("vit", "small_cnn", "resnet18"):
        model = build({"arch": arch, "width": 0.125, "num_classes": 3}).eval()
        assert model(torch.randn(2, 3, 16, 16)).shape == (2, 3)


def test_seeded_build_is_reproducible_and_leaves_global_rng_alone():
    cfg = {"arch": "small_cnn", "width": 0.25, "num_classes": 3}
    torch.manual_seed(5)
    before = torch.random.get_rng_state()
    a, b, c = seeded_build(cfg, 1), seeded_build(cfg, 1), seeded_build(cfg, 2)
    assert torch.equal(torch.random.get_rng_state(), before)
    for (k, va), vb, vc in zip(a.state_dict().items(), b.state_dict().values(),
                               c.state_dict().values()):
        assert torch.equal(va, vb), k
    assert not torch.equal(a.head.weight, c.head.weight)


def test_load_trained_round_trip(tmp_path):
    cfg = {"arch": "small_cnn", "width": 0.25, "num_classes": 3}
    model = seeded_build(cfg, 0)
    torch.save(model.state_dict(), tmp_path / "model.pt")
    loaded = load_trained(Input("train-x", "train", {"model": cfg}, tmp_path))
    assert not loaded.training
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(loaded(x), model.eval()(x))
    with pytest.raises(DslError):
        load_trained(Input("dataset-x", "dataset", {"model": cfg}, tmp_path))


def test_width_rounds_to_the_multiple_and_never_drops_below_one():
    from engine.models._width import scaled

    assert scaled(64, 1.0) == 64 and scaled(64, 0.5) == 32 and scaled(16, 0.125) == 2
    assert scaled(16, 0.01) == 1  # a tiny width still leaves a valid layer
    assert scaled(64, 0.01, 8) == 8 and scaled(100, 0.3, 8) == 32
    with pytest.raises(ValueError):
        scaled(16, 0.0)


def test_a_checkpoint_of_another_network_fails_clearly(tmp_path):
    # A ViT trained with 8 heads at width 1/8 (before heads kept their width) has weights of the
    # very shapes today's 1-head ViT has: only the recorded head count tells them apart.
    from engine.models import CHECKPOINT

    config = {"model": {"arch": "vit", "width": 0.125, "num_classes": 3}}
    state = build(config["model"]).state_dict()
    torch.save(state, tmp_path / CHECKPOINT)
    assert load_trained(Input("train-new", "train", config, tmp_path)).attention_heads == 1
    state.pop("attention_heads")
    torch.save(state, tmp_path / CHECKPOINT)
    with pytest.raises(DslError, match=r"train-old does not fit the vit.*attention_heads.*"
                                       r"trained by other code.*--rerun stale"):
        load_trained(Input("train-old", "train", config, tmp_path))


def test_cpu_inputs_and_weights_are_channels_last_and_compute_the_same(tmp_path):
    # oneDNN's fast convolutions want NHWC on a CPU as cuDNN's do on a GPU (benchmarks/
    # cpu_layout.py: 1.2-2x); the layout must change the speed only, not the function.
    from engine import device as dev

    images = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    x = dev.normalise(images)
    assert x.is_contiguous(memory_format=torch.channels_last)
    model = seeded_build({"arch": "resnet18", "width": 0.125, "num_classes": 3}, 0).eval()
    with torch.no_grad():
        nchw = model.features(x.contiguous())
        prepared = dev.prepare(model, torch.device("cpu"))
        assert prepared.stem[0].weight.is_contiguous(memory_format=torch.channels_last)
        torch.testing.assert_close(prepared.features(x), nchw, rtol=1e-4, atol=1e-5)


def _with_running_stats(model: torch.nn.Module) -> torch.nn.Module:
    """Batch norms with running statistics far from (0, 1), as after training."""
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(3 * torch.randn(16, 3, 32, 32) + 1)
    return model.eval()


@pytest.mark.parametrize("arch", sorted(BUILDERS))
def test_folding_batch_norms_keeps_every_architectures_function(arch):
    # features, sensitivity and accuracy jobs run their model folded (engine.models.fold): the
    # same features and logits up to float rounding, and no batch norm left where a convolution
    # fed it
    from engine.models.fold import fold_batchnorm

    model = _with_running_stats(seeded_build({"arch": arch, "width": 0.25, "num_classes": 3}, 0))
    x = torch.randn(8, 3, 32, 32)
    with torch.no_grad():
        before_f, before_y = model.features(x), model(x)
        n_bn = sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
        fold_batchnorm(model)
        torch.testing.assert_close(model.features(x), before_f, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(model(x), before_y, rtol=1e-4, atol=1e-4)
    left = sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert not model.training
    if n_bn:  # every CNN here has convolutions that feed a batch norm
        assert left < n_bn, f"{arch}: nothing folded"
    else:
        assert arch == "vit"


def test_only_a_convolution_that_feeds_its_batch_norm_alone_is_folded():
    from engine.models.fold import fold_batchnorm

    class TwoUsers(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
            self.bn = torch.nn.BatchNorm2d(4)
            self.conv2 = torch.nn.Conv2d(3, 4, 3, padding=1)
            self.bn2 = torch.nn.BatchNorm2d(4)

        def forward(self, x):
            y = self.conv(x)  # y is used twice: folding bn into conv would change the sum
            return self.bn(y) + y + self.bn2(self.conv2(x))

    model = _with_running_stats(TwoUsers())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = model(x)
        fold_batchnorm(model)
        torch.testing.assert_close(model(x), expected, rtol=1e-4, atol=1e-5)
    assert isinstance(model.bn, torch.nn.BatchNorm2d)
    assert isinstance(model.bn2, torch.nn.Identity)


def test_a_model_fx_cannot_trace_is_left_as_it_is():
    from engine.models.fold import fold_batchnorm

    class DataDependent(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3)
            self.bn = torch.nn.BatchNorm2d(4)

        def forward(self, x):
            return self.bn(self.conv(x)) if x.sum() > 0 else x

    model = fold_batchnorm(DataDependent())
    assert isinstance(model.bn, torch.nn.BatchNorm2d) and not model.training


def test_probes_load_their_model_folded_and_fine_tuning_keeps_batch_norm(tmp_path):
    from engine.models import CHECKPOINT, load_frozen

    cfg = {"model": {"arch": "resnet18", "width": 0.125, "num_classes": 3}}
    torch.save(seeded_build(cfg["model"], 0).state_dict(), tmp_path / CHECKPOINT)
    model_input = Input("train-x", "train", cfg, tmp_path)
    frozen, trained = load_frozen(model_input), load_trained(model_input)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in frozen.modules())
    # the folded convolutions keep the layout the inputs come in (engine.device.prepare)
    assert frozen.stem[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in trained.modules())
    x = torch.randn(4, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        torch.testing.assert_close(frozen.features(x), trained.features(x), rtol=1e-4,
                                   atol=1e-5)
    import inspect

    from engine import features
    from engine.probes import accuracy, finetune, sensitivity

    for module in (features, accuracy, sensitivity):
        assert "load_frozen(" in inspect.getsource(module.run)
    assert "load_trained(" in inspect.getsource(finetune.run)


def test_cpu_inference_runs_small_batches_with_the_same_result():
    """A CPU maps 64 CIFAR-size images a call (fewer of larger ones): batches of 1,024 made each
    activation a fresh zero-filled mapping (benchmarks/cpu_inference_batch.py). A GPU keeps the
    caller's batch, and the result does not depend on the batching."""
    from engine import device as dev

    cpu = torch.device("cpu")
    small = torch.zeros(1, 3, 32, 32, dtype=torch.uint8)
    assert dev.inference_batch(small, cpu, 1024) == 64
    assert dev.inference_batch(small, cpu, 16) == 16  # never above the caller's
    assert dev.inference_batch(torch.zeros(1, 3, 64, 64, dtype=torch.uint8), cpu, 1024) == 16
    assert dev.inference_batch(torch.zeros(1, 3, 512, 512, dtype=torch.uint8), cpu, 1024) == 1
    assert dev.inference_batch(small, torch.device("cuda"), 1024) == 1024

    torch.manual_seed(0)
    model = dev.prepare(build({"arch": "small_cnn", "num_classes": 5, "width": 1.0}), cpu).eval()
    images = torch.randint(0, 256, (150, 3, 32, 32), dtype=torch.uint8)
    seen = []

    def features(x):
        seen.append(x.shape[0])
        return model.features(x)

    out = dev.map_batches(features, images, cpu, 1024)
    assert seen == [64, 64, 22]
    with torch.no_grad():
        whole = model.features(dev.normalise(images))
    assert torch.allclose(out, whole, atol=1e-5)


def test_cpu_inference_batch_benchmark_runs_both_batch_sizes_on_real_jobs():
    """benchmarks/cpu_inference_batch.py end to end, tiny: the same sensitivity jobs at batch
    1,024 and at the engine's CPU batch, with a speed-up per network."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "benchmarks/cpu_inference_batch.py", "--jobs", "1",
                          "--rounds", "1", "--pairs", "16", "--networks", "small_cnn:1.0"],
                         cwd=root, check=True, capture_output=True, text=True,
                         timeout=300).stdout
    assert re.search(r"^network\s+s @1024\s+faults\s+s @64\s+faults\s+speed-up$", out, re.M), out
    assert re.search(r"^small_cnn x1\.0\s+\d+\.\d{3}\s+\d+\s+\d+\.\d{3}\s+\d+\s+\d+\.\d\dx$", out,
                     re.M), out
