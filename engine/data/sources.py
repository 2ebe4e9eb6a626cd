"""One class per data kind, all with the same small surface (used by generate, pairs, preview).

A source answers, for sample indices `idx` of a split and a 64-bit key:
  labels(split, idx, key) -> {"class": int64 [B]}          cheap: no pixels
  render(split, idx, key, cls, vary) -> float RGBA [B,4,R,R] straight alpha in [0,1]
`cls` is the class each sample must show (from labels, or forced by a composite's correlation);
`vary` names what to redraw for sensitivity pairs (transform names, "background", "foreground").
Generated kinds have unlimited samples (size None); CIFAR and folders are finite.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from dsl.errors import DslError
from engine.data import kernels, rand
from engine.data.transforms import Pipeline


def _vkey(key: int, name: str, vary) -> int:
    return rand.derive(key, name, "varied") if name in vary else rand.derive(key, name)


class Source:
    resolution: int
    names: list[str]

    def size(self, split: str) -> int | None:
        return None

    def labels(self, split, idx, key) -> dict[str, torch.Tensor]:
        return {"class": rand.randint(rand.derive(key, "class"), idx, len(self.names))}

    def pick(self, split, cls, key, idx) -> torch.Tensor:
        """Sample indices that show class `cls` (generated kinds: any index can show any class)."""
        return idx

    def label_meta(self) -> dict:
        return {"class": {"num_classes": len(self.names), "names": list(self.names)}}


def _on_device(cache: dict, array: np.ndarray, device, premultiply: bool = False
               ) -> torch.Tensor:
    """`array` as a tensor on `device`, made once per device (RGBA canvases premultiplied if
    asked)."""
    dev = str(torch.device(device))
    if dev not in cache:
        if premultiply:
            array = np.concatenate([array[:, :3] * array[:, 3:], array[:, 3:]], 1)
        cache[dev] = torch.from_numpy(np.ascontiguousarray(array)).to(dev)
    return cache[dev]


class Transforms2D(Source):
    """Objects on an RGBA canvas, transformed, pasted on a background (or left transparent)."""

    def __init__(self, cfg: dict):
        from engine.data.backgrounds import background_bank
        from engine.data.objects import object_bank

        self.resolution = int(cfg.get("resolution", 32))
        self.names = list(cfg["objects"])
        self.bank = object_bank(cfg.get("foregrounds", "openmoji"), tuple(self.names),
                                self.resolution, float(cfg.get("object_size", 0.7)))
        bgs = cfg.get("backgrounds", "procedural")
        self.backgrounds = None if bgs in (None, "none") else background_bank(bgs, self.resolution)
        self.pipeline = Pipeline(cfg.get("transforms", []))
        self._dev: dict = {}

    def render(self, split, idx, key, cls, vary=frozenset()):
        dev = idx.device
        opaque = self.backgrounds is not None
        # compositing wants premultiplied colour, and so does the grid that usually comes first:
        # then the bank is premultiplied once, not every batch
        pre = self.pipeline.wants_premultiplied or (opaque and not self.pipeline)
        images = _on_device(self._dev.setdefault(("obj", pre), {}), self.bank.images, dev, pre)
        half = _on_device(self._dev.setdefault("half", {}), self.bank.half, dev)
        # index_select: a row copy per sample, much cheaper on CPU than advanced indexing
        x = self.pipeline(images.index_select(0, cls), half[cls], rand.derive(key, "tf"), idx,
                          vary, premultiplied=pre, keep_premultiplied=opaque)
        if not opaque:
            return x
        bank = _on_device(self._dev.setdefault("bg", {}), self.backgrounds, dev)
        which = rand.randint(_vkey(key, "background", vary), idx, bank.shape[0])
        # x is fresh (the pipeline's output, or the gather above when it is empty)
        return _over_opaque(x, bank, which, 1.0 / 255.0)


class RandomPatterns(Source):
    """Class c = a fixed uniform-noise square (seeded by its pattern id) on fresh noise."""

    def __init__(self, cfg: dict):
        self.resolution = r = int(cfg.get("resolution", 32))
        self.names = [f"pattern_{p}" for p in cfg["patterns"]]
        side = max(1, round(float(cfg.get("pattern_size", 0.7)) * r))
        lo = (r - side) // 2
        canvas = np.zeros((len(self.names), 4, r, r), np.float32)
        for i, pid in enumerate(cfg["patterns"]):
            # real float noise from a generator seeded by the id: the same pattern everywhere
            gen = torch.Generator().manual_seed(int(pid))
            canvas[i, :3, lo:lo + side, lo:lo + side] = torch.rand(3, side, side, generator=gen)
            canvas[i, 3, lo:lo + side, lo:lo + side] = 1.0
        self.canvas = canvas
        self.half = np.full((len(self.names), 2), r / 2.0 - lo, np.float32)
        self.pipeline = Pipeline(cfg.get("transforms", []))
        self._dev: dict = {}

    def render(self, split, idx, key, cls, vary=frozenset()):
        dev = idx.device
        pre = self.pipeline.wants_premultiplied or not self.pipeline
        canvas = _on_device(self._dev.setdefault(("c", pre), {}), self.canvas, dev, pre)
        half = _on_device(self._dev.setdefault("h", {}), self.half, dev)
        x = self.pipeline(canvas[cls], half[cls], rand.derive(key, "tf"), idx, vary,
                          premultiplied=pre, keep_premultiplied=True)
        r = self.resolution
        background = rand.field(_vkey(key, "background", vary), idx, (3, r, r))
        return _over_opaque(x, background)  # x is fresh, as in Transforms2D.render


class Solid(Source):
    def __init__(self, cfg: dict):
        self.resolution = int(cfg.get("resolution", 32))
        self.color = [float(c) for c in cfg.get("color", [0, 0, 0])]
        self.names = ["black" if self.color == [0.0, 0.0, 0.0] else
                      "solid_" + "_".join(str(int(c)) for c in self.color)]

    def render(self, split, idx, key, cls, vary=frozenset()):
        r = self.resolution
        rgb = torch.tensor(self.color, device=idx.device) / 255.0
        x = torch.ones(idx.shape[0], 4, r, r, device=idx.device)
        x[:, :3] = rgb[None, :, None, None]
        return x


class Finite(Source):
    """A labelled image pool (CIFAR, folders) split into train/val/test by a seeded carve.

    Val is carved from train; the order inside each split is a seeded hash permutation, so sample
    i of a split is a pure function of (config, seed, split, i) and seeds re-draw the order.
    """

    def __init__(self, pools: dict, classes, cfg: dict, seed: int, sizes: dict | None):
        self.resolution = int(cfg.get("resolution", 32))
        self.pipeline = Pipeline(cfg.get("transforms", []), whole_image=True)
        all_names = pools["names"]
        keep = list(range(len(all_names))) if classes is None else [int(c) for c in classes]
        self.names = [all_names[c] for c in keep]
        remap = np.full(len(all_names), -1, np.int64)
        remap[keep] = np.arange(len(keep))
        self.x, self.y, self.order = {}, {}, {}
        for split in ("train", "test"):
            x, y = pools[split]
            mine = np.nonzero(remap[y] >= 0)[0]
            self.x[split], self.y[split] = x[mine], remap[y[mine]]
            # a seeded permutation of the pool, by hashing each position
            h = rand.bits(rand.derive(seed, "carve", split), torch.arange(len(mine)), 1)[:, 0]
            self.order[split] = np.argsort(h.numpy(), kind="stable")
        n_pool = len(self.order["train"])
        n_val = (sizes or {}).get("val")
        n_val = min(5000, n_pool // 10) if n_val is None else int(n_val)
        if n_val >= n_pool:
            raise DslError(f"val split of {n_val} leaves nothing to train on: the training pool "
                           f"has only {n_pool} images")
        self.split_index = {"val": self.order["train"][:n_val],
                            "train": self.order["train"][n_val:],
                            "test": self.order["test"]}
        self.pool = {"train": "train", "val": "train", "test": "test"}
        self._dev: dict = {}
        self._by_class: dict = {}

    def size(self, split):
        return len(self.split_index[split])

    def _pos(self, split, idx):
        n = self.size(split)
        if bool((idx >= n).any()):
            raise DslError(f"the {split} split has {n} images; sample {int(idx.max())} asked for")
        return self.split_index[split][idx.cpu().numpy()]

    def labels(self, split, idx, key):
        y = self.y[self.pool[split]][self._pos(split, idx)]
        return {"class": torch.from_numpy(y).to(idx.device)}

    def pick(self, split, cls, key, idx):
        if split not in self._by_class:
            y = self.y[self.pool[split]][self.split_index[split]]
            self._by_class[split] = [torch.from_numpy(np.nonzero(y == c)[0])
                                     for c in range(len(self.names))]
        groups = self._by_class[split]
        u = rand.uniform(rand.derive(key, "pick"), idx)[:, 0].cpu()
        out = torch.empty(idx.shape[0], dtype=torch.int64)
        for c, members in enumerate(groups):
            sel = cls.cpu() == c
            if bool(sel.any()):
                if len(members) == 0:
                    raise DslError(f"class {self.names[c]} has no images in the {split} split")
                out[sel] = members[(u[sel] * len(members)).long().clamp(max=len(members) - 1)]
        return out.to(idx.device)

    def render(self, split, idx, key, cls, vary=frozenset()):
        pos = torch.from_numpy(self._pos(split, idx))
        pool = self.pool[split]
        x = torch.from_numpy(self.x[pool][pos.numpy()]).to(idx.device).float() / 255.0
        r = self.resolution
        if x.shape[-1] != r:
            x = F.interpolate(x, size=(r, r), mode="bilinear", antialias=True,
                              align_corners=False).clamp(0, 1)
        x = torch.cat([x, torch.ones_like(x[:, :1])], 1)
        half = torch.full((x.shape[0], 2), r / 2.0, device=x.device)
        return self.pipeline(x, half, rand.derive(key, "tf"), idx, vary)


class Composite(Source):
    """A foreground dataset pasted small on a background dataset (paper Sec. 4.2, App. C.3)."""

    def __init__(self, cfg: dict, build):
        self.resolution = int(cfg.get("resolution", 32))
        self.bg = build(cfg["background"])
        self.fg = build(cfg["foreground"])
        self.names = self.bg.names
        self.scale = float(cfg.get("scale", 0.55))
        self.position = cfg.get("position", "upper_right")
        self.rho = float(cfg.get("correlation", 0.0))
        self.availability = float(cfg.get("availability", 1.0))

    def size(self, split):
        return self.bg.size(split)

    def labels(self, split, idx, key):
        bg_class = self.bg.labels(split, idx, rand.derive(key, "bg"))["class"]
        n_fg = len(self.fg.names)
        tied = rand.bernoulli(rand.derive(key, "correlated"), idx, self.rho)
        free = rand.randint(rand.derive(key, "fg_class"), idx, n_fg)
        fg_class = torch.where(tied, bg_class % n_fg, free)
        present = rand.bernoulli(rand.derive(key, "available"), idx, self.availability)
        return {"class": bg_class, "background": bg_class,
                "foreground": torch.where(present, fg_class, torch.full_like(fg_class, -1))}

    def label_meta(self):
        bg = self.bg.label_meta()["class"]
        return {"class": bg, "background": bg, "foreground": self.fg.label_meta()["class"]}

    def render(self, split, idx, key, cls, vary=frozenset()):
        lab = self.labels(split, idx, key)
        bg_key, bg_idx, bg_class = rand.derive(key, "bg"), idx, lab["background"]
        if "background" in vary:  # another background image; the object stays exactly as it was
            bg_key = rand.derive(key, "bg", "varied")
            n = self.bg.size(split)
            bg_idx = idx if n is None else rand.randint(bg_key, idx, n)
            bg_class = self.bg.labels(split, bg_idx, bg_key)["class"]
        inner = frozenset(v for v in vary if v not in ("background", "foreground"))
        canvas = self.bg.render(split, bg_idx, bg_key, bg_class, inner)

        fg_key, present = rand.derive(key, "fg"), lab["foreground"] >= 0
        fg_class = lab["foreground"].clamp(min=0)
        if "foreground" in vary:  # another object (class and draws); the background stays
            fg_key = rand.derive(key, "fg", "varied")
            fg_class = rand.randint(rand.derive(fg_key, "class"), idx, len(self.fg.names))
        fg_idx = self.fg.pick(split, fg_class, fg_key, idx)
        obj = self.fg.render(split, fg_idx, fg_key, fg_class, inner)
        obj = obj * present[:, None, None, None].to(obj.dtype)
        return paste(self._place(obj, key, idx), canvas)

    def _place(self, obj, key, idx):
        """Resize the foreground canvas to scale*R and put it at `position` on an empty canvas."""
        r = self.resolution
        side = max(1, min(r, round(self.scale * r)))
        pre = torch.cat([obj[:, :3] * obj[:, 3:], obj[:, 3:]], 1)
        if pre.shape[-1] != side:
            pre = F.interpolate(pre, size=(side, side), mode="bilinear", antialias=True,
                                align_corners=False)
        free = r - side
        b = obj.shape[0]
        corners = {"center": (free // 2, free // 2), "upper_right": (free, 0),
                   "upper_left": (0, 0), "lower_right": (free, free), "lower_left": (0, free)}
        if self.position == "random":
            xy = torch.floor(rand.uniform(rand.derive(key, "position"), idx, 2) * (free + 1)).long()
            xy = xy.clamp(max=free)
        else:
            xy = torch.tensor(corners[self.position], device=obj.device).expand(b, 2)
        # integer placement by padding each sample's patch (a gather over a shifted index grid)
        ar = torch.arange(r, device=obj.device)
        ys = ar[None, :] - xy[:, 1:2]
        xs = ar[None, :] - xy[:, 0:1]
        valid = ((ys >= 0) & (ys < side))[:, :, None] & ((xs >= 0) & (xs < side))[:, None, :]
        yi, xi = ys.clamp(0, side - 1), xs.clamp(0, side - 1)
        flat = pre.reshape(b, 4, side * side)
        gather = (yi[:, :, None] * side + xi[:, None, :]).reshape(b, 1, r * r).expand(b, 4, -1)
        out = torch.gather(flat, 2, gather).reshape(b, 4, r, r) * valid[:, None].to(pre.dtype)
        alpha = out[:, 3:]
        rgb = torch.where(alpha > 1e-6, out[:, :3] / alpha.clamp(min=1e-6), torch.zeros_like(
            out[:, :3]))
        return torch.cat([rgb.clamp(0, 1), alpha.clamp(0, 1)], 1)


def _over_opaque(top: torch.Tensor, bank: torch.Tensor, which: torch.Tensor | None = None,
                 scale: float = 1.0) -> torch.Tensor:
    """Premultiplied RGBA `top` over opaque RGB bank[which] (or `bank` itself, one per sample)
    times `scale` (a uint8 bank is scaled here rather than converted first), in place: `top`
    must be a fresh tensor. Alpha becomes 1. The same pixels as `paste` on straight colour, in
    one blend and no unpremultiply."""
    if kernels.active(top) and top.is_contiguous():  # no gathered copy of the backgrounds
        rows = torch.arange(top.shape[0]) if which is None else which
        return kernels.over_opaque(top, bank, rows, scale)
    bottom = bank if which is None else bank.index_select(0, which)
    w = 1.0 - top[:, 3:]
    if scale != 1.0:
        w.mul_(scale)
    top[:, :3].addcmul_(bottom, w)  # promotes a uint8 bottom inside the op, no copy
    top[:, 3:] = 1.0
    return top


def paste(top: torch.Tensor, bottom: torch.Tensor) -> torch.Tensor:
    """Alpha-composite RGBA `top` over RGB or RGBA `bottom` (the object mask is top's alpha)."""
    a = top[:, 3:]
    if bottom.shape[1] == 3:  # opaque bottom, the common case: one blend, alpha 1
        return torch.cat([torch.lerp(bottom, top[:, :3], a), torch.ones_like(a)], 1)
    rgb_b = bottom[:, :3]
    a_b = bottom[:, 3:] if bottom.shape[1] == 4 else torch.ones_like(a)
    out_a = a + a_b * (1 - a)
    rgb = (top[:, :3] * a + rgb_b * a_b * (1 - a)) / out_a.clamp(min=1e-6)
    return torch.cat([rgb, out_a], 1)
