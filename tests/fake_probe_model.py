"""The [[probe]] table of the fake "count" kind (tests/fake_probe.py): a plugin's pydantic model,
in a module of its own because dsl.spec imports it while the spec models are being built."""

from __future__ import annotations

from typing import Literal

from dsl.spec import FPosFloat, _ProbeBase


class CountProbe(_ProbeBase):
    kind: Literal["count"]
    task: str | None = None
    scale: FPosFloat = 1.0
