"""The one function that names a job: JobId = hash of its kind, engine version and canonical config.

Canonical form: JSON with sorted keys, no whitespace, floats in Python's shortest round-trip form,
tuples as lists. Two configs that mean the same thing (key order, `5e-4` vs `0.0005`, comments)
serialise identically; any semantic change alters the bytes and so the id.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any, Mapping

# Bump when the canonical form or the hash changes: every JobId changes with it.
IDENTITY_SCHEME = "dsl-sha256-v1"


class JobId(str):
    """`<kind>-<16 hex digits>`: readable in logs, unique in practice, safe as a file name."""

    __slots__ = ()

    @property
    def kind(self) -> str:
        return self.rsplit("-", 1)[0]


def normalise(value: Any) -> Any:
    """Plain JSON data in one form: mappings with str keys, lists, str, int, float, bool, None."""
    # Fast path for the exact built-in types resolved configs are made of (planning hashes tens
    # of thousands of configs; abstract isinstance checks dominated). Same result as below.
    t = type(value)
    if t is str or t is bool or value is None or t is int:
        return value
    if t is dict:
        return {(k if type(k) is str else str(k)): normalise(v) for k, v in value.items()}
    if t is list:
        return [normalise(v) for v in value]
    if t is float and not (math.isnan(value) or math.isinf(value)):
        return value
    if isinstance(value, Mapping):
        return {str(k): normalise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalise(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError(f"non-finite float {value!r} cannot be part of a job identity")
        return float(value)
    raise TypeError(f"cannot canonicalise {type(value).__name__}: {value!r}")


def canonical(value: Any) -> str:
    return json.dumps(normalise(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def job_id(kind: str, version: str, config: Mapping[str, Any],
           inputs: Mapping[str, str] | None = None) -> JobId:
    payload = canonical({
        "scheme": IDENTITY_SCHEME,
        "kind": kind,
        "version": version,
        "config": config,
        "inputs": dict(inputs or {}),
    })
    return JobId(f"{kind}-{hashlib.sha256(payload.encode()).hexdigest()[:16]}")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
