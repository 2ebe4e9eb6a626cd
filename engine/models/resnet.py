"""ResNet-18 and ResNet-50 in their CIFAR form: a 3x3 stride-1 stem and no max-pool.

The ImageNet stem (7x7 stride 2 + max-pool) would shrink a 32x32 image to 8x8 before the first
block; the CIFAR stem keeps the full resolution, which is what the paper's models use.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from engine.models._width import scaled


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, c_in: int, planes: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, planes, 3, stride, 1, bias=False)
        self.bn1 = _bn(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = _bn(planes)
        self.shortcut = _shortcut(c_in, planes, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x), inplace=True)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, c_in: int, planes: int, stride: int):
        super().__init__()
        c_out = planes * self.expansion
        self.conv1 = nn.Conv2d(c_in, planes, 1, bias=False)
        self.bn1 = _bn(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = _bn(planes)
        self.conv3 = nn.Conv2d(planes, c_out, 1, bias=False)
        self.bn3 = _bn(c_out)
        self.shortcut = _shortcut(c_in, c_out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = F.relu(self.bn2(self.conv2(out)), inplace=True)
        out = self.bn3(self.conv3(out))
        return F.relu(out + self.shortcut(x), inplace=True)


def _shortcut(c_in: int, c_out: int, stride: int) -> nn.Module:
    # A projection only where the shape changes; identity elsewhere (the standard "option B").
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), _bn(c_out))


class ResNet(nn.Module):
    def __init__(self, block: type, layers: tuple[int, ...], num_classes: int, width: float = 1.0):
        super().__init__()
        planes = [scaled(p, width) for p in (64, 128, 256, 512)]
        self.stem = nn.Sequential(nn.Conv2d(3, planes[0], 3, 1, 1, bias=False), _bn(planes[0]),
                                  nn.ReLU(inplace=True))
        stages, c_in = [], planes[0]
        for i, (p, n) in enumerate(zip(planes, layers)):
            blocks = []
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(block(c_in, p, stride))
                c_in = p * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.feature_dim = c_in
        self.head = nn.Linear(c_in, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x)).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def resnet18(num_classes: int, width: float = 1.0) -> ResNet:
    return ResNet(BasicBlock, (2, 2, 2, 2), num_classes, width)


def resnet50(num_classes: int, width: float = 1.0) -> ResNet:
    return ResNet(Bottleneck, (3, 4, 6, 3), num_classes, width)
