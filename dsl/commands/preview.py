"""`dsl preview`: look at the data before spending compute on it.

  dsl preview --transforms [-o PNG]          every transform type on a few objects
  dsl preview SPEC --task NAME [-o PNG]      samples of one task of a spec
  dsl preview --data-config FILE.json        samples of a resolved data config (docs/jobs.md),
                                             given as a JSON file or inline JSON
Without -o the PNG goes into the store's previews/ folder (.dsl/previews/ by default), named
after what it shows; its path is printed. The engine (torch) is imported only when the command
runs.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from dsl.commands._common import add_store_option
from dsl.errors import DslError


def register(sub):
    p = sub.add_parser("preview", help="write a PNG of transforms or of a task's samples",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", nargs="?", metavar="SPEC", help="a spec file (with --task)")
    p.add_argument("--task", help="the task whose data to show")
    p.add_argument("--transforms", action="store_true", help="a sheet of all 18 transform types")
    p.add_argument("--data-config", metavar="JSON",
                   help="a resolved data config (docs/jobs.md): a .json file, or inline JSON")
    p.add_argument("-o", "--output", default=None,
                   help="PNG to write (default: a file named after it in <store>/previews/)")
    p.add_argument("--profile", default=None, help="a named profile (e.g. smoke)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                   help="override a field, e.g. spec.seeds=1")
    p.add_argument("--seed", type=int, default=0, help="which seed's draws to show")
    p.add_argument("--split", default="train", choices=("train", "val", "test"))
    p.add_argument("-n", type=int, default=48, help="how many samples to show")
    p.add_argument("--label", default=None, help="label to caption with (default: the task's)")
    p.add_argument("--data", dest="data_root", default=None,
                   help="folder with CIFAR etc. (default: $DSL_DATA, else ./data)")
    add_store_option(p)
    p.set_defaults(func=_run)


def _default_output(args, name: str) -> Path:
    from engine.paths import ArtifactPaths
    from engine.store import resolve_root

    return ArtifactPaths(resolve_root(args.store)).previews / f"{name}.png"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", text).strip("_") or "preview"


def _run(args) -> int:
    from engine.data import preview

    if args.n < 1:
        raise DslError(f"-n {args.n}: show at least one sample")

    if args.transforms:
        image = preview.transforms_sheet()
        out = args.output or _default_output(args, "transforms")
    elif args.data_config:
        config = _data_config(args.data_config)
        title = args.data_config if len(args.data_config) < 60 else config.get("kind", "")
        try:
            image = preview.task_sheet(config, title=title, n=args.n, seed=args.seed,
                                       split=args.split, label=args.label or "class",
                                       data_root=args.data_root)
        except (KeyError, TypeError, ValueError, IndexError) as err:
            # a hand-written config is not validated like a spec: say what it lacks
            what = f"lacks the field {err}" if isinstance(err, KeyError) else f"is invalid: {err}"
            raise DslError(f"--data-config {what} (docs/jobs.md lists the fields of each data "
                           "kind; `dsl plan SPEC --explain --verbose` prints resolved ones)"
                           ) from None
        out = args.output or _default_output(args, _slug(f"data-{config.get('kind', '')}-seed"
                                                         f"{args.seed}-{args.split}"))
    elif args.spec and args.task:
        config, sizes, label, factors = _resolve(args)
        shown = ", ".join(f"{f} = {v}" for f, (v, _) in factors.items())
        title = f"{args.spec} task '{args.task}'" + (f" with {shown}" if shown else "")
        others = [f for f, (_, k) in factors.items() if k > 1]
        if others:
            print(f"note: task '{args.task}' uses factor(s) {', '.join(others)}; shown with "
                  f"{shown}. Pick another level with --set 'factors.{others[0]}=[...]'",
                  file=sys.stderr)
        image = preview.task_sheet(config, title=title, n=args.n,
                                   seed=args.seed, split=args.split, label=label,
                                   data_root=args.data_root, sizes=sizes)
        out = args.output or _default_output(args, _slug(
            f"{Path(args.spec).stem}-{args.task}-seed{args.seed}-{args.split}"))
    else:
        raise DslError("say what to preview: --transforms, or SPEC --task NAME")
    from dsl.outputs import output_file

    image.save(output_file(out))
    print(out)
    return 0


def _data_config(value: str) -> dict:
    """--data-config: inline JSON (starting with "{") or a file holding it."""
    text, where = value, "--data-config"
    if not value.lstrip().startswith("{"):
        try:
            text, where = Path(value).read_text(encoding="utf-8"), value
        except (OSError, UnicodeDecodeError) as err:
            reason = getattr(err, "strerror", None) or err
            raise DslError(f"--data-config {value}: cannot read it ({reason}); give a .json "
                           "file or inline JSON such as "
                           "'{\"kind\": \"transforms2d\", ...}'") from None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as err:
        raise DslError(f"{where}:{err.lineno}: not JSON ({err.msg}, column {err.colno})") from None
    if not isinstance(config, dict) or "kind" not in config:
        raise DslError(f"{where}: a data config is a JSON object with a \"kind\" "
                       "(docs/jobs.md)")
    return config


def _resolve(args):
    try:
        from dsl.planner import resolve_task
    except ImportError as err:
        raise DslError(f"the planner is not available here ({err}); use --data-config") from err
    config, sizes, info = resolve_task(args.spec, args.task, seed=args.seed,
                                       profile=args.profile, overrides=tuple(args.overrides))
    if args.seed not in info["seeds"]:
        raise DslError(f"{args.spec} has seeds {', '.join(map(str, info['seeds']))}; --seed "
                       f"{args.seed} is not one of them")
    label = args.label or "class"
    return config, sizes, label, info["factors"]
