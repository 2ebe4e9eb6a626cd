"""`dsl schema`: the JSON Schema of the spec language, for editors (e.g. Taplo, VS Code)."""

from __future__ import annotations

import json


def register(sub):
    p = sub.add_parser("schema", help="print the JSON Schema of the spec language",
                       description="Print the JSON Schema of a spec (TOML documents map to "
                                   "JSON one to one), for editor completion and checks.")
    p.add_argument("--output", "-o", default=None, help="write to this file instead of stdout")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from dsl.spec import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        print(text, end="")
    return 0
