"""`dsl data check [SPEC...]` and `dsl data fixtures DIR`: the local datasets specs read.

check: for each local dataset (CIFAR-10/100, or the image folders the given specs name), whether
its files are under the data root (--data, else $DSL_DATA, else ./data) and which version
(fingerprint) they are; a missing one says what to put where. Exit 1 when any is missing.

fixtures: write small generated CIFAR-10/100 stand-ins in torchvision's layout into DIR, so the
CIFAR specs can be tried without the real data (their numbers mean nothing):
  dsl data fixtures data/ && dsl run specs/adversarial_invariance.toml --profile smoke --data data/
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dsl.commands._common import add_data_option

CIFAR = ("cifar10", "cifar100")


def register(sub) -> None:
    p = sub.add_parser("data", help="check the local datasets specs need, or write CIFAR "
                                    "stand-ins", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = p.add_subparsers(dest="verb", metavar="ACTION", required=True)
    check = verbs.add_parser("check", help="is each local dataset there, and which version")
    check.add_argument("paths", nargs="*", metavar="SPEC",
                       help="check what these specs read (default: CIFAR-10 and CIFAR-100)")
    add_data_option(check)
    check.set_defaults(func=_check)
    fix = verbs.add_parser("fixtures", help="write generated CIFAR-10/100 stand-ins into DIR")
    fix.add_argument("dir", metavar="DIR", help="data folder (then --data DIR or DSL_DATA=DIR)")
    fix.add_argument("--n-train", type=int, default=2000, help="training images (default 2000)")
    fix.add_argument("--n-test", type=int, default=500, help="test images (default 500)")
    fix.add_argument("--seed", type=int, default=0)
    fix.set_defaults(func=_fixtures)


def data_root(option: str | None) -> Path:
    """The data root as planning finds it (--data, else $DSL_DATA, else ./data)."""
    from dsl.local_files import LocalFiles

    return LocalFiles(option or None).data_root


def stand_in_hint(root: Path | str | None = None) -> str:
    """The commands that try a CIFAR spec on generated data: what a missing-data error offers."""
    tail = "(generated images: their numbers mean nothing)"
    if root is None:
        return f"dsl data fixtures DIR, then --data DIR {tail}"
    return f"dsl data fixtures {root}, then run again {tail}"


def _sources(paths: list[str], root: Path) -> list[str]:
    if not paths:
        return list(CIFAR)
    from dsl.planner import plan

    found = plan(paths, data_root=root)
    return sorted({s for sp in found.specs for s in sp.requires})


def _check(args) -> int:
    from dsl.local_files import fingerprint, label, missing

    root = data_root(args.data_root)
    sources = _sources(args.paths, root)
    if not sources:
        print("these specs read no local data: they run anywhere")
        return 0
    absent = 0
    for source in sources:
        why = missing(source, root)
        if why:
            absent += 1
            print(f"missing  {why}")
        else:
            print(f"ok       {label(source)} under {root.resolve()} ({fingerprint(source, root)})")
    if absent and any(s in CIFAR for s in sources):
        print(f"to try without the real data: {stand_in_hint()}")
    return 1 if absent else 0


def _fixtures(args) -> int:
    from dsl.errors import DslError
    from engine.data.fixtures import write_all

    if args.n_train < 10 or args.n_test < 10:
        raise DslError("--n-train and --n-test must be at least 10 (one image per CIFAR-10 class)")
    root = write_all(args.dir, args.n_train, args.n_test, args.seed)
    print(f"wrote CIFAR-10/100 stand-ins into {root.resolve()} (generated images: results on them "
          f"mean nothing); use them with --data {args.dir} or DSL_DATA={args.dir}")
    return 0
