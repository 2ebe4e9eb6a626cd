"""`dsl gc SPEC_OR_DIR...`: delete the jobs and artifacts no spec here and no recent run reaches.

Kept: every job the specs plan (under --profile; with --all-profiles also under every profile a
recorded run used), with its inputs; every job a run of the last --keep-runs-days (default 30)
named; and whatever a live `dsl run` holds or uses. The rest goes: job records, metrics and
artifact folders. --dry-run (the default when stdout is not a terminal) prints what would go and
the bytes it frees, and deletes nothing; --no-dry-run deletes from a script. Run records stay
(`dsl runs` keeps its history), and their results read "not run" once gone.
"""

from __future__ import annotations

import argparse
import sys

from dsl.commands._common import add_plan_options


def register(sub):
    p = sub.add_parser("gc", help="delete jobs and artifacts that no spec here and no recent "
                                  "run can reach", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_plan_options(p)
    p.add_argument("--keep-runs-days", type=float, default=30.0, metavar="DAYS",
                   help="also keep the jobs of runs recorded in the last DAYS days (default 30)")
    p.add_argument("--all-profiles", action="store_true",
                   help="also keep the specs' jobs under every profile a recorded run used")
    p.add_argument("--dry-run", action=argparse.BooleanOptionalAction, default=None,
                   help="only print what would be deleted (default when stdout is not a "
                        "terminal; --no-dry-run deletes anyway)")
    p.add_argument("--verbose", "-v", action="store_true", help="list every job to delete")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from dsl.commands._common import no_store
    from dsl.errors import DslError
    from dsl.planner import plan
    from engine.gc import collect, delete, size_text
    from engine.store import Store, resolve_root

    if args.keep_runs_days < 0:
        raise DslError(f"--keep-runs-days must be 0 or more, not {args.keep_runs_days:g}")
    store = Store(resolve_root(args.store))
    if not store.exists():
        raise DslError(no_store(store.root))
    dry = (not sys.stdout.isatty()) if args.dry_run is None else args.dry_run
    found = collect(store, args.paths, planner=plan, profile=args.profile, overrides=tuple(args.overrides),
                    all_profiles=args.all_profiles, keep_runs_days=args.keep_runs_days,
                    data_root=args.data_root)
    profiles = ", ".join("full size" if p is None else p for p in found.profiles)
    print(f"store {store.root}; {found.specs} spec(s) planned ({profiles})")
    for reason, n in found.kept.items():
        if n:
            print(f"  keep {n:>7,} job(s) {reason}")
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(found.by_kind().items())) or "none"
    n = len(found.delete) + len(found.orphans)
    verb = "would delete" if dry else "deleting"
    print(f"{verb} {n:,} job(s) ({kinds}): {size_text(found.bytes)}")
    if found.orphans:
        print(f"  of which {len(found.orphans)} artifact folder(s) without a record")
    if found.debris:
        print(f"{'would remove' if dry else 'removing'} {len(found.debris)} leftover(s) of "
              f"killed workers and cut-short removals under {store.paths.tmp}")
    if args.verbose:
        for jid, size in sorted({**found.delete, **found.orphans}.items()):
            print(f"    {jid}  {size_text(size)}")
    if dry:
        if n or found.debris:
            print("dry run: nothing deleted (run with --no-dry-run, or in a terminal, to delete)")
        return 0
    removed, freed = delete(store, found)
    print(f"deleted {removed + len(found.orphans):,} job(s), freed {size_text(freed)}")
    return 0
