"""`dsl validate SPEC_OR_DIR...`: check specs without running anything.

Prints `ok  FILE (N cells, M jobs)` per valid spec and every problem of each invalid one (file,
line, field, suggestion); exits 1 when any spec is invalid. Never prints a traceback.
"""

from __future__ import annotations

import sys

from dsl.commands._common import add_plan_options


def register(sub):
    p = sub.add_parser("validate", help="check specs (every problem with file:line)",
                       description="Check specs: fields, references, factors, draws, reports.")
    add_plan_options(p)
    p.set_defaults(func=_run)


def _run(args) -> int:
    from dsl.errors import DslError, SpecError
    from dsl.load import display_name, expand_paths, load_spec

    bad = 0
    for path in expand_paths(args.paths):
        name = display_name(path)
        try:
            load_spec(path, profile=args.profile, overrides=tuple(args.overrides))
            summary = _plan_summary(path, args)
        except SpecError as err:
            bad += 1
            print(f"invalid  {name}: {len(err.problems)} problem"
                  f"{'s' if len(err.problems) != 1 else ''}", file=sys.stderr)
            for problem in err.problems:
                print(f"  {problem}", file=sys.stderr)
            continue
        except DslError as err:
            bad += 1
            print(f"invalid  {name}: {err}", file=sys.stderr)
            continue
        print(f"ok  {name}{summary}")
    return 1 if bad else 0


def _plan_summary(path, args) -> str:
    """' (N cells, M jobs)' from the planner, which also checks draws and resolution."""
    try:
        from dsl.planner import plan
    except ImportError:
        return ""
    from dsl.errors import DslError

    try:
        from engine.store import recorded_lookup

        result = plan([path], profile=args.profile, overrides=tuple(args.overrides),
                      recorded=recorded_lookup(args.store), data_root=args.data_root)
    except DslError:
        raise
    except Exception as err:  # a planner bug must not look like a valid spec
        raise DslError(f"internal error while planning ({type(err).__name__}: {err})") from None
    cells = sum(len(s.cells) for s in result.specs)
    return f" ({cells} cells, {len(result.jobs)} jobs)"
