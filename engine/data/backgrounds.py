"""Backgrounds: a bank of procedural natural scenes (the default) or a folder of photographs.

The paper pastes objects on 867 nature photos. Shipping photos is not possible, so the default
bank is 867 seeded scenes built from 1/f noise, whose power spectrum is the one natural images
share: skies with clouds over a horizon, mountain ridges, fields, water, beaches, dunes, and
full-frame foliage and rock. What matters for the experiments is that backgrounds are varied,
natural-looking clutter that carries no label; these are. All scenes are made at once with numpy
(vectorised over the bank), at any resolution.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from PIL import Image

from dsl.errors import DataMissing
from engine.data.images import open_image, square_crop
from dsl.local_files import image_files

N_PROCEDURAL = 867
_SEED = 2024

# scene types and how often they occur
_TYPES = ("mountains", "field", "water", "beach", "foliage", "rock", "desert")
_TYPE_P = (0.2, 0.18, 0.14, 0.1, 0.16, 0.1, 0.12)
# base colours (RGB in [0,1]): ground below the horizon, and the far layer above it
_GROUND = {"mountains": (0.25, 0.38, 0.18), "field": (0.42, 0.55, 0.2), "water": (0.12, 0.3, 0.45),
           "beach": (0.82, 0.74, 0.55), "foliage": (0.13, 0.3, 0.1), "rock": (0.45, 0.42, 0.38),
           "desert": (0.85, 0.66, 0.42)}
_FAR = {"mountains": (0.4, 0.42, 0.5), "desert": (0.8, 0.6, 0.4)}
_SKIES = (  # (zenith, horizon) colour pairs: clear, hazy, sunset, overcast, dusk
    ((0.18, 0.38, 0.78), (0.65, 0.8, 0.95)), ((0.45, 0.6, 0.82), (0.85, 0.88, 0.9)),
    ((0.3, 0.3, 0.6), (0.98, 0.62, 0.35)), ((0.55, 0.57, 0.6), (0.78, 0.79, 0.8)),
    ((0.1, 0.14, 0.35), (0.6, 0.45, 0.55)))


def pink_noise(rng: np.random.Generator, n: int, shape: tuple[int, ...], beta: float,
               stretch: tuple[float, ...] | None = None) -> np.ndarray:
    """n fields with power spectrum ~ 1/f**beta, each normalised to zero mean, unit std.
    `stretch` scales frequencies per axis (anisotropy, e.g. water ripples long in x)."""
    white = rng.standard_normal((n, *shape), dtype=np.float32)
    grids = [np.fft.fftfreq(s) for s in shape[:-1]] + [np.fft.rfftfreq(shape[-1])]
    freqs = np.meshgrid(*[g * (stretch[i] if stretch else 1.0) for i, g in enumerate(grids)],
                        indexing="ij")
    f = np.sqrt(sum(q ** 2 for q in freqs))
    f.flat[0] = np.inf  # no DC: mean 0
    axes = tuple(range(1, len(shape) + 1))
    spectrum = np.fft.rfftn(white, axes=axes) * (f ** (-beta / 2)).astype(np.float32)
    field = np.fft.irfftn(spectrum, s=shape, axes=axes)
    field -= field.mean(axis=axes, keepdims=True)
    return field / (field.std(axis=axes, keepdims=True) + 1e-8)


def _col(table, types, rng, jitter):
    base = np.array([table.get(t, (0.5, 0.5, 0.5)) for t in types])
    return np.clip(base + rng.normal(0, jitter, base.shape), 0, 1)


@functools.lru_cache(maxsize=8)
def procedural(resolution: int, count: int = N_PROCEDURAL) -> np.ndarray:
    """`count` scenes as uint8 [count, 3, R, R]; scene k depends only on (k, count, R)."""
    rng = np.random.default_rng(_SEED)
    r, n = resolution, count
    types = [_TYPES[i] for i in rng.choice(len(_TYPES), size=n, p=_TYPE_P)]
    is_t = {t: np.array([x == t for x in types]) for t in _TYPES}
    full_frame = is_t["foliage"] | is_t["rock"]

    yy = (np.arange(r)[:, None] + 0.5) / r * np.ones((1, r))  # 0 at the top
    yy = yy[None]
    horizon = rng.uniform(0.32, 0.68, n)
    horizon[full_frame] = -1.0

    # ridge: the skyline; tall and rough for mountains, gentle for dunes, near-flat elsewhere
    amp = np.select([is_t["mountains"], is_t["desert"], is_t["field"]],
                    [rng.uniform(0.12, 0.32, n), rng.uniform(0.03, 0.09, n),
                     rng.uniform(0.0, 0.03, n)], 0.0)
    beta1d = np.where(is_t["desert"], 3.0, 2.0)
    prof = np.where(beta1d[:, None] > 2.5, pink_noise(rng, n, (r,), 3.0),
                    pink_noise(rng, n, (r,), 2.0))
    prof = (prof - prof.min(1, keepdims=True)) / (np.ptp(prof, 1, keepdims=True) + 1e-8)
    skyline = (horizon[:, None] - amp[:, None] * prof)[:, None, :]  # [n,1,r]
    near_prof = pink_noise(rng, n, (r,), 2.0)[:, None, :] * 0.012
    near_line = horizon[:, None, None] + np.where(is_t["mountains"][:, None, None],
                                                  rng.uniform(0.04, 0.14, n)[:, None, None], 0.0)
    near_line = near_line + near_prof

    # sky: gradient zenith -> horizon plus soft clouds
    sky_pick = rng.integers(0, len(_SKIES), n)
    zen = np.array([_SKIES[i][0] for i in sky_pick]) + rng.normal(0, 0.04, (n, 3))
    hor = np.array([_SKIES[i][1] for i in sky_pick]) + rng.normal(0, 0.04, (n, 3))
    t = np.clip(yy / np.maximum(horizon, 0.05)[:, None, None], 0, 1) ** 0.8
    sky = zen[:, None, None] * (1 - t[..., None]) + hor[:, None, None] * t[..., None]
    cloud_field = pink_noise(rng, n, (r, r), 3.0, stretch=(0.45, 1.0))
    cover = rng.uniform(-0.5, 1.6, n)[:, None, None]
    clouds = np.clip((cloud_field - cover) * 0.8, 0, 1)[..., None]
    cloud_col = np.clip(hor[:, None, None] * 0.3 + 0.72, 0, 1)
    sky = sky * (1 - clouds) + cloud_col * clouds

    # ground: base colour with 1/f texture; water gets horizontal ripples, rock gets cracks
    tex = pink_noise(rng, n, (r, r), 2.0)
    ripple = pink_noise(rng, n, (r, r), 2.2, stretch=(0.25, 1.0))
    grain = pink_noise(rng, n, (r, r), 1.0)
    ground = _col(_GROUND, types, rng, 0.06)[:, None, None]
    tex_amp = np.select([is_t["foliage"], is_t["rock"], is_t["water"]], [0.35, 0.3, 0.25], 0.18)
    texture = np.where(is_t["water"][:, None, None], ripple, 0.7 * tex + 0.3 * grain)
    texture = texture * tex_amp[:, None, None]
    ground = ground * (1 + texture[..., None])
    cracks = np.exp(-(np.abs(pink_noise(rng, n, (r, r), 2.5)) / 0.12) ** 2)
    ground = ground * (1 - 0.45 * (cracks * is_t["rock"][:, None, None])[..., None])
    gaps = np.clip((tex - 1.6) * 2.0, 0, 1) * is_t["foliage"][:, None, None]
    ground = ground * (1 - gaps[..., None]) + hor[:, None, None] * gaps[..., None]
    # water reflects the sky near the horizon; beaches have sea between horizon and shore
    shore = horizon[:, None, None] + rng.uniform(0.1, 0.3, n)[:, None, None] + near_prof * 2
    sea = np.clip(hor * 0.5 + np.array([0.05, 0.2, 0.35]), 0, 1)[:, None, None] * (
        1 + 0.25 * ripple[..., None])
    in_sea = (is_t["beach"][:, None, None] & (yy < shore))[..., None]
    ground = np.where(in_sea, sea, ground)
    # atmospheric perspective: ground fades toward the horizon colour near the horizon
    haze = np.exp(-np.clip(yy - horizon[:, None, None], 0, None) / 0.12) * 0.45
    ground = ground * (1 - haze[..., None]) + hor[:, None, None] * haze[..., None]

    # far layer (mountains, dunes): between the skyline and the near line, hazier
    far = _col(_FAR, types, rng, 0.06)[:, None, None] * (1 + 0.15 * tex[..., None])
    far = far * 0.6 + hor[:, None, None] * 0.4
    in_far = ((is_t["mountains"] | is_t["desert"])[:, None, None] & (yy < near_line))[..., None]
    land = np.where(in_far, far, ground)

    img = np.where((yy < skyline)[..., None], sky, land)
    img = img * rng.uniform(0.75, 1.15, n)[:, None, None, None]  # exposure
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(0, 3, 1, 2)


@functools.lru_cache(maxsize=8)
def from_folder(folder: str, resolution: int) -> np.ndarray:
    """Every image under `folder` (sorted by path), centre square crop resized: uint8 [N,3,R,R].
    An SI-Score root is accepted too (its `backgrounds/` sub-folder is used)."""
    root = Path(folder).expanduser()
    if (root / "backgrounds").is_dir():
        root = root / "backgrounds"
    files = image_files(root) if root.is_dir() else []
    if not files:
        raise DataMissing(f"no background images found in {root}: put .jpg/.png photos there "
                          "(any size; each is centre-cropped to a square and resized)")
    out = np.empty((len(files), 3, resolution, resolution), np.uint8)
    for i, path in enumerate(files):
        im = square_crop(open_image(path, "RGB"))
        im = im.resize((resolution, resolution), Image.Resampling.BICUBIC, reducing_gap=2.0)
        out[i] = np.asarray(im).transpose(2, 0, 1)
    return out


def background_bank(source: str, resolution: int) -> np.ndarray:
    """uint8 [N,3,R,R] for "procedural" or a folder path."""
    if source == "procedural":
        return procedural(resolution)
    return from_folder(source, resolution)
