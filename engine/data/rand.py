"""Counter-based random numbers: every draw is a hash of (key, sample index, stream).

A sequential RNG makes sample i depend on how many numbers were drawn before it, so the pixels
change with batch size, worker count or device. Hashing the sample index instead makes sample i a
pure function of its key and i. The hash works on 32-bit words held in int64 tensors, with every
product kept below 2**63, so it is exact and identical on CPU and GPU.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math

import torch

_M32 = 0xFFFFFFFF


def derive(key: int, *parts) -> int:
    """A 64-bit sub-key for a named purpose ("class", "rotate", ...) under `key`."""
    text = json.dumps([int(key), *[str(p) for p in parts]])
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def config_key(config, *parts) -> int:
    """The root key of a data config (canonical JSON), plus e.g. seed and split."""
    text = json.dumps([config, *[str(p) for p in parts]], sort_keys=True, separators=(",", ":"))
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def _mul32(x: torch.Tensor, c: int) -> torch.Tensor:
    # (x * c) mod 2**32 in two halves so no product exceeds 2**49 (int64 overflow is not portable).
    hi = (x * (c >> 16)) & 0xFFFF
    return ((hi << 16) + x * (c & 0xFFFF)) & _M32


def _mix(x: torch.Tensor) -> torch.Tensor:
    """A 32-bit avalanche hash (xorshift-multiply rounds) of every element."""
    x = x ^ (x >> 16)
    x = _mul32(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = _mul32(x, 0x846CA68B)
    return x ^ (x >> 16)


def sample_hash(key: int, idx: torch.Tensor) -> torch.Tensor:
    """One 32-bit hash per sample index (int64 tensor) under a 64-bit key."""
    idx = idx.to(torch.int64)
    k1, k2 = key & _M32, (key >> 32) & _M32
    h = _mix((idx & _M32) ^ k1)
    return _mix(h ^ ((idx >> 32) & _M32) ^ k2)


def bits(key: int, idx: torch.Tensor, n: int) -> torch.Tensor:
    """[B, n] independent 32-bit words (int64) per sample."""
    h = sample_hash(key, idx)
    streams = torch.arange(n, device=idx.device, dtype=torch.int64)
    return _mix(h[:, None] ^ _mul32(streams + 1, 0x9E3779B9)[None, :])


def bits_many(keys: list[int], idx: torch.Tensor, n: int) -> torch.Tensor:
    """[K, B, n]: bits(keys[k], idx, n) for every key at once, the same numbers in ~1/K of
    the tensor ops (each op on a few hundred samples costs about as much as on thousands)."""
    idx = idx.to(torch.int64)[None, :]
    key = torch.tensor([[k & _M32, (k >> 32) & _M32] for k in keys], dtype=torch.int64,
                       device=idx.device)
    h = _mix((idx & _M32) ^ key[:, :1])
    h = _mix(h ^ ((idx >> 32) & _M32) ^ key[:, 1:])
    streams = torch.arange(n, device=idx.device, dtype=torch.int64)
    return _mix(h[:, :, None] ^ _mul32(streams + 1, 0x9E3779B9)[None, None, :])


def uniform_many(keys: list[int], idx: torch.Tensor, n: int = 1) -> torch.Tensor:
    """[K, B, n]: uniform(keys[k], idx, n) for every key at once."""
    return (bits_many(keys, idx, n) >> 8).to(torch.float32) * (1.0 / (1 << 24))


def uniform(key: int, idx: torch.Tensor, n: int = 1) -> torch.Tensor:
    """[B, n] float32 uniforms in [0, 1) (24 bits, exactly representable)."""
    return (bits(key, idx, n) >> 8).to(torch.float32) * (1.0 / (1 << 24))


def uniform_range(key: int, idx: torch.Tensor, low: float, high: float, n: int = 1):
    return low + (high - low) * uniform(key, idx, n)


def randint(key: int, idx: torch.Tensor, high: int) -> torch.Tensor:
    """[B] ints in [0, high); the modulo bias is below 2**-20 for any high used here."""
    return bits(key, idx, 1)[:, 0] % int(high)


def bernoulli(key: int, idx: torch.Tensor, p: float) -> torch.Tensor:
    """[B] bools, True with probability p."""
    return uniform(key, idx, 1)[:, 0] < p


_BANK_BITS = 22
_banks: dict[tuple[str, str], torch.Tensor] = {}


def _bank(kind: str, device) -> torch.Tensor:
    """A fixed table of 2**22 uniforms or normals, made once on CPU (same values on any device)."""
    dev = torch.device(device)
    cache_key = (kind, str(dev))
    if cache_key not in _banks:
        gen = torch.Generator().manual_seed(0x5EED if kind == "normal" else 0xD1CE)
        draw = torch.randn if kind == "normal" else torch.rand
        _banks[cache_key] = draw(1 << _BANK_BITS, generator=gen).to(dev)
    return _banks[cache_key]


@functools.lru_cache(maxsize=16)
def _extended(kind: str, device: str, n: int) -> torch.Tensor:
    """The bank with its first n values appended, so every window of n is one slice."""
    bank = _bank(kind, device)
    return torch.cat([bank, bank[:n]])


def _window(kind: str, key: int, idx: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    # Hashing every pixel costs ~30 integer ops per value; a per-sample hashed window into a fixed
    # bank costs one copy. Windows of two samples overlap with probability ~2n/2**22, and even
    # then only as a shifted copy, which nothing downstream can exploit.
    n = math.prod(shape)
    ext = _extended(kind, str(idx.device), n)
    offsets = randint(key, idx, 1 << _BANK_BITS)
    return ext.unfold(0, n, 1)[offsets].reshape(idx.shape[0], *shape)


def field(key: int, idx: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """[B, *shape] uniforms in [0, 1): a whole random image per sample (elastic, patterns)."""
    return _window("uniform", key, idx, shape)


def normal_field(key: int, idx: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """[B, *shape] standard normals (noise), with a hashed sign per sample for more variety."""
    z = _window("normal", key, idx, shape)
    sign = 1.0 - 2.0 * bernoulli(derive(key, "sign"), idx, 0.5).to(z.dtype)
    return z * sign.view(-1, *[1] * len(shape))
