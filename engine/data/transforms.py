"""The 18 transformation types, batched in torch with per-sample parameters (CPU or GPU).

Input and output: a straight-alpha RGBA canvas float [B,4,R,R] in [0,1]. Every parameter of
sample i is drawn by hashing (key, transform name, i) (engine.data.rand), so it does not depend
on the batch, and redrawing one transform (sensitivity pairs) leaves every other draw alone.

The geometric types (translate, rotate, scale, shear, flips) and elastic are composed into one
sampling grid and one grid_sample: one resampling instead of six keeps objects sharp, and it lets
translate be chosen last, from the object's final extent, so the object always stays inside the
canvas (the reference translated before scaling and could push objects out). Elastic joins the
grid as a displacement of output positions, which is what it is; the photometric types and the
other corruptions then run in catalog order. Photometric types change colour only, never alpha.

Colour is kept premultiplied by alpha for as long as the ops allow (resampling, blur and pixelate
need it; hue rotation and grey are linear in it), and converted to straight alpha only for ops
that need straight colour or when the caller wants it: each conversion is several passes over
the batch, and that, not arithmetic, is what this code spends its time on.
Longer than 400 lines: every transform's batch op is here, so the alpha conventions above are
kept in one file.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dsl.catalog import TRANSFORMS
from engine.data import hue, kernels, rand

GEOMETRIC = ("translate", "rotate", "scale", "shear", "vflip", "hflip", "elastic")
ORDER = tuple(TRANSFORMS)


def _p(tf: dict, name: str):
    return tf["params"].get(name, TRANSFORMS[tf["name"]].params[name].default)


def fill_params(tfs: list) -> list[dict]:
    """Accept names or {"name", "params"} dicts; fill defaults; sort into catalog order."""
    out = []
    for tf in tfs:
        tf = {"name": tf, "params": {}} if isinstance(tf, str) else tf
        info = TRANSFORMS[tf["name"]]
        params = {k: p.default for k, p in info.params.items()}
        params.update(tf.get("params") or {})
        out.append({"name": tf["name"], "params": params})
    return sorted(out, key=lambda t: ORDER.index(t["name"]))


# The uniform streams each transform draws per sample, (stream, count); the pipeline hashes them
# all in one batched call (rand.uniform_many) rather than one call per transform. A stream not
# listed here is still drawn, on its own, with the same numbers.
_STREAMS = {"rotate": (("u", 1),), "scale": (("u", 1),), "shear": (("u", 2),),
            "vflip": (("p", 1),), "hflip": (("p", 1),), "translate": (("u", 2),),
            "elastic": (("p", 1),), "hue": (("u", 1),), "brightness": (("u", 1),),
            "grayscale": (("p", 1),), "posterize": (("p", 1),), "invert": (("p", 1),),
            "sharpen": (("p", 1),), "blur": (("u", 1),), "noise": (("p", 1),),
            "pixelate": (("p", 1),), "erasing": (("p", 1), ("where", 2)),
            "contrast": (("u", 1),)}


@dataclass
class Draw:
    """Per-sample draws of one transform: its key (varied or not) and the batch's indices.
    `ready` holds uniforms already hashed for some of its streams: {stream key: [B, n]}."""

    key: int
    idx: torch.Tensor
    ready: dict | None = None

    def u(self, n: int = 1, stream: str = "u") -> torch.Tensor:
        key = rand.derive(self.key, stream)
        done = (self.ready or {}).get(key)
        if done is not None and done.shape[1] >= n:
            return done[:, :n]  # stream j's numbers do not depend on how many are drawn
        return rand.uniform(key, self.idx, n)

    def range(self, bounds, n: int = 1, stream: str = "u") -> torch.Tensor:
        low, high = float(bounds[0]), float(bounds[1])
        return low + (high - low) * self.u(n, stream)

    def applied(self, p: float) -> torch.Tensor:
        return self.u(1, "p")[:, 0] < float(p)  # rand.bernoulli's draw


class Pipeline:
    """A list of transforms (docs/jobs.md TF dicts) applied to a batch of RGBA canvases.

    `whole_image` is for opaque full-frame images (CIFAR, folders): the "object" is the whole
    canvas, so translate shifts by up to a quarter of the side (times `extent`), symmetrically,
    and uncovered pixels become transparent (black once flattened).
    """

    def __init__(self, tfs: list, whole_image: bool = False):
        self.tfs = fill_params(tfs)
        self.names = tuple(t["name"] for t in self.tfs)
        self.whole_image = whole_image

    def __bool__(self) -> bool:
        return bool(self.tfs)

    @property
    def wants_premultiplied(self) -> bool:
        """Whether the first op reads premultiplied colour (then callers may pass it so)."""
        if not self.tfs:
            return False
        first = self.tfs[0]["name"]
        return first in GEOMETRIC or _DOMAIN[first] == "pre"

    def __call__(self, x: torch.Tensor, half: torch.Tensor, key: int, idx: torch.Tensor,
                 vary: frozenset = frozenset(), *, premultiplied: bool = False,
                 keep_premultiplied: bool = False) -> torch.Tensor:
        """x: [B,4,R,R]; half: [B,2] object half extents in pixels; idx: [B] sample indices.

        `premultiplied` says x's colour is premultiplied by alpha; `keep_premultiplied` asks for
        the result that way (compositing wants it). x itself is never modified.
        """
        if not self.tfs:
            return _convert(x, premultiplied, keep_premultiplied, owned=False)

        keys = {name: rand.derive(key, name, "varied") if name in vary else rand.derive(key, name)
                for name in self.names}
        ready = _prefetch(keys, idx)

        def draw(name):
            return Draw(keys[name], idx, ready)

        pre, owned = premultiplied, False
        geo = [t for t in self.tfs if t["name"] in GEOMETRIC]
        if geo:
            # resampling reads premultiplied colour and always writes a fresh canvas
            x = _geometric(x if pre else _premultiply(x), half, geo, draw, self.whole_image)
            pre, owned = True, True
        for tf in self.tfs:
            if tf["name"] in GEOMETRIC:
                continue
            want = _DOMAIN[tf["name"]]
            if want != "any" and (want == "pre") != pre:
                x = _convert(x, pre, want == "pre", owned)
                pre, owned = want == "pre", True
            elif not owned:  # the ops below may write in place
                x, owned = x.clone(), True
            x = _OPS[tf["name"]](x, tf, draw(tf["name"]))
        return _convert(x, pre, keep_premultiplied, owned)


def _prefetch(keys: dict, idx: torch.Tensor) -> dict:
    """{stream key: [B, n] uniforms} for every stream in _STREAMS of these transforms."""
    wanted = [(rand.derive(k, stream), n) for name, k in keys.items()
              for stream, n in _STREAMS.get(name, ())]
    if not wanted or idx.numel() == 0:
        return {}
    u = rand.uniform_many([k for k, _ in wanted], idx, max(n for _, n in wanted))
    return {k: u[i] for i, (k, _) in enumerate(wanted)}


def _convert(x, pre: bool, want_pre: bool, owned: bool):
    """x in the wanted colour convention (a new tensor unless x is `owned` by the caller)."""
    if pre == want_pre:
        return x
    if want_pre:
        return _premultiply(x)
    return _unpremultiply(x if owned else x.clone())


# ---------------------------------------------------------------- geometric: one grid
def _geometric(x, half, tfs, draw, whole_image):
    b, _, r, _ = x.shape
    dev = x.device
    eye = torch.eye(2, device=dev).expand(b, 2, 2)
    a = eye.clone()  # forward linear map, object-centred pixel coordinates
    by_name = {t["name"]: t for t in tfs}
    if "rotate" in by_name:
        th = torch.deg2rad(draw("rotate").range(_p(by_name["rotate"], "degrees"))[:, 0])
        c, s = torch.cos(th), torch.sin(th)
        a = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2) @ a
    if "scale" in by_name:
        a = draw("scale").range(_p(by_name["scale"], "factor"))[:, :, None] * a
    if "shear" in by_name:
        sh = torch.tan(torch.deg2rad(draw("shear").range(_p(by_name["shear"], "degrees"), 2)))
        one, zero = torch.ones(b, device=dev), torch.zeros(b, device=dev)
        shx = torch.stack([torch.stack([one, sh[:, 0]], -1), torch.stack([zero, one], -1)], -2)
        shy = torch.stack([torch.stack([one, zero], -1), torch.stack([sh[:, 1], one], -1)], -2)
        a = shx @ shy @ a
    for name, axis in (("vflip", 1), ("hflip", 0)):
        if name in by_name:
            flip = draw(name).applied(_p(by_name[name], "p"))
            sign = torch.ones(b, 2, device=dev)
            sign[:, axis] = torch.where(flip, -1.0, 1.0)
            a = sign[:, :, None] * a
    t = torch.zeros(b, 2, device=dev)
    if "translate" in by_name:
        extent = float(_p(by_name["translate"], "extent"))
        if whole_image:
            room = torch.full((b, 2), r / 4.0, device=dev)
        else:
            # the transformed object box's half extents; the room left is where it may move
            ext = a.abs() @ half[:, :, None]
            room = (r / 2.0 - ext[:, :, 0]).clamp(min=0.0)
        t = (2.0 * draw("translate").u(2) - 1.0) * extent * room

    # inverse of the 2x2 forward map, in closed form; divided by r/2 for grid_sample's [-1, 1]
    det = (a[:, 0, 0] * a[:, 1, 1] - a[:, 0, 1] * a[:, 1, 0])[:, None, None]
    inv = torch.stack([torch.stack([a[:, 1, 1], -a[:, 0, 1]], -1),
                       torch.stack([-a[:, 1, 0], a[:, 0, 0]], -1)], -2) / (det * (r / 2.0))
    # nearest as the paper's rotation (PIL default); bilinear otherwise, on premultiplied colour
    mode = "nearest" if "rotate" in by_name else "bilinear"
    if "elastic" in by_name:
        pos = _base_grid(r, str(dev)).expand(b, r, r, 2)
        pos = pos + _elastic_displacement(by_name["elastic"], draw("elastic"), b, r, dev)
        grid = ((pos - t[:, None, None, :]).reshape(b, -1, 2) @ inv.transpose(1, 2)).reshape(
            b, r, r, 2)
    else:
        shift = -(inv @ t[:, :, None])[:, :, 0]  # [B,2]: -(inv t)
        if kernels.active(x):  # the grid and the sampling in one loop, never stored
            return kernels.affine_sample(x, inv, shift, mode == "nearest")
        grid = _affine_grid(inv, shift, r)
    return F.grid_sample(x, grid, mode=mode, padding_mode="zeros", align_corners=False)


def _affine_grid(inv, shift, r):
    """grid[b, y, x] = p @ inv^T + shift at pixel centre p = (x, y): the map is separable in x
    and y, so each grid component is one fused op over the batch (not a batched matmul)."""
    b = inv.shape[0]
    coords = _base_grid(r, str(inv.device))[0, 0, :, 0]  # pixel-centre offsets along one axis
    grid = torch.empty(b, r, r, 2, device=inv.device)
    for j in range(2):
        rows = torch.addcmul(shift[:, j, None, None], coords[None, :, None],
                             inv[:, j, 1, None, None])  # [B,R,1]: y term plus shift
        torch.addcmul(rows, coords[None, None, :], inv[:, j, 0, None, None], out=grid[..., j])
    return grid


@functools.lru_cache(maxsize=8)
def _base_grid(r: int, device: str) -> torch.Tensor:
    """[1,R,R,2] pixel-centre (x, y) coordinates relative to the canvas centre."""
    coords = torch.arange(r, device=device, dtype=torch.float32) + 0.5 - r / 2.0
    gy, gx = torch.meshgrid(coords, coords, indexing="ij")
    return torch.stack([gx, gy], -1)[None]


def _elastic_displacement(tf, d: Draw, b, r, dev):
    """torchvision's elastic field (uniform noise, Gaussian-blurred, times alpha) in pixels,
    zero for samples where the transform is not applied."""
    on = d.applied(_p(tf, "p"))
    disp = torch.zeros(b, r, r, 2, device=dev)
    if not bool(on.any()):
        return disp
    sigma, alpha = float(_p(tf, "sigma")), float(_p(tf, "alpha"))
    noise = rand.field(rand.derive(d.key, "field"), d.idx[on], (2, r, r)) * 2.0 - 1.0
    ksize = min(int(8 * sigma + 1) | 1, 2 * r - 1)
    k = _gauss1d(torch.full((1,), sigma, device=dev), ksize)[0]
    smooth = _separable(noise, k.expand(noise.shape[0], ksize))
    # torchvision scales by alpha / size in [-1, 1] grid units = alpha / 2 pixels per unit
    disp[on] = smooth.permute(0, 2, 3, 1) * (alpha / 2.0)
    return disp


# ---------------------------------------------------------------- helpers
def _premultiply(x):
    """A new premultiplied canvas (colour times alpha, alpha as is)."""
    out = torch.empty_like(x)
    torch.mul(x[:, :3], x[:, 3:], out=out[:, :3])
    out[:, 3:] = x[:, 3:]
    return out


def _unpremultiply(x):
    """Back to straight alpha, in place (x is always a fresh intermediate here)."""
    alpha = x[:, 3:].clamp_(0, 1)
    x[:, :3] /= alpha.clamp(min=1e-6)
    x[:, :3] *= alpha > 1e-6  # fully transparent pixels get colour 0
    x[:, :3].clamp_(0, 1)
    return x


def _gauss1d(sigma: torch.Tensor, ksize: int) -> torch.Tensor:
    """[B, ksize] normalised Gaussian kernels, one sigma per sample.

    Taps under 1e-12 are set to 0: they change no pixel, and a small sigma makes them denormal
    floats, which x86 CPUs multiply tens of times slower (it slowed the whole blur by half)."""
    half = (ksize - 1) / 2.0
    xs = torch.arange(ksize, device=sigma.device, dtype=torch.float32) - half
    k = torch.exp(-0.5 * (xs[None, :] / sigma[:, None]) ** 2)
    k = k / k.sum(1, keepdim=True)
    return k.masked_fill_(k < 1e-12, 0.0)


def _separable(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Blur every channel of sample i with kernel k[i] (reflect padding, as torchvision).

    Each 1-D pass is a product with a per-sample [n, n] band matrix that has the reflected
    border folded in: two batched matmuls instead of two pads and two grouped convolutions
    with one group per (sample, channel), which CPUs run several times slower.
    """
    if kernels.active(x):
        return kernels.blur(x, k)
    b, c, h, w = x.shape
    mw = _blur_matrix(k, w)  # [b, out, in]
    mh = mw if h == w else _blur_matrix(k, h)
    y = torch.matmul(x.reshape(b, c * h, w), mw.transpose(1, 2))  # along rows
    return torch.matmul(mh[:, None], y.reshape(b, c, h, w))  # along columns


def _blur_matrix(k: torch.Tensor, n: int) -> torch.Tensor:
    """[B, n, n] matrices m with (row @ m^T)[i] = sum_t k[t] row[reflect(i + t - ks // 2)]."""
    ks = k.shape[1]
    taps = _reflect_taps(ks, n, str(k.device))
    return (k @ taps).reshape(k.shape[0], n, n)


@functools.lru_cache(maxsize=16)
def _reflect_taps(ks: int, n: int, device: str) -> torch.Tensor:
    """[ks, n*n] one-hot: tap t of output i reads input reflect(i + t - ks // 2)."""
    src = torch.arange(n)[:, None] + torch.arange(ks)[None, :] - ks // 2  # [n(out), ks]
    src = src.abs()  # reflect at the start (pad < n, so one reflection is enough)
    src = torch.where(src > n - 1, 2 * (n - 1) - src, src)
    taps = torch.zeros(ks, n, n)
    taps[torch.arange(ks)[None, :], torch.arange(n)[:, None], src] = 1.0
    return taps.reshape(ks, n * n).to(device)


def _masked(x, on, fn):
    """Apply fn to the samples where `on` is True (each op computes only what it changes)."""
    if bool(on.all()):
        return fn(x)
    if bool(on.any()):
        x[on] = fn(x[on])
    return x


def _with_rgb(x, rgb):
    # x is owned by the pipeline (cloned on entry), so colour is written in place
    x[:, :3] = rgb.clamp(0, 1)
    return x


def _gray(rgb):
    return (0.299 * rgb[:, 0:1] + 0.587 * rgb[:, 1:2] + 0.114 * rgb[:, 2:3])


# ---------------------------------------------------------------- photometric (RGB only)
def _hue(x, tf, d):
    shift6 = 6.0 * d.range(_p(tf, "shift"))[:, 0]
    if kernels.active(x) and x.is_contiguous():
        return kernels.rotate_hue(x, shift6)
    return _on_visible(x, lambda rgb, sample: _rotate_hue(rgb, shift6[sample]),
                       lambda rgb: _rotate_hue(rgb, shift6[:, None, None], out=rgb))


def _on_visible(x, sparse, dense):
    """Apply a per-pixel colour function only where alpha > 0, in place (x is the pipeline's own).

    Objects cover a fraction of the canvas and premultiplied transparent pixels are 0, which
    the colour op must map to 0; so the visible pixels are gathered into [3, K] columns,
    transformed, and scattered back: the same per-pixel arithmetic, on a third of the pixels
    for a typical object. `sparse(rgb [3, K], sample [K])` gets each pixel's sample index;
    `dense(rgb [3, B, H, W])` (a view of x) runs instead when over half the pixels are visible.
    """
    b, _, h, w = x.shape
    hw = h * w
    visible = (x[:, 3] > 0).view(-1).nonzero()[:, 0]  # flat (sample, pixel) positions
    if visible.numel() > b * hw // 2 or not x.is_contiguous():
        dense(x[:, :3].transpose(0, 1))
        return x
    sample = visible // hw
    # red of pixel p of sample s sits at 4*hw*s + p = visible + 3*hw*s; green, blue hw further
    channel = torch.arange(0, 3 * hw, hw, device=x.device)[:, None]
    where = ((visible + sample * (3 * hw))[None] + channel).view(-1)
    flat = x.view(-1)
    # take and index_copy_: the same gather and scatter as flat[where], at ~1.5x the speed
    flat.index_copy_(0, where, sparse(flat.take(where).view(3, -1), sample).view(-1))
    return x


_CENTRES = hue.CENTRES  # where each channel peaks on the hue circle


def _rotate_hue(rgb, shift6, out=None):
    """HSV hue + shift6 / 6 turns, saturation and value kept; exact, without an HSV round trip.

    rgb: channels first ([3, ...]); shift6 broadcasts against one channel.
    With max, min and chroma c = max - min computed once, channel n of the result is HSV's
    v - v*s*clamp(min(k, 4-k), 0, 1), k = (n + 6h) mod 6, rearranged to min + c*g with
    g = clamp(2 - |d - 3|, 0, 1), d = |6h - centre_n|: the wrap-around is a distance on the
    hue circle, so only the hue plane needs a modulo. Every term scales with the colour, so
    premultiplied colour works as well.
    """
    r, g, b = rgb.unbind(0)
    mx = torch.maximum(torch.maximum(r, g), b)
    mn = torch.minimum(torch.minimum(r, g), b)
    c = mx - mn
    # 6h times c, by the sector of the largest channel (grey: c = 0, numerator 0, hue 0)
    num = torch.where(mx == r, g - b,
                      torch.where(mx == g, (b - r).add_(c, alpha=2.0), (r - g).add_(c, alpha=4.0)))
    h6 = num.div_(c.clamp(min=1e-12)).add_(shift6).remainder_(6.0)
    centres = torch.tensor(_CENTRES, device=rgb.device, dtype=rgb.dtype).view(
        3, *[1] * h6.dim())
    neg_g = (h6[None] - centres).abs_().sub_(3.0).abs_().sub_(2.0).clamp_(-1.0, 0.0)
    return torch.addcmul(mn[None], c[None], neg_g, value=-1.0, out=out)


def _brightness(x, tf, d):
    f = d.range(_p(tf, "factor"))[:, :, None, None]
    return _with_rgb(x, x[:, :3] * f)


def _grayscale(x, tf, d):
    return _masked(x, d.applied(_p(tf, "p")),
                   lambda y: _with_rgb(y, _gray(y[:, :3]).expand(-1, 3, -1, -1)))


def _posterize(x, tf, d):
    bits = int(_p(tf, "bits"))
    step = 2 ** (8 - bits)

    def poster(y):
        levels = torch.floor(y[:, :3] * 255.0 + 0.5)
        return _with_rgb(y, torch.floor(levels / step) * step / 255.0)
    return _masked(x, d.applied(_p(tf, "p")), poster)


def _invert(x, tf, d):
    return _masked(x, d.applied(_p(tf, "p")), lambda y: _with_rgb(y, 1.0 - y[:, :3]))


def _sharpen(x, tf, d):
    factor = float(_p(tf, "factor"))

    def sharp(y):
        # PIL/torchvision "SMOOTH" kernel; border pixels keep their value, as theirs do
        k = torch.tensor([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]], device=y.device) / 13
        rgb = y[:, :3]
        smooth = F.conv2d(rgb.reshape(-1, 1, *rgb.shape[2:]), k[None, None]).reshape(
            rgb.shape[0], 3, rgb.shape[2] - 2, rgb.shape[3] - 2)
        degenerate = rgb.clone()
        degenerate[:, :, 1:-1, 1:-1] = smooth
        return _with_rgb(y, degenerate + factor * (rgb - degenerate))
    return _masked(x, d.applied(_p(tf, "p")), sharp)


# ---------------------------------------------------------------- corruptions
def _blur(x, tf, d):
    ksize = int(_p(tf, "kernel")) | 1
    ksize = min(ksize, 2 * x.shape[-1] - 1)
    sigma = d.range(_p(tf, "sigma"))[:, 0]
    return _separable(x, _gauss1d(sigma, ksize))  # premultiplied in and out


def _noise(x, tf, d):
    on = d.applied(_p(tf, "p"))
    sigma = float(_p(tf, "sigma"))

    def noisy(y):
        z = rand.normal_field(rand.derive(d.key, "field"), d.idx[on], tuple(y[:, :3].shape[1:]))
        return _with_rgb(y, y[:, :3] + sigma * z)
    return _masked(x, on, noisy)


def _pixelate(x, tf, d):
    r = x.shape[-1]
    small = max(1, round(float(_p(tf, "factor")) * r))

    def pix(y):  # premultiplied in and out
        down = F.adaptive_avg_pool2d(y, small)  # box filter
        return F.interpolate(down, size=(r, r), mode="nearest")
    return _masked(x, d.applied(_p(tf, "p")), pix)


def _erasing(x, tf, d):
    on = d.applied(_p(tf, "p"))
    r = x.shape[-1]
    side = min(r, max(1, round(float(_p(tf, "size")) * r)))
    corner = torch.floor(d.u(2, "where") * (r - side + 1)).long()  # fully inside the canvas
    ar = torch.arange(r, device=x.device)
    inside_y = (ar[None] >= corner[:, 1:2]) & (ar[None] < corner[:, 1:2] + side)
    inside_x = (ar[None] >= corner[:, 0:1]) & (ar[None] < corner[:, 0:1] + side)
    hole = (inside_y[:, :, None] & inside_x[:, None, :] & on[:, None, None])[:, None]
    return torch.where(hole, torch.zeros_like(x), x)


def _contrast(x, tf, d):
    f = d.range(_p(tf, "factor"))[:, :, None, None]
    rgb, alpha = x[:, :3], x[:, 3:]
    # the mean grey of the visible object, not of the transparent canvas around it
    mean = (_gray(rgb) * alpha).sum((2, 3), keepdim=True) / alpha.sum((2, 3), keepdim=True).clamp(
        min=1e-6)
    return _with_rgb(x, mean + f * (rgb - mean))


# The colour convention each op reads and writes (see the module docstring): premultiplied,
# straight, or either (erasing zeroes all four channels). The geometric grid reads premultiplied.
_DOMAIN = {"hue": "pre", "grayscale": "pre", "blur": "pre", "pixelate": "pre", "erasing": "any",
           "brightness": "straight", "posterize": "straight", "invert": "straight",
           "sharpen": "straight", "noise": "straight", "contrast": "straight"}

_OPS = {"hue": _hue, "brightness": _brightness, "grayscale": _grayscale,
        "posterize": _posterize, "invert": _invert, "sharpen": _sharpen, "blur": _blur,
        "noise": _noise, "pixelate": _pixelate, "erasing": _erasing, "contrast": _contrast}
assert set(_OPS) | set(GEOMETRIC) == set(TRANSFORMS), "every catalog transform is implemented"
assert set(_DOMAIN) == set(_OPS), "every op says which colour convention it reads"
