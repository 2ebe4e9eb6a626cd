"""Data configs (docs/jobs.md) -> pixels: `generate(config, split, indices, seed, device)`.

Sample i of a split is a pure function of (config, seed, split, i): its root key hashes the
canonical config with seed and split, and every draw below it hashes (key, purpose, i). Batch
size, order, worker count and device therefore do not change the pixels (up to float rounding).
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import torch

from dsl.data_kinds import DATA_KINDS
from dsl.errors import DslError, did_you_mean
from dsl.kinds import load
from engine.data import kernels, rand, sources


def default_data_root() -> Path:
    return Path(os.environ.get("DSL_DATA", "data"))


def _canon(config) -> str:
    return json.dumps(config, sort_keys=True, separators=(",", ":"))


def build(config: dict, seed: int = 0, sizes: dict | None = None,
          data_root=None) -> sources.Source:
    """The source for a data config (cached: atlases, banks and CIFAR are loaded once)."""
    root = str(Path(data_root) if data_root is not None else default_data_root())
    return _build(_canon(config), int(seed), _canon(sizes or {}), root)


@functools.lru_cache(maxsize=32)
def _build(config_json: str, seed: int, sizes_json: str, root: str) -> sources.Source:
    cfg, sizes = json.loads(config_json), json.loads(sizes_json) or None

    def sub(c):
        return _build(_canon(c), seed, sizes_json, root)

    kind = cfg.get("kind")
    record = DATA_KINDS.get(kind) if isinstance(kind, str) else None
    if record is None:
        hint = did_you_mean(str(kind), list(DATA_KINDS))
        raise DslError(f"unknown data kind '{kind}'" + (f"; {hint}" if hint else ""))
    if record.source is None:
        raise DslError(f"data kind '{kind}' has no image source (its record in dsl.data_kinds "
                       "names none): it can be planned, not made")
    return load(record.source)(cfg, seed, sizes, root, sub)


# Each shipped data kind's image source, named by its record in dsl.data_kinds:
# (config, seed, sizes, data root, sub) -> Source, where `sub` builds a nested config's source.
def transforms2d_source(cfg, seed, sizes, root, sub) -> sources.Source:
    return sources.Transforms2D(cfg)


def random_patterns_source(cfg, seed, sizes, root, sub) -> sources.Source:
    return sources.RandomPatterns(cfg)


def solid_source(cfg, seed, sizes, root, sub) -> sources.Source:
    return sources.Solid(cfg)


def cifar_source(cfg, seed, sizes, root, sub) -> sources.Source:
    from engine.data import cifar

    return sources.Finite(cifar.load(cfg["kind"], root), cfg.get("classes"), cfg, seed, sizes)


def image_folder_source(cfg, seed, sizes, root, sub) -> sources.Source:
    from engine.data import folders

    pools = folders.load(cfg["path"], int(cfg.get("resolution", 32)),
                         tuple(cfg["classes"]) if cfg.get("classes") else None)
    return sources.Finite(pools, None, cfg, seed, sizes)


def composite_source(cfg, seed, sizes, root, sub) -> sources.Source:
    return sources.Composite(cfg, sub)


def root_key(config: dict, seed: int, split: str) -> int:
    return rand.config_key(config, int(seed), split)


def to_uint8(rgba: torch.Tensor) -> torch.Tensor:
    """Flatten over black (transparent = black, as erased or uncovered pixels) and quantise."""
    if kernels.active(rgba):
        return kernels.to_uint8(rgba)
    alpha = rgba[:, 3:] if rgba.shape[1] == 4 else torch.ones((), device=rgba.device)
    # 255 * rgb * alpha + 0.5 in one op, clamped to [0, 255] (= clamp to [0, 1] first), truncated
    half = torch.full((), 0.5, device=rgba.device, dtype=rgba.dtype)
    return torch.addcmul(half, rgba[:, :3], alpha, value=255.0).clamp_(0.0, 255.0).to(torch.uint8)


def generate(data_config: dict, split: str, indices, seed: int = 0, device="cpu", *,
             sizes: dict | None = None, data_root=None, vary=frozenset(),
             chunk: int | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """uint8 [B,3,R,R] images and {label: int64 [B]} for sample `indices` of `split`.

    `sizes` matters only for finite datasets (how much of train is carved off as val); `vary`
    redraws the named transforms / components (sensitivity pairs); `chunk` (images rendered
    at once) defaults per device and changes only speed and memory, never the pixels.
    """
    src = build(data_config, seed, sizes, data_root)
    idx = torch.as_tensor(indices, dtype=torch.int64).to(device)
    key = root_key(data_config, seed, split)
    labels = src.labels(split, idx, key)
    chunk = chunk or default_chunk(idx.device.type, int(getattr(src, "resolution", 32)))
    images = []
    with torch.no_grad():
        for s in range(0, max(len(idx), 1), chunk):
            part = slice(s, s + chunk)
            rgba = src.render(split, idx[part], key, labels["class"][part], frozenset(vary))
            images.append(to_uint8(rgba))
    return torch.cat(images), {k: v.to(torch.int64) for k, v in labels.items()}


def default_chunk(device_type: str, resolution: int) -> int:
    """Images rendered at once. CPU: each chunk pays a fixed ~4 ms of op dispatch (a few hundred
    small ops), and chunks far past the cache slow every pass; measured best at ~16 MB of float
    RGBA (1,024 images at 32x32) with 1 or 2 threads, and with two processes side by side.
    GPU: 2^16 images at 32x32 (each float RGBA intermediate ~1 GB) made 4.7M images/s on an
    H200 (2^18: 5.7M, 2^14: 2.5M); 2^16 rather than 2^18 leaves memory for a training beside it."""
    pixels = 1024 * 32 * 32 if device_type == "cpu" else (1 << 16) * 32 * 32
    return max(1, pixels // (resolution * resolution))
