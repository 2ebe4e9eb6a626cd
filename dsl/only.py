"""`--only FACTOR=VALUE,...`: a plan restricted to the cells that match (seeds too).

Pairs in one `--only` must all hold; a factor given again (in the same or another `--only`) may
take any of its values: `--only seed=0 --only n_train=1000,n_train=5000` is seed 0 with either
size. A spec without a named factor has no matching cell and drops out of the plan. The jobs kept
are those the kept cells need, so a job shared with a dropped cell still runs once.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, Iterable, Sequence

from dsl.errors import DslError, did_you_mean
from dsl.graph import Cell, Plan, SpecPlan, with_inputs


def value_text(value: Any) -> str:
    """How a factor value is written on the command line: as in the spec (lists as JSON)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _matches(value: Any, text: str) -> bool:
    if value_text(value) == text:
        return True
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return float(text) == float(value)
        except ValueError:
            return False
    if isinstance(value, list):  # transforms=hue+rotate, as tables show a list
        return "+".join(map(str, value)) == text
    return False


def parse(only: Iterable[str]) -> dict[str, list[str]]:
    """{factor: [values]} from the --only arguments; a malformed pair is an error."""
    wanted: dict[str, list[str]] = {}
    for arg in only:
        for pair in _split(arg):
            name, eq, text = pair.partition("=")
            if not eq or not name.strip() or not text.strip():
                raise DslError(f"--only {arg}: write FACTOR=VALUE[,FACTOR=VALUE...], e.g. "
                               "--only seed=0,invariance=other_transforms")
            wanted.setdefault(name.strip(), []).append(text.strip())
    return wanted


def _split(arg: str) -> list[str]:
    """Comma-separated pairs; a comma inside brackets belongs to a list value."""
    out, depth, cur = [], 0, ""
    for ch in arg:
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    return out + [cur]


def _cell_value(cell: Cell, name: str) -> tuple[bool, Any]:
    if name == "seed":
        return True, cell.seed
    return (name in cell.factors), cell.factors.get(name)


def check(plan: Plan, wanted: dict[str, list[str]]) -> None:
    """One error per unknown factor or value, with the closest valid one."""
    for name, texts in wanted.items():
        values = [v for sp in plan.specs for c in sp.cells for has, v in [_cell_value(c, name)]
                  if has]
        if not values:
            names = sorted({"seed"} | {f for sp in plan.specs for c in sp.cells for f in c.factors})
            hint = did_you_mean(name, names)
            raise DslError(f"--only {name}=...: no factor '{name}' in "
                           f"{_specs(plan)} (factors: {', '.join(names)})" +
                           (f"; {hint}" if hint else ""))
        shown = list(dict.fromkeys(value_text(v) for v in values))
        for text in texts:
            if not any(_matches(v, text) for v in values):
                hint = did_you_mean(text, shown)
                raise DslError(f"--only {name}={text}: no cell has {name} = {text} (values: "
                               f"{', '.join(shown)})" + (f"; {hint}" if hint else ""))


def _specs(plan: Plan) -> str:
    names = [sp.name for sp in plan.specs]
    return f"spec '{names[0]}'" if len(names) == 1 else f"these {len(names)} specs"


def _keep(cell: Cell, wanted: dict[str, list[str]]) -> bool:
    for name, texts in wanted.items():
        has, value = _cell_value(cell, name)
        if not has or not any(_matches(value, t) for t in texts):
            return False
    return True


def _needed(sp: SpecPlan, cells: Sequence[Cell]) -> dict:
    """The spec's jobs the cells need (with their inputs), in the spec's dependency order."""
    seen = with_inputs(sp.jobs, [j for c in cells for j in [c.train, *(p.job for p in c.probes)]])
    return {jid: job for jid, job in sp.jobs.items() if jid in seen}


def restrict(plan: Plan, only: Sequence[str]) -> Plan:
    """The plan of the cells matching every --only pair; the plan itself when none is given."""
    wanted = parse(only)
    if not wanted:
        return plan
    check(plan, wanted)
    specs = []
    for sp in plan.specs:
        cells = tuple(c for c in sp.cells if _keep(c, wanted))
        if cells:
            specs.append(replace(sp, cells=cells, jobs=_needed(sp, cells)))
    if not specs:
        raise DslError(f"--only {' '.join(only)}: no cell of {_specs(plan)} has all of these "
                       "values at once")
    jobs: dict = {}
    for sp in specs:
        for jid, job in sp.jobs.items():
            jobs.setdefault(jid, job)
    ordered = {jid: job for jid, job in plan.jobs.items() if jid in jobs}
    return replace(plan, specs=tuple(specs), jobs=ordered)
