"""The 18 transforms: identity at neutral parameters, ranges, probabilities, alpha, independence.

Every test runs twice on the CPU: through the compiled kernels (engine.data.kernels) and through
the torch ops alone, which are what a GPU runs and which CI, without one, would not test else."""

import contextlib
import math

import pytest
import torch

from dsl.catalog import TRANSFORMS
from engine.data import kernels
from engine.data.transforms import Pipeline, fill_params


@pytest.fixture(autouse=True, params=["kernels", "torch ops"])
def cpu_path(request):
    with kernels.torch_only() if request.param == "torch ops" else contextlib.nullcontext():
        yield request.param

R = 32

NEUTRAL = {
    "translate": {"extent": 0.0}, "rotate": {"degrees": [0.0, 0.0]},
    "scale": {"factor": [1.0, 1.0]}, "shear": {"degrees": [0.0, 0.0]}, "vflip": {"p": 0.0},
    "hflip": {"p": 0.0}, "hue": {"shift": [0.0, 0.0]}, "brightness": {"factor": [1.0, 1.0]},
    "grayscale": {"p": 0.0}, "posterize": {"bits": 8, "p": 1.0}, "invert": {"p": 0.0},
    "sharpen": {"factor": 1.0, "p": 1.0}, "blur": {"sigma": [1e-3, 1e-3]},
    "noise": {"sigma": 0.0, "p": 1.0}, "pixelate": {"factor": 1.0, "p": 1.0},
    "elastic": {"alpha": 0.0, "p": 1.0}, "erasing": {"p": 0.0},
    "contrast": {"factor": [1.0, 1.0]},
}


def canvas(b=8, seed=0):
    """Random-colour 16x16 opaque squares, centred, on a transparent 32x32 canvas."""
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(b, 4, R, R)
    x[:, :3, 8:24, 8:24] = torch.rand(b, 3, 16, 16, generator=g)
    x[:, :3, 8:24, 8:24] = (x[:, :3, 8:24, 8:24] * 255).round() / 255
    x[:, 3, 8:24, 8:24] = 1.0
    return x, torch.full((b, 2), 8.0)


def dot(b, x0=8, y0=0):
    """A 2x2 dot at (x0, y0) pixels right/down of the canvas centre."""
    x = torch.zeros(b, 4, R, R)
    cy, cx = R // 2 + y0, R // 2 + x0
    x[:, :, cy - 1:cy + 1, cx - 1:cx + 1] = 1.0
    return x, torch.full((b, 2), float(max(abs(x0), abs(y0)) + 1))


def centroid(alpha):
    ys, xs = torch.meshgrid(torch.arange(R) + 0.5 - R / 2, torch.arange(R) + 0.5 - R / 2,
                            indexing="ij")
    m = alpha.sum((1, 2))
    return (alpha * xs).sum((1, 2)) / m, (alpha * ys).sum((1, 2)) / m


def run(tfs, x, half, idx=None, key=1):
    idx = torch.arange(x.shape[0]) if idx is None else idx
    return Pipeline(tfs)(x, half, key, idx)


def test_neutral_table_covers_every_transform():
    assert set(NEUTRAL) == set(TRANSFORMS)


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_identity_at_neutral_parameters(name):
    x, half = canvas()
    y = run([{"name": name, "params": NEUTRAL[name]}], x, half)
    assert torch.allclose(y, x, atol=1.5 / 255), (y - x).abs().max()


def test_all_neutral_together_is_identity():
    x, half = canvas()
    y = run([{"name": n, "params": p} for n, p in NEUTRAL.items()], x, half)
    assert torch.allclose(y, x, atol=2 / 255)


def test_fill_params_orders_and_fills():
    tfs = fill_params(["contrast", {"name": "rotate", "params": {"degrees": [0, 10]}}])
    assert [t["name"] for t in tfs] == ["rotate", "contrast"]
    assert tfs[0]["params"]["degrees"] == [0, 10]
    assert tfs[1]["params"]["factor"] == (0.0, 2.0)


def test_rotation_angles_stay_in_range_and_spread():
    x, half = dot(400)
    y = run([{"name": "rotate", "params": {"degrees": [30.0, 60.0]}}], x, half)
    cx, cy = centroid(y[:, 3])
    angles = torch.rad2deg(torch.atan2(cy, cx))
    assert angles.min() > 30 - 4 and angles.max() < 60 + 4
    assert angles.max() - angles.min() > 20  # not a constant


def test_full_rotation_covers_the_circle():
    x, half = dot(400)
    y = run(["rotate"], x, half)
    cx, cy = centroid(y[:, 3])
    angles = torch.rad2deg(torch.atan2(cy, cx)) % 360
    counts = torch.histc(angles, bins=4, min=0, max=360)
    assert (counts > 60).all(), counts


@pytest.mark.parametrize("name,axis", [("hflip", 0), ("vflip", 1)])
def test_flip_rate_is_about_one_half(name, axis):
    x, half = dot(2000, x0=8 if axis == 0 else 0, y0=8 if axis == 1 else 0)
    y = run([name], x, half)
    c = centroid(y[:, 3])[axis]
    rate = (c < 0).float().mean().item()
    assert 0.45 < rate < 0.55
    assert ((c.abs() - 8.0).abs() < 1.0).all()  # flipped or not, never moved otherwise


def test_scale_factor_range():
    x, half = canvas(300)
    y = run([{"name": "scale", "params": {"factor": [0.5, 0.8]}}], x, half)
    side = y[:, 3].sum((1, 2)).sqrt() / 16.0
    assert side.min() > 0.5 - 0.08 and side.max() < 0.8 + 0.08
    assert side.max() - side.min() > 0.2


def test_translate_keeps_the_object_inside_after_scale_and_rotate():
    x, half = canvas(300)
    y = run(["translate", "rotate", "scale"], x, half)
    # the same rotate/scale draws (keys are per transform), left centred: nothing is cut off
    y0 = run([{"name": "translate", "params": {"extent": 0.0}}, "rotate", "scale"], x, half)
    a, a0 = y[:, 3], y0[:, 3]
    ratio = a.sum((1, 2)) / a0.sum((1, 2))
    # nearest sampling of a rotated square jitters its pixel count; a cut-off object loses more
    assert abs(ratio.mean().item() - 1) < 0.02 and ratio.min() > 0.75
    big = run(["translate"], x * 0 + 1, torch.full_like(half, 16.0))  # no room: stays put
    assert big[:, 3].sum() == big[:, 3].numel()
    cx, cy = centroid(a)
    assert cx.min() < -3 and cx.max() > 3  # and it does move


def test_shear_draws_both_axes():
    x, half = canvas(64)
    y = run(["shear"], x, half)
    assert (y[:, 3].sum((1, 2)) > 0).all()
    assert len({t.numpy().tobytes() for t in y[:, 3]}) > 60


@pytest.mark.parametrize("name", [n for n, t in TRANSFORMS.items() if t.category == "photometric"]
                         + ["noise", "contrast"])
def test_colour_transforms_keep_alpha(name):
    x, half = canvas(16)
    params = {"p": 1.0} if "p" in TRANSFORMS[name].params else {}
    y = run([{"name": name, "params": params}], x, half)
    assert torch.equal(y[:, 3], x[:, 3])
    assert not torch.allclose(y[:, :3], x[:, :3])


def test_erasing_makes_a_transparent_square_inside_the_canvas():
    x = torch.ones(50, 4, R, R)
    y = run([{"name": "erasing", "params": {"p": 1.0}}], x, torch.full((50, 2), 16.0))
    holes = (y[:, 3] == 0).sum((1, 2))
    assert (holes == 14 * 14).all()


def test_posterize_one_bit_leaves_two_levels():
    x, half = canvas(8)
    y = run([{"name": "posterize", "params": {"p": 1.0}}], x, half)
    values = set((y[:, :3] * 255).round().unique().tolist())
    assert values <= {0.0, 128.0}


def test_grayscale_equal_channels_and_invert():
    x, half = canvas(8)
    g = run([{"name": "grayscale", "params": {"p": 1.0}}], x, half)
    assert torch.allclose(g[:, 0], g[:, 1]) and torch.allclose(g[:, 1], g[:, 2])
    inv = run([{"name": "invert", "params": {"p": 1.0}}], x, half)
    inside = x[:, 3] > 0
    assert torch.allclose(inv[:, 0][inside], 1 - x[:, 0][inside])


def test_hue_full_turn_is_identity_and_half_turn_is_not():
    x, half = canvas(8)
    same = run([{"name": "hue", "params": {"shift": [1.0, 1.0]}}], x, half)
    assert torch.allclose(same, x, atol=1e-4)
    other = run([{"name": "hue", "params": {"shift": [0.5, 0.5]}}], x, half)
    assert (other - x).abs().max() > 0.2


@pytest.mark.parametrize("opaque", [False, True])
def test_hue_matches_torchvision(opaque):
    """Against torchvision's HSV hue, per sample: on an object covering a quarter of the canvas
    (only its visible pixels are transformed) and on an opaque canvas (every pixel is)."""
    from torchvision.transforms.v2.functional import adjust_hue

    x, half = canvas(8)
    if opaque:
        x = torch.rand(8, 4, R, R, generator=torch.Generator().manual_seed(1))
        x[:, 3] = 1.0
    for shift in (-0.45, -0.1, 0.2, 0.5):
        y = run([{"name": "hue", "params": {"shift": [shift, shift]}}], x, half)
        want = torch.stack([adjust_hue(x[i, :3], shift) for i in range(8)])
        visible = (x[:, 3:] > 0).expand(-1, 3, -1, -1)
        assert torch.allclose(y[:, :3][visible], want[visible], atol=1e-5), shift
        assert torch.equal(y[:, 3], x[:, 3])
        assert not y[:, :3][~visible].any()


def test_samples_in_a_batch_are_independent():
    x, half = canvas(1)
    x, half = x.expand(32, -1, -1, -1).contiguous(), half.expand(32, 2)
    for tf in ["rotate", "hue", "blur", "elastic", "noise"]:
        params = {"p": 1.0} if "p" in TRANSFORMS[tf].params else {}
        y = run([{"name": tf, "params": params}], x, half)
        distinct = {y[i].numpy().tobytes() for i in range(32)}
        assert len(distinct) == 32, tf


def test_draws_depend_on_index_not_on_batch():
    x, half = canvas(16)
    tfs = list(TRANSFORMS)
    whole = run(tfs, x, half)
    rev = torch.arange(15, -1, -1)
    parts = run(tfs, x[rev], half[rev], idx=rev)
    assert torch.allclose(whole[rev], parts, atol=1e-5)
    assert not torch.allclose(whole, run(tfs, x, half, key=2))


def test_noise_is_gaussian_with_the_given_sigma():
    x = torch.full((64, 4, R, R), 0.5)
    y = run([{"name": "noise", "params": {"sigma": 0.1, "p": 1.0}}], x, torch.full((64, 2), 16.))
    d = y[:, :3] - 0.5
    assert abs(d.mean().item()) < 0.01 and abs(d.std().item() - 0.1) < 0.01


def test_contrast_pulls_colour_to_the_mean_grey_of_the_visible_object():
    """Factor 0 leaves the object's mean grey everywhere on it: the mean over the object's own
    pixels, not over the mostly transparent canvas around it."""
    x, half = canvas(4)
    y = run([{"name": "contrast", "params": {"factor": [0.0, 0.0]}}], x, half)
    sq = x[:, :3, 8:24, 8:24]
    grey = (0.299 * sq[:, 0] + 0.587 * sq[:, 1] + 0.114 * sq[:, 2]).mean((1, 2))
    want = grey[:, None, None, None].expand(-1, 3, 16, 16)
    assert torch.allclose(y[:, :3, 8:24, 8:24], want, atol=1e-5)
    half_way = run([{"name": "contrast", "params": {"factor": [0.5, 0.5]}}], x, half)
    assert torch.allclose(half_way[:, :3, 8:24, 8:24], (sq + want) / 2, atol=1e-5)


@pytest.mark.parametrize("sigma", [0.8, 1.5])
def test_blur_matches_torchvision_gaussian_blur(sigma):
    """Per-sample Gaussian blur with torchvision's reflect padding at the borders."""
    from torchvision.transforms.v2.functional import gaussian_blur

    x = torch.rand(4, 4, R, R, generator=torch.Generator().manual_seed(2))
    x[:, 3] = 1.0  # opaque: premultiplied and straight colour agree
    y = run([{"name": "blur", "params": {"kernel": 7, "sigma": [sigma, sigma]}}], x, x[:, 0, 0, :2])
    want = gaussian_blur(x[:, :3], kernel_size=[7, 7], sigma=[sigma, sigma])
    assert torch.allclose(y[:, :3], want, atol=1e-5)
    assert torch.equal(y[:, 3], x[:, 3])


def test_pixelate_averages_blocks_of_the_given_factor():
    x = torch.rand(3, 4, R, R, generator=torch.Generator().manual_seed(3))
    x[:, 3] = 1.0
    y = run([{"name": "pixelate", "params": {"factor": 0.25, "p": 1.0}}], x, x[:, 0, 0, :2])
    blocks = x[:, :3].reshape(3, 3, 8, 4, 8, 4).mean((3, 5))  # 8x8 blocks of 4x4 pixels
    want = blocks.repeat_interleave(4, 2).repeat_interleave(4, 3)
    assert torch.allclose(y[:, :3], want, atol=1e-5)
    one = run([{"name": "pixelate", "params": {"factor": 1 / R, "p": 1.0}}], x, x[:, 0, 0, :2])
    assert torch.allclose(one[:, :3], x[:, :3].mean((2, 3), keepdim=True).expand(-1, -1, R, R),
                          atol=1e-5)


def test_grayscale_uses_luma_weights():
    x, half = canvas(4)
    g = run([{"name": "grayscale", "params": {"p": 1.0}}], x, half)
    luma = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    assert torch.allclose(g[:, 0], luma, atol=1e-5)


def test_rotation_resamples_nearest_like_pil():
    """The paper's rotation (PIL's default): every output pixel is one of the input's pixels,
    never a blend of neighbours."""
    x, half = canvas(8)
    y = run([{"name": "rotate", "params": {"degrees": [20.0, 70.0]}}], x, half)
    for i in range(8):
        colours = {tuple(c) for c in (x[i, :3] * 255).round().reshape(3, -1).T.tolist()}
        out = (y[i, :3] * 255).round().reshape(3, -1).T.tolist()
        assert all(tuple(c) in colours for c in out)
        assert set(y[i, 3].unique().tolist()) <= {0.0, 1.0}


def test_erasing_holes_reach_every_edge_of_the_canvas():
    x = torch.ones(400, 4, R, R)
    y = run([{"name": "erasing", "params": {"p": 1.0}}], x, torch.full((400, 2), 16.0))
    hole = y[:, 3] == 0
    for edge in (hole[:, 0, :], hole[:, -1, :], hole[:, :, 0], hole[:, :, -1]):
        assert edge.any(1).any()  # the hole's corner is drawn over every position that fits


def test_translate_of_a_whole_image_shifts_by_up_to_a_quarter_of_the_side():
    """CIFAR and folder images fill the canvas: translate moves them by up to R/4 (times
    extent) on each axis, and what it uncovers is transparent."""
    x = torch.ones(400, 4, R, R)
    y = Pipeline(["translate"], whole_image=True)(x, torch.full((400, 2), R / 2), 1,
                                                  torch.arange(400))
    covered = y[:, 3] > 0.5
    empty_cols = (~covered.any(1)).sum(1)  # columns the shift uncovered, per sample
    empty_rows = (~covered.any(2)).sum(1)
    assert empty_cols.max() <= R // 4 and empty_rows.max() <= R // 4
    assert empty_cols.max() >= R // 4 - 1 and empty_rows.max() >= R // 4 - 1


def test_posterize_keeps_the_given_number_of_bits():
    x, half = canvas(8)
    y = run([{"name": "posterize", "params": {"bits": 2, "p": 1.0}}], x, half)
    inside = (y[:, :3] * 255).round()[:, :, 8:24, 8:24]
    assert set(inside.unique().tolist()) == {0.0, 64.0, 128.0, 192.0}


def test_noise_hits_a_fraction_p_of_samples_and_leaves_the_others_exact():
    x = torch.full((400, 4, R, R), 0.5)
    y = run([{"name": "noise", "params": {"sigma": 0.1, "p": 0.5}}], x, torch.full((400, 2), 16.))
    noisy = (y != x).flatten(1).any(1)
    assert 0.43 < noisy.float().mean().item() < 0.57
    assert torch.equal(y[~noisy], x[~noisy])
    assert (y[noisy, :3] - 0.5).std().item() == pytest.approx(0.1, abs=0.01)
