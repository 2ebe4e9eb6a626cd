"""A small Vision Transformer for 32x32 images: 4x4 patches (an 8x8 grid) plus a CLS token,
hidden 384, 7 pre-norm layers, 8 heads, MLP 1536, no dropout (the paper's ViT).

The width multiplier scales the hidden and MLP sizes and, as ViT-Ti/S/B do, the head count, so
a head keeps its 48 dimensions: hidden 48 (width 1/8) is one head, 192 four. Heads of a few
dimensions each are mostly overhead: at width 1/8 with 8 heads of 6, attention took 56% of a
CPU training step and twice the time of one head of 48 (2026-12-05, 2-core EPYC). The count is
rounded down to one that divides the hidden size, so every width is a valid attention layer.
The count is kept in the checkpoint (`attention_heads`): no weight's shape depends on it, so
without it weights trained with another count would load into a different network silently.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from engine.models._width import scaled

PATCH, HIDDEN, DEPTH, HEADS, MLP = 4, 384, 7, 8, 1536


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp: int):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Linear(mlp, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, n, 3, self.heads, d // self.heads).unbind(2)
        # scaled_dot_product_attention picks the fused (flash / memory-efficient) kernel on GPU.
        a = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        x = x + self.proj(a.transpose(1, 2).reshape(b, n, d))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    def __init__(self, num_classes: int, width: float = 1.0, image_size: int = 32):
        super().__init__()
        dim = scaled(HIDDEN, width, multiple=HEADS)
        wanted = max(1, min(HEADS, round(dim / (HIDDEN // HEADS))))
        heads = max(h for h in range(1, wanted + 1) if dim % h == 0)
        grid = image_size // PATCH
        self.patch = nn.Conv2d(3, dim, PATCH, stride=PATCH)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, grid * grid + 1, dim) * 0.02)
        self.blocks = nn.Sequential(*[Block(dim, heads, scaled(MLP, width)) for _ in range(DEPTH)])
        self.register_buffer("attention_heads", torch.tensor(heads))
        self.norm = nn.LayerNorm(dim)
        self.feature_dim = dim
        self.head = nn.Linear(dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patch(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls.expand(x.shape[0], -1, -1), tokens], dim=1)
        tokens = self.blocks(tokens + self._positions(tokens.shape[1]))
        return self.norm(tokens[:, 0])  # the CLS token is the image's representation

    def _positions(self, n_tokens: int) -> torch.Tensor:
        # Other resolutions than 32 give another grid: interpolate the learned grid embedding.
        if n_tokens == self.pos.shape[1]:
            return self.pos
        g_old, g_new = int((self.pos.shape[1] - 1) ** 0.5), int((n_tokens - 1) ** 0.5)
        grid = self.pos[:, 1:].reshape(1, g_old, g_old, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(g_new, g_new), mode="bilinear", align_corners=False)
        return torch.cat([self.pos[:, :1], grid.flatten(2).transpose(1, 2)], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def vit(num_classes: int, width: float = 1.0) -> ViT:
    return ViT(num_classes, width)
