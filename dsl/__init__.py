"""dsl: declarative experiments on invariance and transfer.

The public API mirrors the command line; everything else is internal. Names load lazily so that
`import dsl` stays fast and never imports torch (only `run` reaches the engine's training code).
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> "module:attribute"
_API = {
    "load_spec": "dsl.load:load_spec",      # a spec file -> validated spec model
    "plan": "dsl.commands.plan:plan",       # spec files -> Plan (deduplicated job graph)
    "run": "dsl.commands.run:run",          # Plan or spec files -> RunSummary (tables printed)
    "table": "engine.results.tables:table_frame",  # spec -> one polars DataFrame, a row per cell
    "chart": "engine.results.charts:chart",  # spec -> Altair charts
    "report": "engine.results.report:report",  # specs -> HTML pages
    "diff": "engine.results.diff:diff",     # two spec versions or runs -> spec/plan/results diff
    "check": "engine.results.claims:check",  # spec -> its [[claim]] verdicts on stored results
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'dsl' has no attribute {name!r}")
    module, attr = _API[name].split(":")
    return getattr(importlib.import_module(module), attr)


def __dir__() -> list[str]:
    return __all__
