"""`dsl store repair`: rebuild a damaged store database, keep the old file, re-adopt artifacts.

Copies every readable row of the old database into a new one (as `sqlite3 OLD .dump |
sqlite3 NEW` would), puts the new one in place and keeps the old one beside it as
`dsl.sqlite.before-repair-<time>`; then records as finished every intact artifact whose
manifest names the job that made it but that the database lost (with the metrics the manifest
holds). Nothing is deleted. Run it while no `dsl run` uses the store.
"""

from __future__ import annotations

import argparse

from dsl.commands._common import add_store_option


def register(sub):
    p = sub.add_parser("store", help="maintain the store (repair a damaged database)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    r = actions.add_parser("repair", help="rebuild the database, keep the old one, re-adopt "
                                          "artifacts from their manifests", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    add_store_option(r)
    r.set_defaults(func=_repair)


def _repair(args):
    from engine.repair import repair
    from engine.store import resolve_root

    root = resolve_root(args.store)
    found = repair(root)
    rows = ", ".join(f"{n} {table}" for table, n in found.rows.items())
    lost = {t: n for t, n in found.lost.items() if n}
    print(f"rebuilt {root / 'dsl.sqlite'}: salvaged {rows or 'nothing'}" +
          (" (unreadable and lost: " + ", ".join(f"{n} part(s) of {t}" for t, n in lost.items())
           + ")" if lost else ""))
    if found.kept_as:
        print(f"kept the old database as {found.kept_as}")
    print(f"re-adopted {len(found.adopted)} finished job(s) from their artifacts' manifests")
    for jid, why in sorted(found.damaged.items()):
        print(f"not adopted {jid}: {why} (it runs again when needed)")
    if found.anonymous:
        print(f"{found.anonymous} artifact(s) from before manifests named their job were left "
              "in place; their jobs run again when needed")
    return 0
