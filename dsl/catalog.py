"""Every name the spec language knows, in one place, without importing torch.

The language validates specs against these tables (so nothing invalid reaches the engine) and the
engine implements exactly these names (tests check both sides agree).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from dsl import data_kinds, kinds
from dsl.archs import ARCHES

ParamType = Literal["range", "prob", "float", "int"]


@dataclass(frozen=True)
class Param:
    """One overridable parameter of a transform and its paper default."""

    type: ParamType
    default: float | int | tuple[float, float]
    doc: str = ""
    low: float | None = None  # the smallest meaningful value (every end of a range)
    high: float | None = None  # the largest
    positive: bool = False  # must be > 0 (a zero sigma or scale has no meaning)

    def allows(self, x: float) -> bool:
        """Whether a number (or one end of a range) is a meaningful value."""
        return not ((self.positive and x <= 0) or (self.low is not None and x < self.low)
                    or (self.high is not None and x > self.high))

    def allowed(self) -> str:
        """The meaningful values in words: spec errors and the docs' table say the same."""
        if self.type == "prob":
            return "within [0, 1]"
        if self.positive:
            return "above 0" + (f" and at most {self.high:g}" if self.high is not None else "")
        if self.low is not None and self.high is not None:
            return f"within [{self.low:g}, {self.high:g}]"
        if self.low is not None:
            return f"at least {self.low:g}"
        return f"at most {self.high:g}" if self.high is not None else "any"


@dataclass(frozen=True)
class TransformInfo:
    name: str
    category: Literal["geometric", "photometric", "corruption"]
    params: dict[str, Param] = field(default_factory=dict)
    doc: str = ""


def _t(name, category, doc, **params) -> TransformInfo:
    return TransformInfo(name, category, params, doc)


# The 18 transformation types in the order they are composed (paper-facts.md, Transforms-2D).
# Ranges are [low, high] of a uniform draw; `p` is the probability the transform is applied at all.
TRANSFORMS: dict[str, TransformInfo] = {
    t.name: t
    for t in [
        _t("translate", "geometric", "object placed uniformly so it stays fully inside the canvas",
           extent=Param("float", 1.0, "fraction of the free room the object may move in",
                        low=0.0, high=1.0)),
        _t("rotate", "geometric", "rotation, nearest sampling, transparent fill",
           degrees=Param("range", (0.0, 360.0))),
        _t("scale", "geometric", "object scale about its centre",
           factor=Param("range", (0.4, 1.0), positive=True)),
        _t("shear", "geometric", "x and y shear angles, each drawn from the range",
           degrees=Param("range", (-50.0, 50.0), low=-89.0, high=89.0)),
        _t("vflip", "geometric", "vertical flip", p=Param("prob", 0.5)),
        _t("hflip", "geometric", "horizontal flip", p=Param("prob", 0.5)),
        _t("hue", "photometric", "hue shift as a fraction of the colour circle",
           shift=Param("range", (-0.5, 0.5))),
        _t("brightness", "photometric", "brightness factor",
           factor=Param("range", (0.0, 2.0), low=0.0)),
        _t("grayscale", "photometric", "convert to grey", p=Param("prob", 0.5)),
        _t("posterize", "photometric", "keep the top `bits` bits per channel",
           bits=Param("int", 1, low=1, high=8), p=Param("prob", 0.5)),
        _t("invert", "photometric", "invert colours", p=Param("prob", 0.5)),
        _t("sharpen", "photometric", "sharpness factor (1 = identity)",
           factor=Param("float", 7.0, low=0.0), p=Param("prob", 0.5)),
        _t("blur", "corruption", "Gaussian blur", kernel=Param("int", 7, low=1),
           sigma=Param("range", (0.1, 1.5), positive=True)),
        _t("noise", "corruption", "additive Gaussian noise on [0,1] pixels, clipped",
           sigma=Param("float", 1.0, low=0.0), p=Param("prob", 0.5)),
        _t("pixelate", "corruption", "box-filter down to factor x size, nearest back up",
           factor=Param("float", 0.3, high=1.0, positive=True), p=Param("prob", 0.5)),
        _t("elastic", "corruption", "elastic displacement field",
           alpha=Param("float", 150.0, low=0.0), sigma=Param("float", 5.0, positive=True),
           p=Param("prob", 0.5)),
        _t("erasing", "corruption", "one transparent square fully inside the canvas; size is a "
           "fraction of the canvas side (14/32 in the paper)",
           size=Param("float", 0.4375, high=1.0, positive=True), p=Param("prob", 0.5)),
        _t("contrast", "corruption", "contrast factor",
           factor=Param("range", (0.0, 2.0), low=0.0)),
    ]
}


# Online augmentation (`[train] augment`) takes every transform above, applied to whole training
# images batch by batch, plus these ops that only make sense on whole images, and named presets.
AUGMENT_OPS: dict[str, TransformInfo] = {
    "crop": _t("crop", "geometric", "random crop of the image padded with black on every side: "
               "an integer shift of up to `padding` pixels in x and y",
               padding=Param("int", 4, "pixels of padding on each side", low=0)),
}
# The CIFAR convention (pad 4 at 32x32, random 32x32 crop, horizontal flip with p = 0.5).
AUGMENT_PRESETS: dict[str, tuple[str, ...]] = {"standard": ("crop", "hflip")}


def transforms_table_md() -> str:
    """The transforms, their parameters, defaults and allowed values as a markdown table
    (docs/spec-language.md holds it; a test keeps the two the same)."""
    rows = ["| transform | kind | parameter | default | allowed | meaning |",
            "|---|---|---|---|---|---|"]
    for t in TRANSFORMS.values():
        for i, (name, p) in enumerate(t.params.items()):
            d = p.default
            shown = f"[{d[0]:g}, {d[1]:g}]" if isinstance(d, tuple) else f"{d:g}"
            meaning = (t.doc if i == 0 else "") + ((": " if i == 0 else "") + p.doc
                                                   if p.doc else "")
            first = (f"`{t.name}`", t.category) if i == 0 else ("", "")
            rows.append(f"| {first[0]} | {first[1]} | `{name}` | {shown} | {p.allowed()} | "
                        f"{meaning} |")
    return "\n".join(rows)


# Foreground objects of the embedded default: (name, OpenMoji code point sequence).
# The order is fixed: an object's class index in a dataset follows the order of the draw, but the
# names here are what specs and draws refer to. 61 categories, as in the paper's SI-Score set.
OBJECTS: tuple[tuple[str, str], ...] = (
    # food
    ("apple", "1F34E"), ("banana", "1F34C"), ("grapes", "1F347"), ("watermelon", "1F349"),
    ("lemon", "1F34B"), ("pineapple", "1F34D"), ("strawberry", "1F353"), ("cherries", "1F352"),
    ("carrot", "1F955"), ("broccoli", "1F966"), ("pizza", "1F355"), ("hamburger", "1F354"),
    ("croissant", "1F950"), ("cheese", "1F9C0"), ("doughnut", "1F369"),
    # household items
    ("teapot", "1FAD6"), ("light_bulb", "1F4A1"), ("key", "1F511"), ("lock", "1F512"),
    ("chair", "1FA91"), ("umbrella", "1F302"), ("candle", "1F56F"), ("alarm_clock", "23F0"),
    ("mobile_phone", "1F4F1"), ("laptop", "1F4BB"), ("camera", "1F4F7"), ("books", "1F4DA"),
    ("basket", "1F9FA"),
    # clothing
    ("t_shirt", "1F455"), ("jeans", "1F456"), ("dress", "1F457"), ("socks", "1F9E6"),
    ("top_hat", "1F3A9"), ("crown", "1F451"), ("running_shoe", "1F45F"), ("backpack", "1F392"),
    ("glasses", "1F453"),
    # vehicles
    ("car", "1F697"), ("bus", "1F68C"), ("bicycle", "1F6B2"), ("airplane", "2708"),
    ("rocket", "1F680"), ("sailboat", "26F5"), ("tractor", "1F69C"), ("helicopter", "1F681"),
    # animals
    ("dog", "1F415"), ("cat", "1F408"), ("horse", "1F40E"), ("cow", "1F404"),
    ("elephant", "1F418"), ("turtle", "1F422"), ("fish", "1F41F"), ("butterfly", "1F98B"),
    ("octopus", "1F419"),
    # tools
    ("hammer", "1F528"), ("wrench", "1F527"), ("axe", "1FA93"), ("magnet", "1F9F2"),
    # instruments
    ("guitar", "1F3B8"), ("violin", "1F3BB"), ("trumpet", "1F3BA"),
)
OBJECT_NAMES: tuple[str, ...] = tuple(name for name, _ in OBJECTS)

# Random-pattern classes are drawn from this many fixed patterns (pattern i is seeded by i).
N_PATTERNS = 1000

# Architectures: name -> penultimate feature width at width multiplier 1 (each arch's record
# in dsl.archs).
ARCHS: dict[str, int] = {a.name: a.feature_dim for a in ARCHES.values()}

DATA_KINDS = data_kinds.names()  # from the data-kind registry, as registered at import
CIFAR_CLASSES = {"cifar10": 10, "cifar100": 100}
LABELS = ("class", "foreground", "background")
PROBE_KINDS = kinds.probe_kinds()  # from the job-kind registry, as registered at import
OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine", "linear")
CHECKPOINTS = ("last", "best_val")
COMPONENTS = ("background", "foreground")
POSITIONS = ("center", "upper_right", "upper_left", "lower_right", "lower_left", "random")
SPLITS = ("train", "val", "test")
