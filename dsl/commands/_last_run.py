"""The options read commands (table, chart, report, diff) plan with: by default, those of each
spec's last recorded run.

A run under `--profile smoke` stores its jobs under the smoke profile's identities, so reading
its results without the same options finds nothing. Without --profile and --set, each spec is
planned with the --profile and --set of its newest run that recorded cells, and one line on
stderr says so; any --profile or --set given wins (`--profile none`: full size, no profile).
"""

from __future__ import annotations

import sys
import tomli
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

from dsl.profiles import options_text

NONE = "none"  # `--profile none`: explicitly no profile, whatever the last run used

CHOOSE = "(give --profile or --set to choose; --profile none for full size)"

PROFILE_HELP = ("a named profile that shrinks every spec (e.g. smoke); default: the options of "
                "each spec's last run; 'none' for full size")


def explicit(args) -> bool:
    """Whether the command line chose the options itself."""
    return args.profile is not None or bool(args.overrides)


def given(args) -> tuple[str | None, tuple[str, ...]]:
    """The profile and overrides typed on the command line ('none' read as no profile)."""
    return (None if args.profile == NONE else args.profile), tuple(args.overrides)


def spec_name(path: str | Path) -> str:
    """The name runs of a spec file are recorded under ([spec] name, else the file stem),
    read without validating the spec (a broken one fails later, with its own message)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            name = tomli.load(f).get("spec", {}).get("name")
    except (OSError, tomli.TOMLDecodeError, AttributeError):
        name = None
    return name if isinstance(name, str) and name else path.stem


def last_run(store: Any, name: str):
    """The newest recorded run of spec `name` that planned cells, or None."""
    return next((r for r in store.runs(name) if r.cells), None)


def default_options(store: Any, name: str) -> tuple[str | None, tuple[str, ...], Any]:
    """(profile, overrides, run) of the spec's last run; (None, (), None) without one."""
    run = last_run(store, name) if store.exists() else None
    if run is None:
        return None, (), None
    return run.profile, tuple(run.overrides or ()), run


def note(names: Sequence[str], runs: Sequence[Any], profile, overrides) -> str:
    """The one line that says which options were taken from which runs."""
    ids = ", ".join(f"{n} ({r.run_id})" for n, r in zip(names, runs))
    which = "the last run of" if len(names) == 1 else "the last runs of"
    return f"note: options of {which} {ids}: {options_text(profile, overrides)} {CHOOSE}"


def read_plans(args) -> list:
    """The Plans a read command shows: one with the options given, else one per spec (in the
    order the specs were given), each planned with its last run's options (specs that share
    options are planned together)."""
    from dsl.planner import plan, spec_files
    from engine.store import Store, recorded_lookup, resolve_root

    common = dict(recorded=recorded_lookup(args.store), data_root=args.data_root)
    if explicit(args):
        profile, overrides = given(args)
        return [plan(args.paths, profile=profile, overrides=overrides, **common)]
    store = Store(resolve_root(args.store))
    files = spec_files(args.paths)
    groups: dict[tuple, list] = {}
    for path in files:
        profile, overrides, run = default_options(store, spec_name(path))
        groups.setdefault((profile, overrides), []).append((path, run))
    by_path: dict[str, Any] = {}
    for (profile, overrides), members in groups.items():
        if profile or overrides:
            print(note([spec_name(p) for p, _ in members], [r for _, r in members], profile,
                       overrides), file=sys.stderr)
        made = plan([str(p) for p, _ in members], profile=profile, overrides=overrides, **common)
        by_path.update({sp.path: replace(made, specs=(sp,)) for sp in made.specs})
    order = {str(p): i for i, p in enumerate(files)}
    return sorted(by_path.values(), key=lambda one: order.get(one.specs[0].path, len(order)))
