"""The compiled CPU kernels give the pixels of the torch ops they replace (which a GPU runs)."""

import math
import multiprocessing as mp

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine.data import generate, kernels
from engine.data import transforms as T
from engine.data.generation import to_uint8
from engine.data.sources import _over_opaque

B = 96  # over _MIN_SHARE per thread, so two threads split the batch


def premultiplied(b=B, r=32, seed=0, channels=4):
    """Random premultiplied RGBA with a transparent band (alpha 0, colour 0) at the top."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(b, channels, r, r, generator=g)
    if channels == 4:
        x[:, :3] *= x[:, 3:]
        x[:, :, : r // 4] = 0.0
    return x


def reference(fn, *args):
    with kernels.torch_only():
        return fn(*args)


def test_active_only_for_cpu_float32_and_when_not_switched_off(monkeypatch):
    x = torch.zeros(1, 4, 8, 8)
    assert kernels.active(x)
    assert not kernels.active(x.double())
    with kernels.torch_only():
        assert not kernels.active(x)
    assert kernels.active(x)
    monkeypatch.setenv("DSL_CPU_KERNELS", "0")
    assert not kernels.active(x)


@pytest.mark.parametrize("ks", [1, 3, 5, 7, 9, 25, 63])
def test_blur_matches_the_band_matrices(ks):
    x = premultiplied()
    k = T._gauss1d(torch.rand(B, generator=torch.Generator().manual_seed(ks)) * 3 + 0.1, ks)
    got = kernels.blur(x, k)
    assert torch.allclose(got, reference(T._separable, x, k), atol=1e-6)
    assert not torch.equal(got, x) or ks == 1


def test_blur_of_a_non_square_image_reflects_each_axis_by_its_own_length():
    x = torch.rand(4, 2, 12, 20)
    k = T._gauss1d(torch.tensor([0.5, 1.0, 2.0, 3.0]), 7)
    assert torch.allclose(kernels.blur(x, k), reference(T._separable, x, k), atol=1e-6)


def test_gaussian_taps_never_denormal():
    k = T._gauss1d(torch.linspace(0.1, 0.3, 200), 7)
    assert ((k == 0) | (k >= 1e-12)).all()
    assert torch.allclose(k.sum(1), torch.ones(200))


def test_hue_matches_the_torch_rotation_and_leaves_transparent_pixels_alone():
    x = premultiplied()
    shift6 = torch.linspace(-3, 3, B)
    got = kernels.rotate_hue(x.clone(), shift6)
    want = x.clone()
    T._rotate_hue(want[:, :3].transpose(0, 1), shift6[:, None, None],
                  out=want[:, :3].transpose(0, 1))
    assert torch.allclose(got, want, atol=1e-6)
    assert torch.equal(got[:, :, :8], x[:, :, :8])  # alpha 0: untouched
    assert torch.equal(got[:, 3], x[:, 3])  # alpha never changes
    assert not torch.allclose(got, x)


def _affine(b, seed):
    g = torch.Generator().manual_seed(seed)
    th = torch.rand(b, generator=g) * 2 * math.pi
    scale = torch.rand(b, generator=g) * 1.2 + 0.4
    c, s = torch.cos(th), torch.sin(th)
    a = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2) * scale[:, None, None]
    inv = torch.linalg.inv(a) / 16.0
    t = (torch.rand(b, 2, generator=g) * 2 - 1) * 10
    return inv, -(inv @ t[:, :, None])[:, :, 0]


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_affine_sample_matches_grid_sample(mode):
    x = premultiplied()
    inv, shift = _affine(B, 1)
    got = kernels.affine_sample(x, inv, shift, mode == "nearest")
    want = F.grid_sample(x, T._affine_grid(inv, shift, 32), mode=mode, padding_mode="zeros",
                         align_corners=False)
    off = (got - want).abs() > 1e-5
    # nearest: a coordinate within rounding of a half may round the other way, rarely
    assert off.float().mean() < (1e-3 if mode == "nearest" else 1e-9)
    assert (got == 0).float().mean() > 0.2  # shrunk and moved: uncovered canvas is zero


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("m", [[[1, 0], [0, 1]], [[-1, 0], [0, 1]], [[0, -1], [1, 0]],
                               [[0, 1], [-1, 0]]])
def test_exact_maps_move_pixels_exactly(mode, m):
    x = premultiplied()
    inv = torch.tensor(m, dtype=torch.float32).expand(B, 2, 2) / 16.0
    t = torch.randint(-6, 7, (B, 2), generator=torch.Generator().manual_seed(2)).float()
    shift = -(inv @ t[:, :, None])[:, :, 0]
    got = kernels.affine_sample(x, inv, shift, mode == "nearest")
    want = F.grid_sample(x, T._affine_grid(inv, shift, 32), mode=mode, padding_mode="zeros",
                         align_corners=False)
    assert torch.equal(got, want)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_over_opaque_matches_the_torch_blend(dtype):
    top = premultiplied()
    bank = torch.randint(0, 256, (7, 3, 32, 32), dtype=torch.uint8).to(dtype)
    which = torch.randint(0, 7, (B,))
    got = _over_opaque(top.clone(), bank, which, 1 / 255)
    want = reference(_over_opaque, top.clone(), bank, which, 1 / 255)
    assert torch.allclose(got, want, atol=1e-6)
    assert (got[:, 3] == 1).all()


def test_over_opaque_without_indices_takes_one_bottom_per_sample():
    top, bottom = premultiplied(), torch.rand(B, 3, 32, 32)
    got = _over_opaque(top.clone(), bottom)
    assert torch.allclose(got, reference(_over_opaque, top.clone(), bottom), atol=1e-6)


@pytest.mark.parametrize("channels", [3, 4])
def test_to_uint8_matches_the_torch_quantiser(channels):
    x = premultiplied(channels=channels) * 1.4 - 0.2  # out of range on both sides
    got = to_uint8(x)
    assert got.dtype == torch.uint8
    assert torch.equal(got, reference(to_uint8, x))
    assert got.min() == 0 and got.max() == 255


ALL = ["translate", "rotate", "scale", "hflip", "hue", "blur"]


@pytest.mark.parametrize("tfs", [ALL, ["scale", "shear", "translate", "hue", "grayscale"],
                                 ["elastic", "blur", "contrast", "erasing"]])
def test_generated_images_agree_with_the_torch_path(tfs):
    cfg = {"kind": "transforms2d", "objects": ["apple", "banana", "car", "cat"],
           "transforms": [{"name": t, "params": {}} for t in tfs], "resolution": 32,
           "foregrounds": "openmoji", "backgrounds": "procedural", "object_size": 0.7}
    got, labels = generate(cfg, "train", np.arange(256), 3)
    want, want_labels = reference(generate, cfg, "train", np.arange(256), 3)
    assert torch.equal(labels["class"], want_labels["class"])
    diff = (got.int() - want.int()).abs()
    assert (diff > 1).float().mean() < 2e-3  # a nearest pixel may flip on a rounding tie
    assert (diff > 0).float().mean() < 1e-2


def test_two_threads_split_the_batch_and_give_the_same_pixels():
    x = premultiplied()
    k = T._gauss1d(torch.rand(B) + 0.2, 7)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = kernels.blur(x, k)
        torch.set_num_threads(2)
        two = kernels.blur(x, k)
    finally:
        torch.set_num_threads(before)
    assert torch.equal(one, two)


_FORKED = {}


def _child(conn):
    # only the kernel here: torch ops of its own after the parent ran OpenMP threads may hang
    conn.send(float(kernels.blur(_FORKED["x"], _FORKED["k"]).numpy().sum(dtype=np.float64)))


def test_a_forked_child_does_not_wait_on_its_parents_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    _FORKED.update(x=premultiplied(), k=T._gauss1d(torch.full((B,), 1.0), 7))
    want = float(kernels.blur(_FORKED["x"], _FORKED["k"]).numpy().sum(dtype=np.float64))
    # (the parent now holds a pool of kernel threads, which the child does not inherit)
    ctx = mp.get_context("fork")
    mine, theirs = ctx.Pipe()
    child = ctx.Process(target=_child, args=(theirs,), daemon=True)
    child.start()
    try:
        assert mine.poll(60), "the child hung"
        assert mine.recv() == pytest.approx(want)
    finally:
        child.kill()
        child.join(10)
        torch.set_num_threads(before)
