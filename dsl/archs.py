"""The architectures a spec may name (`[train] arch`): one record each, the only place an
architecture's facts are written.

A record says what the language and the cost model need (the name, the penultimate feature
width, the forward FLOPs per image), what a cluster needs (how many packing slots of a GPU it
takes), how the smoke and laptop profiles treat it, and where the engine finds its builder.
dsl.catalog (ARCHS), dsl.estimate (FORWARD_GFLOP), engine.resources (ARCH_WEIGHT), the profiles'
width rule (dsl.kinds) and engine.models (BUILDERS) all read this table.

Core layer: no torch. The builder is a "module:callable" string, imported only by engine.models,
called as builder(num_classes, width) -> an nn.Module with `features(x)`, `feature_dim` and
`head`. Adding an architecture: its module in engine/models/ and one record here (docs/
architecture.md, "Where things live").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Arch:
    name: str
    builder: str  # "engine.models.module:callable", (num_classes, width) -> nn.Module
    feature_dim: int  # penultimate feature width at width multiplier 1 (tests build and check it)
    forward_gflop: float  # per 32x32 image at width 1, 2 FLOP per multiply-add (dsl.estimate)
    gpu_slots: int = 1  # packing slots of a GPU a job on it takes (engine.resources)
    keeps_width: bool = False  # the profiles that shrink networks leave its width alone
    # at most this many training epochs under the laptop profile (None: the profile's cap), for
    # networks that cost several ResNet-18s per image on a CPU (docs/claims.md)
    laptop_epochs: int | None = None
    doc: str = ""


ARCHES: dict[str, Arch] = {a.name: a for a in (
    Arch("small_cnn", "engine.models.small_cnn:SmallCNN", 128, 0.02, keeps_width=True,
         doc="four-stage CNN for laptops and smoke tests (already small: never shrunk)"),
    Arch("resnet18", "engine.models.resnet:resnet18", 512, 1.11,
         doc="CIFAR ResNet-18 (3x3 stem, no max-pool)"),
    Arch("resnet50", "engine.models.resnet:resnet50", 2048, 2.6, gpu_slots=2, laptop_epochs=4,
         doc="CIFAR ResNet-50: about 2x the memory and compute of the small ones"),
    # growth 12: 2k + (6+12+24+16)k with 0.5 transitions = 32k = 384 features
    Arch("densenet121", "engine.models.densenet:densenet121", 384, 0.6, gpu_slots=2,
         laptop_epochs=4,
         doc="CIFAR DenseNet-121, growth 12: keeps every concatenated activation for backward"),
    Arch("vgg11_bn", "engine.models.vgg:vgg11_bn", 512, 0.3, doc="VGG-11 with batch norm"),
    Arch("vit", "engine.models.vit:vit", 384, 1.65, gpu_slots=2,
         doc="ViT with 4x4 patches, hidden 384, 7 layers: attention grows with tokens squared"),
)}
