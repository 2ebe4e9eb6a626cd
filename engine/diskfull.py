"""A full disk, told as a full disk: which store, how many bytes are free, what was being written.

Writes fail in several dialects when the disk fills: OSError ENOSPC (or EDQUOT, a full quota),
numpy's short write ("12288000 requested and 10440576 written", no errno), torch.save's
"file write failed", SQLite's "database or disk is full". The last three do not say why, so they
count as a full disk only when the store's filesystem really has (almost) nothing left.
Nothing is renamed or deleted on the way: jobs that failed for it run again on the next `dsl run`.
"""

from __future__ import annotations

import errno
import re
import shutil
from pathlib import Path

from dsl.errors import DslError

# Below this many free bytes a write that failed without saying why counts as a full disk.
NEARLY_FULL = 64 << 20
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_UNSAID = re.compile(r"\d+ requested and \d+ written|file write failed|disk is full|"
                     r"disk i/o error", re.IGNORECASE)


class DiskFull(DslError):
    """A write failed because the filesystem of the store has no space left."""


def free_bytes(path: str | Path) -> int | None:
    """Bytes available to this user on the filesystem holding `path` (or its nearest parent)."""
    p = Path(path).absolute()
    for candidate in (p, *p.parents):
        try:
            return shutil.disk_usage(candidate).free
        except OSError:
            continue
    return None


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def is_disk_full(exc: BaseException, where: str | Path) -> bool:
    """Whether `exc` (or what caused it) is a write that failed for want of space at `where`."""
    for e in _chain(exc):
        if isinstance(e, OSError) and e.errno in _FULL_ERRNOS:
            return True
        if _UNSAID.search(str(e)):
            free = free_bytes(where)
            return free is not None and free < NEARLY_FULL
    return False


def _size(n: int | None) -> str:
    if n is None:
        return "unknown"
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def describe(store_root: str | Path, what: str, exc: BaseException) -> DiskFull:
    """The error to show for a full disk while writing `what` into the store at `store_root`."""
    last = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    return DiskFull(f"the disk holding the store {store_root} is full ({_size(free_bytes(store_root))}"
                    f" free) while writing {what} ({last}): free some space, or pass --store "
                    "DIR for a store on another disk, and run again; nothing was renamed or "
                    "deleted, and finished jobs are kept")
