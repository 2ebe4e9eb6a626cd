"""How a width multiplier scales a layer: one rule shared by every architecture."""

from __future__ import annotations


def scaled(channels: int, width: float, multiple: int = 1) -> int:
    """`channels * width`, rounded to a multiple of `multiple`, never below it.

    Rounding (not truncating) keeps width 1.0 exactly the published size; the floor of one
    `multiple` keeps tiny widths (0.125 in tests) a valid network.
    """
    if width <= 0:
        raise ValueError(f"width multiplier must be positive, got {width}")
    n = int(round(channels * width / multiple)) * multiple
    return max(multiple, n)
