"""Sensitivity pairs (Eq. 1): (x1, x2) differ only in the varied part.

x2 is sample i rendered again with the varied transforms' (or component's) draws re-keyed; every
other draw (object, background, other transforms) hashes to the same numbers, so the pair shares
everything else exactly. Pairs are taken from the test split. Eq. 1's independent samples are the
same images across pairs, x1[i] against x2[j] for two different test samples (`index`), so they
cost no rendering and no forward pass of their own.
"""

from __future__ import annotations

import copy
from typing import NamedTuple

import torch

from dsl.errors import DslError
from engine.data import rand
from engine.data.generation import build, generate
from engine.data.transforms import fill_params


def with_transforms(cfg: dict, tfs: list[dict]) -> dict:
    """`cfg` with `tfs` added (their params win over the data's own entry for the same name).
    A composite's foreground gets them, since that is the part the composite is built around."""
    cfg = copy.deepcopy(cfg)
    if cfg.get("kind") == "composite":
        part = "foreground" if "transforms" in cfg["foreground"] else "background"
        if "transforms" not in cfg[part]:
            raise DslError("neither part of this composite takes transforms to vary")
        cfg[part] = with_transforms(cfg[part], tfs)
        return cfg
    if "transforms" not in cfg:
        raise DslError(f"a '{cfg.get('kind')}' dataset has no transforms to vary")
    names = {t["name"] for t in tfs}
    cfg["transforms"] = fill_params([t for t in cfg["transforms"] if
                                     (t if isinstance(t, str) else t["name"]) not in names] + tfs)
    return cfg


class Pairs(NamedTuple):
    """uint8 [n,3,H,W] images x1, x2 on the device, and `index` [n] (int64, CPU): the test sample
    each pair renders. Pairs of equal index show the same sample, so they are not independent."""
    x1: torch.Tensor
    x2: torch.Tensor
    index: torch.Tensor


def sensitivity_pairs(data_config: dict, vary: dict, n: int, seed: int, device="cpu",
                      data_root=None) -> Pairs:
    """`Pairs` (x1, x2, index) of n test samples.

    vary = {"transforms": [TF...]} redraws only those transforms (adding them to the data if it
    lacks them); {"component": "background" | "foreground"} swaps only that part of a composite
    (on transforms2d / random patterns, "background" swaps the background too).
    """
    if "transforms" in vary:
        tfs = fill_params(vary["transforms"])
        cfg = with_transforms(data_config, tfs)
        varied = frozenset(t["name"] for t in tfs)
    elif vary.get("component") in ("background", "foreground"):
        cfg, varied = data_config, frozenset([vary["component"]])
        kind = cfg.get("kind")
        if kind != "composite" and not (varied == {"background"} and
                                        kind in ("transforms2d", "random_patterns")):
            raise DslError(f"cannot vary the {vary['component']} of a '{kind}' dataset: "
                           "components exist only in composites")
    else:
        raise DslError(f"vary must name transforms or a component, got {vary!r}")
    size = build(cfg, seed, None, data_root).size("test")
    base = torch.arange(int(n), dtype=torch.int64)  # unlimited data: samples 0..n-1
    if size is not None:  # finite data: hashed draws from the test set
        key = rand.derive(rand.config_key(cfg, int(seed)), "pairs")
        base = rand.randint(rand.derive(key, 0), base, size)

    def gen(v=frozenset()):
        return generate(cfg, "test", base, seed, device, data_root=data_root, vary=v)[0]

    return Pairs(gen(), gen(varied), base)
