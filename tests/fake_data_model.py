"""The [data.*] table of the fake "stripes" data kind (tests/fake_data_kind.py): a plugin's
pydantic model, in a module of its own because dsl.spec imports it while building its models."""

from __future__ import annotations

from typing import Literal

from dsl.spec import FPosInt, FResolution, Raw


class StripesData(Raw):
    kind: Literal["stripes"]
    classes: FPosInt  # one stripe count per class
    resolution: FResolution = 16
