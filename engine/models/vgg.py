"""VGG-11 with BatchNorm, CIFAR form: five max-pools take 32x32 to 1x1, one linear head.

The ImageNet classifier (two 4096-wide layers) is dropped, as in the common CIFAR variants, so the
penultimate representation is the 512-channel output of the last convolution.
"""

from __future__ import annotations

import torch
from torch import nn

from engine.models._width import scaled

CONFIG = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


class VGG(nn.Module):
    def __init__(self, num_classes: int, width: float = 1.0):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for item in CONFIG:
            if item == "M":
                layers.append(nn.MaxPool2d(2))
                continue
            c = scaled(int(item), width)
            layers += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c),
                       nn.ReLU(inplace=True)]
            c_in = c
        self.body = nn.Sequential(*layers)
        self.feature_dim = c_in
        self.head = nn.Linear(c_in, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        # Mean over what is left of the grid: 1x1 at 32x32, and still valid at other resolutions.
        return self.body(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def vgg11_bn(num_classes: int, width: float = 1.0) -> VGG:
    return VGG(num_classes, width)
