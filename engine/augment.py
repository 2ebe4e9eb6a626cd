"""Online augmentation: fresh transforms on every training batch, on the device it trains on.

`[train] augment` (and a finetune probe's) resolves to a list of TF dicts (docs/jobs.md): data
transforms, run by the data engine's own batched pipeline (engine.data.transforms) on the whole
image, as it runs them on CIFAR and folder images, then the augment-only ops (`crop`). Every draw
is keyed by (augment config, job seed, epoch, step) and the sample's place in the batch, so a job
is reproducible from its config alone, and each batch of each epoch sees new draws.

The result is quantised back to uint8, as a materialised dataset would be: augmenting online
and rendering the same transform into the data give images of one kind.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch

from dsl.catalog import AUGMENT_OPS
from engine.data import rand
from engine.data.generation import to_uint8
from engine.data.transforms import Pipeline


class Augment:
    """uint8 [B,3,R,R] batch -> an augmented uint8 batch of the same shape and device.

    `tfs`: TF dicts (a job config's `augment`) or bare names, which take the catalog defaults."""

    def __init__(self, tfs: Sequence[Mapping[str, Any]], seed: int):
        tfs = [{"name": t, "params": {}} if isinstance(t, str) else dict(t) for t in tfs]
        self.pipeline = Pipeline([t for t in tfs if t["name"] not in AUGMENT_OPS],
                                 whole_image=True)
        default = AUGMENT_OPS["crop"].params["padding"].default
        self.padding = next((int((t.get("params") or {}).get("padding", default))
                             for t in tfs if t["name"] == "crop"), None)
        self.key = rand.config_key(tfs, int(seed), "augment")

    def __bool__(self) -> bool:
        return bool(self.pipeline) or self.padding is not None

    def __call__(self, x: torch.Tensor, epoch: int, step: int) -> torch.Tensor:
        key = rand.derive(self.key, epoch, step)
        b, _, r, _ = x.shape
        idx = torch.arange(b, device=x.device)  # a sample's place in this batch
        if self.pipeline:
            with torch.no_grad():
                rgba = torch.empty(b, 4, r, r, device=x.device)
                torch.mul(x, 1.0 / 255.0, out=rgba[:, :3])
                rgba[:, 3] = 1.0
                half = torch.full((b, 2), r / 2.0, device=x.device)
                # Opaque input is premultiplied already (alpha 1), and premultiplied colour is
                # the image flattened over black: no conversion either way.
                out = self.pipeline(rgba, half, rand.derive(key, "tf"), idx, premultiplied=True,
                                    keep_premultiplied=True)
                x = to_uint8(out[:, :3])
        if self.padding:
            x = random_crop(x, self.padding, rand.derive(key, "crop"), idx)
        return x


def random_crop(x: torch.Tensor, padding: int, key: int, idx: torch.Tensor) -> torch.Tensor:
    """The CIFAR random crop: pad every side with `padding` zeros, cut a window of the original
    size at a per-sample integer offset (one gather, any dtype, no padded copy)."""
    b, _, h, w = x.shape
    offset = rand.randint(key, idx, (2 * padding + 1) ** 2)
    dy, dx = offset // (2 * padding + 1) - padding, offset % (2 * padding + 1) - padding
    rows = torch.arange(h, device=x.device)[None, :] + dy[:, None]  # [B, H] source rows
    cols = torch.arange(w, device=x.device)[None, :] + dx[:, None]
    inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    src = rows.clamp(0, h - 1)[:, :, None] * w + cols.clamp(0, w - 1)[:, None, :]  # [B, H, W]
    out = torch.gather(x.reshape(b, -1, h * w), 2,
                       src.reshape(b, 1, h * w).expand(-1, x.shape[1], -1)).reshape(x.shape)
    return out * inside[:, None].to(x.dtype)


def from_config(config: Any) -> Augment | None:
    """The job's augmentation (None when its config has none): a typed train or finetune config
    (dsl.job_configs: `augment`, `seed`), or such a config's dict, where `augment` is absent
    when there is none."""
    if isinstance(config, Mapping):
        tfs, seed = config.get("augment") or (), config["seed"]
    else:
        tfs, seed = [tf.to_config() for tf in config.augment], config.seed
    return Augment(tfs, int(seed)) if tfs else None
