"""Where commands write files: every report, chart, table, diff and preview goes through here.

File names are built from spec names and titles, which a spec's author chose; a name such as
"../../x" or "/etc/x" must never place a file outside the folder the user gave (`-o DIR`, or
the folder of `-o FILE`).
"""

from __future__ import annotations

import os
from pathlib import Path

from dsl.errors import DslError


def output_path(folder: str | os.PathLike, name: str) -> Path:
    """`folder/name`, refused unless `name` is one plain file name (no folder separator, not '.'
    or '..'), so the file lands directly in `folder`, which is created."""
    if (not name or name in (".", "..") or "\0" in name
            or any(sep in name for sep in (os.sep, os.altsep) if sep)):
        raise DslError(f"refusing to write '{name}': a file written into {folder} must be a "
                       "plain file name inside it")
    base = Path(folder)
    base.mkdir(parents=True, exist_ok=True)
    return base / name


def output_file(path: str | os.PathLike) -> Path:
    """A file the user named (`-o FILE`): the same check, inside the folder it names."""
    path = Path(path)
    return output_path(path.parent, path.name)


def write_output(path: Path, content: str | bytes) -> Path:
    """Write text (UTF-8) or bytes to a path from `output_path`; returns it."""
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path
