"""The local files behind a dataset: which ones are read, and what they contain (one content
hash per source).

A job's identity is its config, and a config names local data only by where it is ("cifar10"
under --data, an image folder's path). So the planner adds each source's fingerprint to the
configs of the jobs that read it (dataset and sensitivity jobs; the rest inherit it through their
inputs): replacing a CIFAR copy or editing an image folder re-runs what depends on it and keeps
the old results under their old ids, while moving or copying the same files changes nothing.

Sources (`dsl.resolve.local_sources`): "cifar10", "cifar100", and "folder:<path>" for an
image folder, a foreground folder or a background folder (every image file under it counts).
Hashing reads the bytes (CIFAR-10: ~0.2 s); each file's hash is kept per process, keyed by its
size and modification time. No torch here: planning imports this module.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

FOLDER = "folder:"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def image_files(folder: Path) -> list[Path]:
    """Every image file under `folder`, sorted by path: what image, foreground and background
    folders are read from."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES
                  and p.is_file())

_file_hashes: dict[tuple[str, int, int], str] = {}


def source_files(source: str, data_root) -> tuple[Path, list[Path]] | None:
    """(base folder, files read) of a source, or None when its data is not there."""
    if source.startswith(FOLDER):
        base = Path(source[len(FOLDER):]).expanduser()
        if not base.is_dir():
            return None
        files = image_files(base)
        return (base, files) if files else None
    from engine.data import cifar

    folder = cifar.folder(source, data_root)
    if folder is None:
        return None
    return folder, [folder / f for f in cifar.files(source)]


def _file_hash(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _file_hashes:
        with open(path, "rb") as f:
            _file_hashes[key] = hashlib.file_digest(f, "sha256").hexdigest()
    return _file_hashes[key]


def fingerprint(source: str, data_root) -> str | None:
    """"sha256:<16 hex>" over every file's relative path and content, or None when absent."""
    found = source_files(source, data_root)
    if found is None:
        return None
    base, files = found
    h = hashlib.sha256()
    for path in files:
        h.update(f"{path.relative_to(base).as_posix()}\0{_file_hash(path)}\n".encode())
    return "sha256:" + h.hexdigest()[:16]


class LocalFiles:
    """source -> fingerprint for one planning: the files under `data_root` when they are there,
    else the version the store last ran with (so `dsl table` still finds the results of a CIFAR
    spec on a machine without CIFAR), else "missing" (such a spec cannot run; `dsl run` skips
    it). `used` records every answer, for `run` to check a plan made elsewhere against, and
    `origin` where each came from: "files", "store" or "missing"."""

    MISSING = "missing"

    def __init__(self, data_root=None, store=None):
        self.data_root = Path(data_root if data_root is not None
                              else os.environ.get("DSL_DATA", "data"))
        self.store = store
        self.used: dict[str, str] = {}
        self.origin: dict[str, str] = {}

    def __call__(self, source: str) -> str:
        if source not in self.used:
            found, origin = fingerprint(source, self.data_root), "files"
            if found is None:
                found, origin = self._recorded(source), "store"
            if found is None:
                found, origin = self.MISSING, "missing"
            self.used[source], self.origin[source] = found, origin
        return self.used[source]

    def _recorded(self, source: str) -> str | None:
        from engine.store import Store, resolve_root

        store = self.store
        if not isinstance(store, Store):
            root = resolve_root(store)
            if not root.exists():
                return None  # never create a store while planning
            store = Store(root)
        return store.recorded_files(source)
