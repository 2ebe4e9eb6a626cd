"""`dsl preview`: look at the data before spending compute on it.

  dsl preview --transforms [-o PNG]          every transform type on a few objects
  dsl preview SPEC --task NAME [-o PNG]      samples of one task of a spec
  dsl preview --data-config FILE.json        samples of a data config written as JSON
The engine (torch) is imported only when the command runs.
"""

from __future__ import annotations

import json
from pathlib import Path

from dsl.errors import DslError


def register(sub):
    p = sub.add_parser("preview", help="write a PNG of transforms or of a task's samples")
    p.add_argument("spec", nargs="?", metavar="SPEC", help="a spec file (with --task)")
    p.add_argument("--task", help="the task whose data to show")
    p.add_argument("--transforms", action="store_true", help="a sheet of all 18 transform types")
    p.add_argument("--data-config", metavar="JSON", help="a data config (docs/jobs.md) as JSON")
    p.add_argument("-o", "--output", default=None, help="PNG to write (default: preview.png)")
    p.add_argument("--profile", default=None, help="a named profile (e.g. smoke)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                   help="override a field, e.g. spec.seeds=1")
    p.add_argument("--seed", type=int, default=0, help="which seed's draws to show")
    p.add_argument("--split", default="train", choices=("train", "val", "test"))
    p.add_argument("-n", type=int, default=48, help="how many samples to show")
    p.add_argument("--label", default=None, help="label to caption with (default: the task's)")
    p.add_argument("--data", dest="data_root", default=None,
                   help="folder with CIFAR etc. (default: $DSL_DATA, else ./data)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from engine.data import preview

    if args.transforms:
        image = preview.transforms_sheet()
        out = args.output or "preview-transforms.png"
    elif args.data_config:
        config = json.loads(Path(args.data_config).read_text())
        image = preview.task_sheet(config, title=args.data_config, n=args.n, seed=args.seed,
                                   split=args.split, label=args.label or "class",
                                   data_root=args.data_root)
        out = args.output or "preview.png"
    elif args.spec and args.task:
        config, sizes, label = _resolve(args)
        image = preview.task_sheet(config, title=f"{args.spec} task '{args.task}'", n=args.n,
                                   seed=args.seed, split=args.split, label=label,
                                   data_root=args.data_root, sizes=sizes)
        out = args.output or "preview.png"
    else:
        raise DslError("say what to preview: --transforms, or SPEC --task NAME")
    image.save(out)
    print(out)
    return 0


def _resolve(args):
    try:
        from dsl.planner import resolve_task
    except ImportError as err:
        raise DslError(f"the planner is not available here ({err}); use --data-config") from err
    config, sizes = resolve_task(args.spec, args.task, seed=args.seed, profile=args.profile,
                                 overrides=tuple(args.overrides))
    label = args.label or "class"
    return config, sizes, label
