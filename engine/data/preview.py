"""Contact sheets for looking at data: every transform type, or samples of one task."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from dsl.catalog import TRANSFORMS
from dsl.errors import DslError
from engine.data import rand
from engine.data.generation import build, generate, to_uint8

SHEET_OBJECTS = ("apple", "car", "dog", "guitar", "teapot", "butterfly")
_BG = (255, 255, 255)
_INK = (20, 20, 20)


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # very old Pillow
        return ImageFont.load_default()


def _tile(img: torch.Tensor, zoom: int) -> Image.Image:
    arr = img.permute(1, 2, 0).cpu().numpy().astype(np.uint8)
    return Image.fromarray(arr).resize((arr.shape[1] * zoom, arr.shape[0] * zoom),
                                       Image.Resampling.NEAREST)


def transforms_sheet(resolution: int = 32, samples: int = 8, zoom: int = 3) -> Image.Image:
    """One row per transform type (first row: none), `samples` draws across, on several objects.
    Probabilistic transforms are shown with p = 1 so every tile shows the effect."""
    rows = [("none", [])] + [(name, [{"name": name, "params": {"p": 1.0} if "p" in info.params
                                      else {}}]) for name, info in TRANSFORMS.items()]
    side = resolution * zoom
    label_w, gap = 110, 4
    sheet = Image.new("RGB", (label_w + samples * (side + gap), len(rows) * (side + gap) + 30), _BG)
    draw = ImageDraw.Draw(sheet)
    draw.text((6, 6), f"the 18 transform types at their paper parameters ({resolution}x{resolution};"
              " probabilistic ones shown with p=1)", fill=_INK, font=_font(13))
    idx = torch.arange(samples)
    for r, (name, tfs) in enumerate(rows):
        cfg = {"kind": "transforms2d", "objects": list(SHEET_OBJECTS), "transforms": tfs,
               "resolution": resolution, "foregrounds": "openmoji",
               "backgrounds": "procedural", "object_size": 0.7}
        src = build(cfg)
        cls = idx % len(SHEET_OBJECTS)
        images = to_uint8(src.render("train", idx, rand.derive(7, "sheet"), cls))
        y = 30 + r * (side + gap)
        draw.text((6, y + side // 2 - 8), name, fill=_INK, font=_font(15))
        for c in range(samples):
            sheet.paste(_tile(images[c], zoom), (label_w + c * (side + gap), y))
    return sheet


def task_sheet(data_config: dict, title: str = "", n: int = 48, columns: int = 8,
               seed: int = 0, split: str = "train", label: str = "class", zoom: int = 3,
               data_root=None, sizes=None) -> Image.Image:
    """A grid of the first `n` samples of a split, each captioned with its label name."""
    src = build(data_config, seed, sizes, data_root)
    meta = src.label_meta()
    if label not in meta:
        raise DslError(f"no label '{label}' in this data (labels: {', '.join(meta)})")
    size = src.size(split)
    n = min(n, size) if size is not None else n
    images, labels = generate(data_config, split, np.arange(n), seed, "cpu", sizes=sizes,
                              data_root=data_root)
    names, values = meta[label]["names"], labels[label]
    res = images.shape[-1]
    side, cap = res * zoom, 14
    rows = (n + columns - 1) // columns
    sheet = Image.new("RGB", (columns * (side + 4) + 4, 28 + rows * (side + cap + 6)), _BG)
    draw = ImageDraw.Draw(sheet)
    draw.text((6, 6), title or f"{data_config.get('kind')} ({split}, seed {seed})", fill=_INK,
              font=_font(13))
    for i in range(n):
        x, y = 4 + (i % columns) * (side + 4), 28 + (i // columns) * (side + cap + 6)
        sheet.paste(_tile(images[i], zoom), (x, y))
        v = int(values[i])
        text = "(absent)" if v < 0 else str(names[v]) if v < len(names) else str(v)
        draw.text((x, y + side + 1), text[: max(4, side // 7)], fill=_INK, font=_font(11))
    return sheet
