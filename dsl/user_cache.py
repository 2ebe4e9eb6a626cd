"""Where the per-user cache is (core: planning keeps file hashes there, the engine renders
objects there)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The per-user cache outside every store (rendered objects, local files' hashes): things
    that can always be made again. $DSL_CACHE, else ~/.cache/dsl."""
    return Path(os.environ.get("DSL_CACHE") or Path.home() / ".cache" / "dsl")
