"""The `dsl` command line: one module per subcommand under `dsl/commands/`.

Each command module defines `register(subparsers)`, which adds its parser and sets `func`. User
errors (`DslError`) print as plain messages and exit 2; nothing is shown as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ("validate", "plan", "schema", "run", "preview", "table", "chart", "report", "diff")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dsl", description="Declarative experiments on invariance and transfer.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"dsl.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from dsl.errors import DslError

    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and isinstance(getattr(args, "paths", None), list) and not any(
            e.startswith("-") for e in extra):
        args.paths += extra  # spec paths after the options: `dsl report a.toml -o out b.toml`
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        code = args.func(args)
    except DslError as err:
        print(f"error: {err}" if "\n" not in str(err) else f"error:\n{err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as err:  # an output path that cannot be written, a folder that is a file
        where = f": {err.filename}" if err.filename else ""
        print(f"error: {err.strerror or err}{where}", file=sys.stderr)
        return 2
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
