"""A four-stage CNN small enough to train in seconds on a laptop CPU (quickstart, smoke tests).

Each stage doubles the channels and halves the resolution, as the large CIFAR networks do, so it
builds the same kind of translation-pooled representation at a fraction of the cost.
"""

from __future__ import annotations

import torch
from torch import nn

from engine.models._width import scaled


def _stage(c_in: int, c_out: int, pool: bool) -> nn.Sequential:
    layers = [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
              nn.ReLU(inplace=True)]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class SmallCNN(nn.Module):
    def __init__(self, num_classes: int, width: float = 1.0):
        super().__init__()
        c = [scaled(n, width) for n in (16, 32, 64, 128)]
        self.body = nn.Sequential(
            _stage(3, c[0], pool=True), _stage(c[0], c[1], pool=True),
            _stage(c[1], c[2], pool=True), _stage(c[2], c[3], pool=False),
        )
        self.feature_dim = c[3]
        self.head = nn.Linear(self.feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        # Global average pooling makes the representation independent of the input resolution.
        return self.body(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
