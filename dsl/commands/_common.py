"""Options shared by every command that plans specs: paths, --profile, --set, --store, --data."""

from __future__ import annotations

import argparse
import sys


def add_plan_options(parser: argparse.ArgumentParser, *, paths_required: bool = True,
                     read: bool = False) -> None:
    """`read`: a command that shows stored results, whose options default to each spec's last
    run (dsl/commands/_last_run.py)."""
    from dsl.commands._last_run import PROFILE_HELP

    parser.add_argument("paths", nargs="+" if paths_required else "*", metavar="SPEC",
                        help="spec files or folders of specs (*.toml)")
    parser.add_argument("--profile", default=None, help=PROFILE_HELP if read else
                        "a named profile that shrinks every spec (e.g. smoke)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="PATH=VALUE", help="override a field, e.g. train.epochs=2")
    add_store_option(parser)
    add_data_option(parser)


def add_store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", default=None,
                        help="store folder (default: $DSL_STORE, else .dsl/ here)")


def add_data_option(parser: argparse.ArgumentParser) -> None:
    # the files' content is part of the identity of jobs that read them (dsl/local_files.py)
    parser.add_argument("--data", dest="data_root", default=None, metavar="DIR",
                        help="local datasets such as CIFAR (default: $DSL_DATA, else ./data)")


def plan_from_args(args: argparse.Namespace):
    """The Plan for the command's spec paths with its profile and overrides applied."""
    from dsl.planner import plan
    from engine.store import recorded_lookup

    return plan(args.paths, profile=args.profile, overrides=tuple(args.overrides),
                recorded=recorded_lookup(args.store), data_root=args.data_root)


def cached(plan_, store=None) -> set[str]:
    """JobIds of the plan already finished in the store (none when it does not exist yet; the
    store folder is never created here)."""
    from engine.store import Store, resolve_root

    if not isinstance(store, Store):
        root = resolve_root(store)
        if not root.exists():
            return set()
        store = Store(root)
    return set(store.finished(plan_.jobs))


def note_missing_store(args: argparse.Namespace) -> None:
    """Results read from a store that does not exist are all "not run": say why once, on
    stderr (a mistyped --store would otherwise look like results that were never made)."""
    from engine.store import Store, resolve_root

    store = Store(resolve_root(args.store))
    if not store.exists():
        print(f"note: {no_store(store.root)}", file=sys.stderr)


def no_store(root) -> str:
    return (f"no store at {root}: nothing has run with it yet (the store is --store, else "
            "$DSL_STORE, else .dsl/ in this folder)")


def existing_store(args: argparse.Namespace):
    """The Store of --store / $DSL_STORE / .dsl, or a one-line DslError when there is none."""
    from dsl.errors import DslError
    from engine.store import Store, resolve_root

    store = Store(resolve_root(args.store))
    if not store.exists():
        raise DslError(no_store(store.root))
    return store
