"""The `dsl` command line: one module per subcommand under `dsl/commands/`.

Each command module defines `register(subparsers)`, which adds its parser and sets `func`; a new
command is a new module there and nothing else (they are found by listing the package, in the
order of `ORDER` below, then by name). User errors (`DslError`) print as plain messages and exit
2; nothing is shown as a traceback.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import os
import signal
import sys
import threading

# The order `dsl --help` lists the commands in: the researcher's day first; others follow by name.
ORDER = ("validate", "plan", "run", "runs", "table", "chart", "report", "diff", "preview",
         "schema")


def command_names() -> list[str]:
    """Every module under dsl/commands/ that is not private: the subcommands."""
    import pkgutil

    import dsl.commands

    found = [m.name for m in pkgutil.iter_modules(dsl.commands.__path__)
             if not m.name.startswith("_")]
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(found, key=lambda name: (rank.get(name, len(ORDER)), name))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dsl", description="Declarative experiments on invariance and transfer.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in command_names():
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
    except KeyboardInterrupt as err:
        _exit_on_next_interrupt()
        if not getattr(err, "reported", False):  # `dsl run` has said how it stopped
            print("interrupted", file=sys.stderr)
        _flush()
        return 130
    except BrokenPipeError:
        return 0
    except OSError as err:  # an output path that cannot be written, a folder that is a file
        where = f": {err.filename}" if err.filename else ""
        print(f"error: {err.strerror or err}{where}", file=sys.stderr)
        return 2
    return int(code or 0)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, RuntimeError):
            pass


def _exit_on_next_interrupt() -> None:
    """After a Ctrl-C has been handled, another one must not end the process by the signal
    (status -2) instead of exit code 130: until the exit handlers run it ends the process at
    once with 130; from then on it is ignored (the interpreter would reset a Python handler to
    the default while it finalizes, and what is left to do is short: the runner's cleanup is
    done)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def leave(signum, frame):
        _flush()
        os._exit(130)

    signal.signal(signal.SIGINT, leave)
    atexit.register(signal.signal, signal.SIGINT, signal.SIG_IGN)  # runs before earlier ones


if __name__ == "__main__":
    sys.exit(main())
