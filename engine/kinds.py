"""The job kinds the engine runs: the registry of dsl.kinds (one record per kind), read here.

Kept so the engine's modules and plugins can go on saying `engine.kinds.KINDS`; the records, and
everything else a kind declares, live in dsl.kinds. The executors import the implementation only
when a job runs.
"""

from __future__ import annotations

from dsl.kinds import KINDS, Kind, register, version

__all__ = ["KINDS", "Kind", "register", "version"]
