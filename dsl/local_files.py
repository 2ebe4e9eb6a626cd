"""The local files behind a dataset: which ones are read, and what they contain (one content
hash per source).

A job's identity is its config, and a config names local data only by where it is ("cifar10"
under --data, an image folder's path). So the planner adds each source's fingerprint to the
configs of the jobs that read it (dataset and sensitivity jobs; the rest inherit it through their
inputs): replacing a CIFAR copy or editing an image folder re-runs what depends on it and keeps
the old results under their old ids, while the same CIFAR files under another data root change
nothing (a folder's path is in its data config already).

Sources (`dsl.data_resolvers.local_sources`): "cifar10", "cifar100", and "folder:<path>" for an
image folder, a foreground folder or a background folder (every image file under it counts).
Hashing reads the bytes (CIFAR-10: ~0.2 s) once: each file's hash is kept, keyed by its path,
size, modification and change times and inode, in memory and in `file-hashes.sqlite` in the user
cache (DSL_CACHE), so the next command only stats the files. A file modified in the last few seconds is hashed
every time (a rewrite within one clock tick could keep size and mtime: git calls it "racy").
No torch, no store here: planning imports this module.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from pathlib import Path
from typing import Callable

from dsl.errors import DataMissing

FOLDER = "folder:"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
RACY_S = 3.0  # files modified this recently are never taken from a cache

_file_hashes: dict[tuple, str] = {}  # (path, size, mtime_ns, ctime_ns, inode) -> sha256


def image_files(folder: Path) -> list[Path]:
    """Every image file under `folder`, sorted by path, symlinked folders followed (each real
    folder once): what image, foreground and background folders are read from."""
    return [Path(path) for _, path in _walk(folder)]


def folder_pools(path, classes=None) -> tuple[list[str], dict[str, list[tuple[Path, int]]]]:
    """(class names, {"train"|"test": [(file, class index)]}) of an image folder: `path/<class>/`
    or `path/train/<class>/` + `path/test/<class>/`; without `test/`, a fixed fifth of each class
    (by file-name hash, so it never moves when files are added) is test. What
    engine.data.folders reads, and what planning counts to check the sizes a spec asks for.
    DataMissing when the folder or a named class folder is absent."""
    from dsl.errors import did_you_mean

    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataMissing(f"image folder {root} does not exist: it should hold one sub-folder "
                          "of images per class (or train/ and test/ folders of those)")
    split_roots = {"train": root / "train", "test": root / "test"}
    base, has_splits = _class_root(root)
    available = folder_classes(root)
    names = list(classes) if classes else available
    for name in names:
        if name not in available:
            hint = did_you_mean(name, available)
            raise DataMissing(f"class folder {base / name} does not exist"
                              + (f"; {hint}" if hint else ""))
    files: dict[str, list[tuple[Path, int]]] = {"train": [], "test": []}
    for c, name in enumerate(names):
        if has_splits:
            for split in files:
                files[split] += [(f, c) for f in image_files(split_roots[split] / name)]
        else:
            for f in image_files(base / name):
                files["test" if _is_test(f) else "train"].append((f, c))
    return names, files


def _class_root(root: Path) -> tuple[Path, bool]:
    """Where the class folders are: `root/train/` when both train/ and test/ exist, else root."""
    has_splits = (root / "train").is_dir() and (root / "test").is_dir()
    return (root / "train" if has_splits else root), has_splits


def folder_classes(path) -> list[str]:
    """The class names of an existing image folder, sorted (its train/ folder's classes in the
    train/ + test/ layout): what a model's class count is planned from."""
    base, _ = _class_root(Path(path).expanduser())
    return sorted(p.name for p in base.iterdir() if p.is_dir())


def _is_test(path: Path) -> bool:
    return hashlib.sha256(path.name.encode()).digest()[0] < 256 // 5


def _walk(folder) -> list[tuple[tuple[str, ...], str]]:
    """(relative path parts, path) of every image file under `folder`, sorted as Paths sort.
    Plain strings and scandir's cached file types: on a 50,000-file folder, Path objects and a
    stat per file cost more than the file system does."""
    out: list[tuple[tuple[str, ...], str]] = []
    seen: set[str] = set()
    stack: list[tuple[str, tuple[str, ...]]] = [(os.fspath(folder), ())]
    while stack:
        top, prefix = stack.pop()
        real = os.path.realpath(top)
        if real in seen:  # a link back up the tree, or a second link to one folder
            continue
        seen.add(real)
        try:
            entries = list(os.scandir(top))
        except OSError:
            continue  # unreadable: what the loaders cannot read, they do not read either
        for e in entries:
            try:
                if e.is_dir():  # follows symlinks
                    stack.append((e.path, prefix + (e.name,)))
                elif os.path.splitext(e.name)[1].lower() in IMAGE_SUFFIXES and e.is_file():
                    out.append((prefix + (e.name,), e.path))
            except OSError:
                continue  # a link that loops: neither a folder nor a file anyone can read
    out.sort()
    return out


def folder_of(source: str) -> Path | None:
    """The folder a "folder:<path>" source names (None for CIFAR sources)."""
    return Path(source[len(FOLDER):]).expanduser() if source.startswith(FOLDER) else None


def label(source: str) -> str:
    """A source as a person names it: the folder's path, or the dataset's name."""
    folder = folder_of(source)
    return str(folder) if folder is not None else source


def source_files(source: str, data_root) -> list[tuple[str, str]] | None:
    """(relative name, path) of every file a source reads, or None when its data is not there."""
    base = folder_of(source)
    if base is not None:
        if not base.is_dir():
            return None
        files = [("/".join(parts), path) for parts, path in _walk(base)]
        return files or None
    from dsl import cifar_files as cifar

    folder = cifar.folder(source, data_root)
    if folder is None:
        return None
    return [(f, str(folder / f)) for f in cifar.files(source)]


def missing(source: str, data_root) -> str | None:
    """Why a source's files are not there (one line that says what to put where), or None."""
    path = folder_of(source)
    if path is None:
        from dsl import cifar_files as cifar

        return cifar.missing(source, data_root)
    if source_files(source, data_root) is not None:
        return None
    state = "holds no image files" if path.is_dir() else "does not exist"
    where = "" if path.is_absolute() else f", relative to {Path.cwd()}"
    return (f"folder {path} {state} (an image, foreground or background folder the spec names"
            f"{where}; image files: {', '.join(IMAGE_SUFFIXES)})")


def _digest(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError as err:
        raise DataMissing(f"cannot read {path} to fingerprint it: {err.strerror or err}; "
                          "make it readable, or remove it from the folder") from None


def _cache_db() -> sqlite3.Connection | None:
    """The persistent hash cache (a damaged one is made afresh), or None when the cache folder
    cannot be written."""
    from dsl.user_cache import cache_dir

    path = cache_dir() / "file-hashes.sqlite"
    for attempt in range(2):
        con = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(path, timeout=2)
            con.execute("CREATE TABLE IF NOT EXISTS file_hashes (path TEXT PRIMARY KEY, "
                        "size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER, inode INTEGER, "
                        "sha256 TEXT)")
            return con
        except sqlite3.DatabaseError as err:
            if con is not None:
                con.close()
            if attempt or isinstance(err, sqlite3.OperationalError):
                return None  # busy, or unwritable: hashing without the cache is only slower
            path.unlink(missing_ok=True)  # not a database: start it again
        except OSError:
            if con is not None:
                con.close()
            return None
    return None


def file_hashes(paths: list) -> list[str]:
    """sha256 of every file, from the caches where size, mtime, ctime and inode still match
    (ctime changes on every write and cannot be set back, so `cp -p` over a file is caught)."""
    now = time.time_ns()
    keys = []
    for p in paths:
        try:
            st = os.stat(p)
        except OSError as err:
            raise DataMissing(f"cannot read {p}: {err.strerror or err}") from None
        keys.append((os.path.abspath(p), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
    settled = [now - k[2] > RACY_S * 1e9 for k in keys]  # by mtime, as git does
    todo = [k for k, ok in zip(keys, settled) if ok and k not in _file_hashes]
    con = _cache_db() if todo else None
    if con is not None:
        try:
            with con:
                for i in range(0, len(todo), 500):
                    chunk = todo[i:i + 500]
                    marks = ",".join("?" * len(chunk))
                    for row in con.execute(
                            "SELECT path, size, mtime_ns, ctime_ns, inode, sha256 FROM "
                            f"file_hashes WHERE path IN ({marks})", [k[0] for k in chunk]):
                        _file_hashes[tuple(row[:5])] = row[5]
                fresh = {k: _digest(k[0]) for k in todo if k not in _file_hashes}
                _file_hashes.update(fresh)
                con.executemany("INSERT OR REPLACE INTO file_hashes VALUES (?, ?, ?, ?, ?, ?)",
                                [(*k, h) for k, h in fresh.items()])
        except sqlite3.Error:
            pass  # a busy or damaged cache only costs rehashing
        finally:
            con.close()
    out = []
    for key, path, ok in zip(keys, paths, settled):
        if not ok:
            out.append(_digest(path))
            continue
        if key not in _file_hashes:
            _file_hashes[key] = _digest(path)
        out.append(_file_hashes[key])
    return out


def fingerprint(source: str, data_root) -> str | None:
    """"sha256:<16 hex>" over every file's relative path and content, or None when absent."""
    files = source_files(source, data_root)
    if files is None:
        return None
    h = hashlib.sha256()
    for (name, _), digest in zip(files, file_hashes([path for _, path in files])):
        h.update(f"{name}\0{digest}\n".encode())
    return "sha256:" + h.hexdigest()[:16]


class LocalFiles:
    """source -> fingerprint for one planning: the files under `data_root` when they are there;
    else the version the spec being planned (`for_spec`) last ran with in the store, or failing
    that the newest version the store ran with, so `dsl table` still finds a CIFAR spec's results
    on a machine without CIFAR; else "missing" (such a spec cannot run; `dsl run` skips it).
    `used` records the answers, for `run` to check a plan made elsewhere against, and `origin`
    where each came from: "files", "store" or "missing". The store is asked through `recorded`,
    a lookup (source, spec, profile) -> fingerprint or None that the layer above hands in
    (engine.store.recorded_lookup): planning never opens the store itself."""

    MISSING = "missing"

    def __init__(self, data_root=None,
                 recorded: Callable[[str, str | None, str | None], str | None] | None = None):
        self.data_root = Path(data_root if data_root is not None
                              else os.environ.get("DSL_DATA", "data"))
        self.recorded = recorded
        self.used: dict[str, str] = {}
        self.origin: dict[str, str] = {}
        self._here: dict[str, str | None] = {}
        self._recorded: dict[tuple, str | None] = {}
        self._spec: tuple[str | None, str | None] = (None, None)

    def for_spec(self, name: str, profile: str | None) -> None:
        """The spec (and profile) whose jobs the next answers are for."""
        self._spec = (name, profile)

    def __call__(self, source: str) -> str:
        if source not in self._here:
            self._here[source] = fingerprint(source, self.data_root)
        found, origin = self._here[source], "files"
        if found is None:
            key = (source, *self._spec)
            if key not in self._recorded:
                self._recorded[key] = self.recorded(*key) if self.recorded else None
            found, origin = self._recorded[key], "store"
        if found is None:
            found, origin = self.MISSING, "missing"
        self.used[source], self.origin[source] = found, origin
        return found
