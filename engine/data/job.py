"""The `dataset` job kind: materialise every split of a data config as uint8 .npy arrays."""

from __future__ import annotations

import numpy as np

from dsl.errors import DslError
from dsl.job_configs import DatasetConfig
from engine.data import artifact
from engine.data.generation import build, generate

_BATCH = 8192


def split_size(src, split: str, requested) -> int:
    available = src.size(split)
    if requested is None:
        if available is None:
            raise DslError(f"the {split} size must be a number for generated data")
        return available
    if available is not None and int(requested) > available:
        raise DslError(f"{split} split: {requested} samples asked for, only {available} exist")
    return int(requested)


def run(config, inputs, out_dir, ctx) -> list:
    """config: dsl.job_configs.DatasetConfig's dict (docs/jobs.md)."""
    c = DatasetConfig.parse(config)
    data, sizes, seed = c.data, dict(c.sizes), c.seed
    src = build(data, seed, sizes, ctx.data_root)
    splits = {}
    for split in artifact.SPLITS:
        n = split_size(src, split, sizes.get(split))
        images = np.empty((n, 3, src.resolution, src.resolution), np.uint8)
        labels = {name: np.empty(n, np.int64) for name in src.label_meta()}
        for start in range(0, n, _BATCH):
            idx = np.arange(start, min(n, start + _BATCH))
            x, y = generate(data, split, idx, seed, ctx.device, sizes=sizes,
                            data_root=ctx.data_root)
            images[start:start + len(idx)] = x.cpu().numpy()
            for name in labels:
                labels[name][start:start + len(idx)] = y[name].cpu().numpy()
        ctx.log(f"dataset {data.get('kind')}: {split} {n} images")
        splits[split] = artifact.Split(images, labels)
    artifact.save(out_dir, splits, src.label_meta(), extra_meta={"data": data, "seed": seed})
    return []
