"""Code fingerprints per job kind: which source files a kind's results depend on, and their hash.

A kind's files are computed, not listed by hand: its implementation module (`Kind.impl`) and every
module of the `dsl` and `engine` packages it imports, transitively, found by reading the imports
with `ast` (nothing is imported, so torch is never loaded). Imports inside functions count (the
engine imports lazily), and so do the packages a module sits in (their `__init__` runs first), and
names of modules written as "engine.x.y:attr" strings (how `engine.data` loads its API lazily).

Each file is hashed after dropping comments and blank lines and ignoring indentation width and
spacing inside lines, so reformatting a file or editing a comment changes no fingerprint; every
other edit does, docstrings included. The fingerprint is *not* part of a job's identity (a
comment edit must not rerun the suite): it is recorded with each finished job and compared at plan
time to say which cached results were made by other code (engine.provenance).
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

# The packages whose code is followed; everything else (torch, numpy) is the environment's part.
PACKAGES = ("dsl", "engine")
# Modules a job imports on a path it never takes while running: only planning and drivers use
# them (dsl.local_files asks the store for recorded fingerprints when planning). Their
# edits are frequent and change no result, so they are not followed.
DRIVER_ONLY = frozenset({"engine.store", "engine.runner", "engine.executors"})
# The folder holding the `dsl` and `engine` packages.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
_LAZY_EXPORT = re.compile(r"^((?:dsl|engine)(?:\.\w+)+):(\w+)$")
_DROPPED = (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING)


@dataclass(frozen=True)
class CodeFingerprint:
    """The code one kind ran with: a digest over `files` (relative path -> content hash)."""

    digest: str
    files: Mapping[str, str]

    def changed(self, recorded: Mapping[str, str]) -> list[str]:
        """Files whose hash differs from `recorded`, sorted; a file only one side has is
        marked "(newly read)" or "(no longer read)": the kind's imports changed."""
        out = []
        for name in sorted(set(self.files) | set(recorded)):
            if name not in recorded:
                out.append(f"{name} (newly read)")
            elif name not in self.files:
                out.append(f"{name} (no longer read)")
            elif self.files[name] != recorded[name]:
                out.append(name)
        return out


def source_hash(text: str) -> str:
    """Hash of a Python source's tokens without comments, blank lines or spacing: what runs."""
    h = hashlib.sha256()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in _DROPPED:
                continue
            # Indentation width is formatting: only the change of level matters.
            value = "" if tok.type in (tokenize.INDENT, tokenize.DEDENT) else tok.string
            h.update(f"{tok.type}:{value}\x00".encode())
    except (tokenize.TokenError, SyntaxError, IndentationError):
        h = hashlib.sha256(b"untokenizable\x00" + text.encode())
    return h.hexdigest()[:16]


def digest(files: Mapping[str, str]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(f"{name}\x00{files[name]}\x00".encode())
    return h.hexdigest()[:16]


class Fingerprinter:
    """Fingerprints of modules under `root` (the folder holding `dsl/` and `engine/`), with the
    files' hashes and imports cached by (path, mtime, size): one plan reads each file once."""

    def __init__(self, root: str | Path = PROJECT_ROOT):
        self.root = Path(root).resolve()
        self._files: dict[Path, tuple[tuple[int, int], tuple]] = {}

    # -- modules and files ---------------------------------------------------------------------

    def module_file(self, module: str) -> Path | None:
        """The source file of a module of PACKAGES under root, or None when there is none."""
        parts = module.split(".")
        if parts[0] not in PACKAGES:
            return None
        base = self.root.joinpath(*parts)
        for path in (base.with_suffix(".py"), base / "__init__.py"):
            if path.is_file():
                return path
        return None

    def _external_file(self, module: str) -> Path | None:
        """A kind implemented outside PACKAGES (a plugin, a test's fake kind): its own file."""
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            return None
        origin = getattr(spec, "origin", None)
        return Path(origin).resolve() if origin and origin.endswith(".py") else None

    def _read(self, path: Path) -> tuple[str, frozenset[str], dict[str, str]]:
        """(content hash, dotted names it imports or reads, lazy exports) of one file.

        Lazy exports are what a package's `__init__` maps to "module:attr" strings and loads on
        first access (`engine.data.generate`); a name read through them is that module."""
        st = path.stat()
        key = (st.st_mtime_ns, st.st_size)
        hit = self._files.get(path)
        if hit is not None and hit[0] == key:
            return hit[1]
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            tree = ast.parse(text)
        except SyntaxError:
            tree = None
        names = frozenset(self._names(tree, self._module_name(path), path)) if tree else frozenset()
        lazy = _lazy_exports(tree) if tree and path.name == "__init__.py" else {}
        value = (source_hash(text), names, lazy)
        self._files[path] = (key, value)
        return value

    def _module_name(self, path: Path) -> str | None:
        try:
            rel = path.relative_to(self.root)
        except ValueError:
            return None
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        return ".".join(parts)

    @staticmethod
    def _names(tree: ast.AST, module: str | None, path: Path) -> Iterable[str]:
        """Dotted names a module imports (`import a.b`, `from a import b`, relative ones made
        absolute) or reads as attributes of a package (`engine.data.generate`)."""
        package = (module or "").split(".")
        if path.name != "__init__.py":
            package = package[:-1]
        for node in _runtime_nodes(tree):
            if isinstance(node, ast.Import):
                yield from (alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    keep = package[:max(len(package) - node.level + 1, 0)]
                    base = ".".join(keep + ([base] if base else []))
                yield base
                yield from (f"{base}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Attribute):
                dotted = _dotted(node)
                if dotted and dotted.split(".", 1)[0] in PACKAGES:
                    yield dotted

    def _resolve(self, name: str) -> list[Path]:
        """The files that importing (or reading) a dotted name runs: every package on the way
        and the module itself, or the module a package's lazy export names."""
        parts = name.split(".")
        if parts[0] not in PACKAGES or any(".".join(parts[:i]) in DRIVER_ONLY
                                           for i in range(1, len(parts) + 1)):
            return []
        out: list[Path] = []
        for i in range(1, len(parts) + 1):
            found = self.module_file(".".join(parts[:i]))
            if found is not None:
                out.append(found)
                continue
            parent = out[-1] if out and i == len(out) + 1 else None
            if parent is not None and parent.name == "__init__.py":
                target = self._read(parent)[2].get(parts[i - 1])
                if target:
                    out += self._resolve(target)
            break
        return out

    # -- closure and fingerprint ----------------------------------------------------------------

    def files_of(self, module: str) -> list[Path]:
        """The module's file and every PACKAGES file it reaches by imports, and their packages."""
        start = self.module_file(module) or self._external_file(module)
        if start is None:
            return []
        seen: set[Path] = set()
        stack = [start]
        while stack:
            path = stack.pop()
            if path in seen:
                continue
            seen.add(path)
            for name in self._read(path)[1]:
                stack.extend(p for p in self._resolve(name) if p not in seen)
        return sorted(seen)

    def _label(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.name

    def of_module(self, module: str) -> CodeFingerprint:
        files = {self._label(p): self._read(p)[0] for p in self.files_of(module)}
        return CodeFingerprint(digest(files), files)

    def of_impl(self, impl: str) -> CodeFingerprint:
        """The fingerprint of a kind's implementation ("module:function")."""
        return self.of_module(impl.split(":", 1)[0])


_DEFAULT: Fingerprinter | None = None


def default() -> Fingerprinter:
    """The process's fingerprinter over this checkout's `dsl` and `engine` packages."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Fingerprinter()
    return _DEFAULT


def of_kind(kind: str, fingerprinter: Fingerprinter | None = None) -> CodeFingerprint:
    """Today's fingerprint of a registered job kind (engine.kinds)."""
    from engine.kinds import KINDS

    return (fingerprinter or default()).of_impl(KINDS[kind].impl)


def _dotted(node: ast.AST) -> str | None:
    """"a.b.c" for an attribute chain on a plain name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _lazy_exports(tree: ast.AST) -> dict[str, str]:
    """{attr: module} of the "module:attr" strings in a package's `__init__`."""
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            m = _LAZY_EXPORT.match(node.value)
            if m:
                out[m.group(2)] = m.group(1)
    return out


def _runtime_nodes(tree: ast.AST) -> Iterable[ast.AST]:
    """Every node but those under `if TYPE_CHECKING:` (imports for type checkers never run)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _dotted(child.test) in ("TYPE_CHECKING",
                                                                       "typing.TYPE_CHECKING"):
                stack.extend(child.orelse)
                continue
            stack.append(child)
