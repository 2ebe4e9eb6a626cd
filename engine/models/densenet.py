"""DenseNet-121 in the CIFAR variant of the reference: growth rate 12, blocks (6, 12, 24, 16).

Layers are bottlenecks (BN-ReLU-1x1 conv to 4k, BN-ReLU-3x3 conv to k); transitions halve the
channels and the resolution. With k = 12 the final representation has 32 k = 384 channels.
The width multiplier scales the growth rate, which scales every layer with it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from engine.models._width import scaled

BLOCKS = (6, 12, 24, 16)
GROWTH = 12
REDUCTION = 0.5


class DenseLayer(nn.Module):
    def __init__(self, c_in: int, growth: int):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, 4 * growth, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(4 * growth)
        self.conv2 = nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        # Concatenation, not addition: every later layer sees every earlier layer's output.
        return torch.cat([out, x], dim=1)


class Transition(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(c_in)
        self.conv = nn.Conv2d(c_in, c_out, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(self.conv(F.relu(self.bn(x))), 2)


class DenseNet(nn.Module):
    def __init__(self, num_classes: int, width: float = 1.0):
        super().__init__()
        growth = scaled(GROWTH, width)
        c = 2 * growth
        self.stem = nn.Conv2d(3, c, 3, padding=1, bias=False)
        parts: list[nn.Module] = []
        for i, n in enumerate(BLOCKS):
            for _ in range(n):
                parts.append(DenseLayer(c, growth))
                c += growth
            if i < len(BLOCKS) - 1:
                c_out = int(c * REDUCTION)
                parts.append(Transition(c, c_out))
                c = c_out
        self.blocks = nn.Sequential(*parts)
        self.bn = nn.BatchNorm2d(c)
        self.feature_dim = c
        self.head = nn.Linear(c, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn(self.blocks(self.stem(x))))
        return out.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def densenet121(num_classes: int, width: float = 1.0) -> DenseNet:
    return DenseNet(num_classes, width)
