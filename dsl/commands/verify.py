"""`dsl verify [SPEC...]`: check the store's finished artifacts against their content hashes.

Reads every file of every finished job's artifact (or of the jobs the given specs use) and
compares it with the manifest written when it was published. Prints each damaged job (a file
missing, cut short or changed) and each job that finished with a non-finite metric (diverged
before `dsl run` failed such jobs); counts the intact ones and the unverified ones (published
before manifests had hashes: used as before, sizes checked). Exit status 1 when anything is
damaged or diverged. `--reopen` sends those jobs back to pending (a diverged job's finished
descendants too), so the next `dsl run` makes them again.
"""

from __future__ import annotations

import argparse

from dsl.commands._common import add_plan_options, no_store
from dsl.errors import DslError


def register(sub):
    p = sub.add_parser("verify", help="check stored artifacts against their content hashes",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_plan_options(p, paths_required=False)
    p.add_argument("--reopen", action="store_true",
                   help="send damaged and diverged jobs back to pending (the next run remakes them)")
    p.set_defaults(func=_run)


def _job_ids(args) -> list[str] | None:
    """The jobs the specs use, or None (the whole store) when no spec is given."""
    if not args.paths:
        return None
    from dsl.commands._common import plan_from_args

    return [str(j) for j in plan_from_args(args).jobs]


def _run(args):
    from engine.store import Store, resolve_root
    from engine.verify import reopen, scan

    store = Store(resolve_root(args.store))
    if not store.exists():
        raise DslError(no_store(store.root))
    found = scan(store, _job_ids(args))
    for jid, problem in sorted(found.damaged.items()):
        print(f"damaged   {jid}: {problem}")
    for jid, problem in sorted(found.diverged.items()):
        print(f"diverged  {jid}: {problem}")
    parts = [f"{len(found.intact)} intact"]
    if found.unverified:
        parts.append(f"{len(found.unverified)} unverified (published before content hashes)")
    parts += [f"{len(found.damaged)} damaged", f"{len(found.diverged)} diverged"]
    print(f"{found.checked} finished jobs in {store.root}: " + ", ".join(parts))
    if found.ok:
        return 0
    if args.reopen:
        again = reopen(store, found)
        print(f"reopened {len(again)} job(s): the next `dsl run` of their specs makes them again")
    else:
        print("`dsl verify --reopen` sends them back to pending; a `dsl run` that reads a "
              "damaged artifact also makes it again first")
    return 1
