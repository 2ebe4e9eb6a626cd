"""Spec file -> validated raw `Spec`: read, follow `extends`, apply `--set`, validate, check.

`read_document` gives the back end the merged TOML document with the (file, line) of every key;
`load_spec` validates it (pydantic field checks, then whole-document checks in `dsl.checks`) and
raises one `SpecError` listing every problem with file, line, field path and a suggestion.
Longer than 400 lines: reading, `extends`, `--set` and turning pydantic's errors into positioned
problems are one pipeline over one Document.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import types
import typing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Sequence

import tomli
from pydantic import BaseModel, ValidationError

from dsl import catalog, data_kinds, limits
from dsl.checks import RESERVED_FACTOR_KEYS, check_document, misspelt_factors
from dsl.errors import Problem, SpecError, did_you_mean
from dsl.spec import DRAW_SORTS, Spec
from dsl.toml_positions import KeyPath, parse_toml

SET_FILE = "--set"


@dataclass
class Document:
    """A spec as one merged TOML document, remembering where each value was written."""

    path: Path                      # the spec file itself
    data: dict[str, Any]            # merged: bases under the file, then --set overrides
    where: dict[KeyPath, tuple[str, int | None]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)  # display file name -> source text
    files: list[str] = field(default_factory=list)       # the file, then its bases, in order
    named_by_stem: bool = False     # spec.name was not written: it is the file's stem

    @property
    def file(self) -> str:
        return self.files[0]

    def locate(self, path: Iterable[Any]) -> tuple[str, int | None]:
        """(file, line) of a key path, else of its nearest written parent."""
        path = tuple(path)
        while path:
            if path in self.where:
                return self.where[path]
            path = path[:-1]
        return self.file, None

    def problem(self, path: Iterable[Any], message: str, suggestion: str | None = None
                ) -> Problem:
        path = tuple(path)
        file, line = self.locate(path)
        return Problem(file, line, dotted(path), message, suggestion)


def dotted(path: Sequence[Any]) -> str:
    """("task", "C+O->C", "data") -> 'task."C+O->C".data'; ("probe", 1) -> "probe[1]"."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = str(part)
            bare = text and all(ch.isalnum() or ch in "_-" for ch in text)
            text = text if bare else '"' + text.replace('"', '\\"') + '"'
            out += ("." if out else "") + text
    return out


def display_name(path: Path) -> str:
    """A path as the user would write it: relative to the working folder when inside it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


# ---------------------------------------------------------------------------------------------
# Reading: extends and overrides
# ---------------------------------------------------------------------------------------------

def read_document(path: str | os.PathLike, overrides: Sequence[str] = ()) -> Document:
    """The merged document of a spec file: its bases (`extends`) under it, overrides on top."""
    path = Path(path)
    unusable = not_a_file(path)
    if unusable:
        raise SpecError([Problem(display_name(path), None, "", f"spec file {unusable}")])
    doc = Document(path=path, data={})
    data, where = _read_chain(path, [], doc, via=None)
    _default_name(data, where, path, doc)
    doc.data, doc.where = data, where
    _apply_overrides(doc, overrides)
    return doc


def _read_chain(path: Path, stack: list[Path], doc: Document, via: tuple[str, int | None] | None
                ) -> tuple[dict[str, Any], dict[KeyPath, tuple[str, int | None]]]:
    real = Path(os.path.realpath(path))  # never raises, even on a link loop
    name = display_name(path)
    file, line = via if via else (name, None)
    if real in stack:
        chain = " -> ".join(display_name(p) for p in stack + [real])
        raise SpecError([Problem(file, line, "spec.extends", f"extends cycle: {chain}",
                                 "remove one of these extends")])
    if len(stack) > limits.MAX_EXTENDS_DEPTH or len(doc.files) >= limits.MAX_SPEC_FILES:
        raise SpecError([Problem(file, line, "spec.extends", (
            f"extends goes deeper than {limits.MAX_EXTENDS_DEPTH} bases" if len(stack) >
            limits.MAX_EXTENDS_DEPTH else f"extends reads more than {limits.MAX_SPEC_FILES} "
            "files for one spec"), "a spec extends a base or two: merge these bases")])
    try:
        with open(path, "rb") as f:
            raw = f.read(limits.MAX_SPEC_BYTES + 1)
            size = os.fstat(f.fileno()).st_size
    except OSError as err:
        raise SpecError([Problem(file, line, "spec.extends" if via else "",
                                 f"cannot read {'base ' if via else ''}spec '{name}': "
                                 f"{err.strerror or err}")]) from None
    too_big = limits.size_problem(raw, name, size)
    if too_big:
        raise SpecError([too_big])
    text = limits.decode(raw, name)
    own, positions = parse_toml(text, name)
    doc.texts[name] = text
    doc.files.append(name)
    own_where = {p: (name, line) for p, line in positions.lines.items()}

    spec_table = own.get("spec") if isinstance(own.get("spec"), dict) else {}
    bases = spec_table.get("extends", [])
    bases = [bases] if isinstance(bases, str) else bases
    merged: dict[str, Any] = {}
    merged_where: dict[KeyPath, tuple[str, int | None]] = {}
    if isinstance(bases, list):
        for k, base in enumerate(bases):
            if not isinstance(base, str):
                continue  # a wrong type is reported by validation
            key = ("spec", "extends") if isinstance(spec_table["extends"], str) else (
                "spec", "extends", k)
            base_path = path.parent / base
            line = positions.line_of(key)
            unusable = not_a_file(base_path)
            if unusable == "not found":
                raise SpecError([Problem(name, line, "spec.extends",
                                         f"base spec '{base}' not found (looked for "
                                         f"{display_name(base_path)})",
                                         _base_hint(base, base_path, stack + [real]))])
            if unusable:
                shown = display_name(base_path)
                raise SpecError([Problem(name, line, "spec.extends", f"base spec '{base}' "
                                         + (f"({shown}) " if shown != base else "") + unusable,
                                         "extends names a .toml file")])
            data, where = _read_chain(base_path, stack + [real], doc, via=(name, line))
            merged, merged_where = merge(merged, merged_where, data, where)
    return merge(merged, merged_where, own, own_where)


def not_a_file(path: Path) -> str | None:
    """Why `path` cannot be read as a spec ("is a folder", "is a FIFO", ...), or None for a
    regular file (or a link to one). Nothing is opened: a FIFO would block a read forever."""
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        if os.path.islink(path):
            if err.errno == errno.ELOOP:
                return "is a symbolic link that loops"
            return f"is a link to '{os.readlink(path)}', which does not exist"
        return "not found" if err.errno in (errno.ENOENT, errno.ENOTDIR) else \
            f"cannot be read: {err.strerror or err}"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    return "is not a regular file (a " + ("FIFO" if stat.S_ISFIFO(mode) else "socket" if
                                          stat.S_ISSOCK(mode) else "device") + ")"


def _base_hint(base: str, base_path: Path, chain: list[Path]) -> str | None:
    """A near file name for a missing base, written as `base` was (same folder part), never a
    spec of the chain itself (extending it would be a cycle)."""
    if base_path.name and base_path.with_name(base_path.name + ".toml").is_file():
        return f"did you mean '{base}.toml'?"
    folder = base_path.parent
    if not folder.is_dir():
        return None
    written = Path(base).parent
    near = [str(written / f.name) if str(written) != "." else f.name
            for f in sorted(folder.glob("*.toml"))
            if not_a_file(f) is None and Path(os.path.realpath(f)) not in chain]
    return did_you_mean(base, near)


def merge(base: dict[str, Any], base_where: dict[KeyPath, Any], child: dict[str, Any],
          child_where: dict[KeyPath, Any]) -> tuple[dict[str, Any], dict[KeyPath, Any]]:
    """Deep-merge `child` over `base`: tables merge key by key, anything else (arrays, arrays of
    tables, scalars) is replaced, and so is a table that names another `kind` (mixing two
    kinds' fields would be meaningless; one that leaves `kind` out merges and keeps the base's).
    Positions follow the value that won."""
    replaced: set[KeyPath] = set()
    data = _merge(base, child, (), replaced)
    where = {p: w for p, w in base_where.items()
             if not any(p[:k] in replaced for k in range(1, len(p) + 1))}
    where.update(child_where)
    return data, where


def _merge(base: dict, child: dict, path: KeyPath, replaced: set[KeyPath]) -> dict:
    out = dict(base)
    for key, value in child.items():
        old = base.get(key)
        # a table that leaves `kind` out keeps the base's (only another kind replaces it)
        if isinstance(old, dict) and isinstance(value, dict) and (
                "kind" not in value or old.get("kind") == value["kind"]):
            out[key] = _merge(old, value, path + (key,), replaced)
        else:
            out[key] = value
            if key in base:
                replaced.add(path + (key,))
    return out


def _default_name(data: dict, where: dict, path: Path, doc: Document) -> None:
    """A spec's name is its own: never inherited from a base (two specs would collide)."""
    spec = data.get("spec")
    if not isinstance(spec, dict):
        return
    if where.get(("spec", "name"), ("",))[0] == doc.files[0]:
        return  # the file's own name (the merge keeps the position of the value that won)
    spec["name"] = path.stem
    doc.named_by_stem = True
    where[("spec", "name")] = where.get(("spec",), (doc.files[0], None))


def parse_override(text: str) -> tuple[KeyPath, Any]:
    """'train.epochs=2' -> (("train", "epochs"), 2); the value is TOML, else a plain string."""
    if "=" not in text:
        raise SpecError([Problem(SET_FILE, None, "", f"'{text}': expected PATH=VALUE",
                                 "e.g. --set train.epochs=2")])
    raw_path, raw_value = text.split("=", 1)
    try:
        path = _parse_key(raw_path.strip())
    except (tomli.TOMLDecodeError, RecursionError):
        raise SpecError([Problem(SET_FILE, None, "", f"--set '{text}': '{raw_path}' is not a "
                                 "key path", "e.g. train.epochs or task.\"C+O->C\".n_train")]
                        ) from None
    try:
        value = tomli.loads(f"v = {raw_value.strip()}")["v"]
    except tomli.TOMLDecodeError:
        value = raw_value.strip()
    except RecursionError:
        raise SpecError([Problem(SET_FILE, None, dotted(path), f"--set '{text[:60]}': "
                                 + limits.nesting_message()[0])]) from None
    return path, value


def _parse_key(text: str) -> KeyPath:
    """A dotted TOML key; all-digit parts index arrays (probe.0.epochs)."""
    doc = tomli.loads(f"{text} = 0")
    path: list[Any] = []
    node: Any = doc
    while isinstance(node, dict):
        (key, node), = node.items()
        path.append(int(key) if key.isdigit() else key)
    return tuple(path)


def _section_hint(path: KeyPath, data: dict) -> str | None:
    """For `--set seeds=3`: the sections that hold a field (or factor) of that name, written as
    the key to give instead; else the nearest section name."""
    key = str(path[0])
    rest = "".join(f".{p}" for p in path[1:])
    homes = [name for name, info in Spec.model_fields.items()
             if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)
             and key in info.annotation.model_fields and name != "factors"]
    factors = data.get("factors")
    if isinstance(factors, dict) and key in factors:
        homes.append("factors")
    if homes:
        return "did you mean " + " or ".join(f"'{h}.{key}{rest}'" for h in homes) + "?"
    return did_you_mean(key, Spec.model_fields)


def _apply_overrides(doc: Document, overrides: Sequence[str]) -> None:
    problems = []
    for text in overrides:
        path, value = parse_override(text)
        source = f"{SET_FILE} {text}"
        if path[:2] == ("spec", "extends") or path == ("spec",) and isinstance(
                value, dict) and "extends" in value:  # bases are read before overrides apply
            problems.append(Problem(source, None, dotted(path),
                                    "--set cannot change spec.extends: the bases are merged "
                                    "before --set applies",
                                    "write extends in the spec file, or --set the fields "
                                    "themselves"))
            continue
        if path[0] not in Spec.model_fields:
            problems.append(Problem(source, None, dotted(path),
                                    f"--set: unknown section '{path[0]}'",
                                    _section_hint(path, doc.data)))
            continue
        node: Any = doc.data
        for k, part in enumerate(path[:-1]):
            if isinstance(node, list) and isinstance(part, int):
                if part >= len(node):
                    problems.append(Problem(source, None, dotted(path),
                                            f"--set: {dotted(path[:k + 1])} does not exist "
                                            f"({len(node)} entries)"))
                    node = None
                    break
                node = node[part]
            elif isinstance(node, dict):
                node = node.setdefault(part, {})
            else:
                node = None
            if not isinstance(node, (dict, list)):
                problems.append(Problem(source, None, dotted(path),
                                        f"--set: {dotted(path[:k + 1])} is not a table"))
                node = None
                break
        if node is None:
            continue
        last = path[-1]
        if isinstance(node, list):
            if not isinstance(last, int) or last >= len(node):
                problems.append(Problem(source, None, dotted(path),
                                        f"--set: {dotted(path)} does not exist"))
                continue
        node[last] = value
        doc.where = {p: w for p, w in doc.where.items() if p[:len(path)] != path}
        doc.where[path] = (source, None)
    if problems:
        raise SpecError(problems)


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------

def load_spec(path: str | os.PathLike, profile: str | None = None,
              overrides: Sequence[str] = ()) -> Spec:
    """A spec file -> validated raw Spec; raises SpecError listing every problem.

    `profile` is checked by name here; profiles rewrite resolved job configs (dsl.profiles),
    not the spec.
    """
    doc = read_document(path, overrides)
    _check_profile(profile)
    return validate_document(doc)


def validate_document(doc: Document) -> Spec:
    """Field checks (pydantic) and whole-document checks, all problems in one SpecError."""
    limited = limits.document_problems(doc)
    if any(limits.stops_validation(p) for p in limited):
        raise SpecError(limited)  # validation would recurse too deep, or check 100k values
    problems: list[Problem] = []
    spec = None
    try:
        spec = Spec.model_validate(doc.data)
    except ValidationError as err:
        problems.extend(problems_from_error(err, doc))
    mine = _reserved_typos(doc) + limited
    problems = [p for p in problems if not _said_by_limits(p, mine)]
    checked = check_document(doc) + mine
    problems = [p for p in problems if not _said_better(p, checked)] + checked
    if spec is not None and not problems:
        problems.extend(_empty_grid(spec, doc))
    if spec is not None and not problems:
        problems.extend(_draw_problems(spec, doc))
    if problems:
        raise SpecError(_sorted_unique([_stem_name_fix(p, doc) for p in problems]))
    return spec


def _stem_name_fix(problem: Problem, doc: Document) -> Problem:
    """A name the user did not write comes from the file name: say so, and how to fix it."""
    if problem.path != "spec.name" or not doc.named_by_stem:
        return problem
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", doc.path.stem).lstrip(".-") or "spec"
    return replace(problem, message=problem.message + " (the file's name)",
                               suggestion=f"rename the file, or write name = \"{safe}\" "
                                          "under [spec]")


def _reserved_typos(doc: Document) -> list[Problem]:
    """`zipp = [["a", "b"]]` under [factors] reads as a factor whose values are lists: say it
    is a misspelt `zip` (or `exclude`), which the value's shape shows."""
    factors = doc.data.get("factors")
    out = []
    for key, value in (factors.items() if isinstance(factors, dict) else ()):
        shape = "zip" if isinstance(value, list) and value and all(
            isinstance(v, list) for v in value) else "exclude" if isinstance(
            value, list) and value and all(isinstance(v, dict) for v in value) else None
        if shape and key != shape and did_you_mean(key, RESERVED_FACTOR_KEYS) == \
                f"did you mean '{shape}'?":
            out.append(doc.problem(("factors", key), f"unknown key '{key}' (a factor's values "
                                   "are scalars)", f"did you mean '{shape}'?"))
    return out


def _empty_grid(spec: Spec, doc: Document) -> list[Problem]:
    """An `exclude` that removes every cell leaves a spec that plans nothing."""
    from dsl.errors import DslError
    from dsl.factors import grid

    f = spec.factors
    if not f.exclude:
        return []
    try:
        cells = grid(f.values(), f.zip, f.exclude)
    except DslError:
        return []  # a zip problem: reported by the checks
    if cells:
        return []
    return [doc.problem(("factors", "exclude"), "exclude removes every cell of the factor grid",
                        "remove or narrow an exclude rule")]


def _said_by_limits(problem: Problem, mine: list[Problem]) -> bool:
    """pydantic's error on a non-finite number or a misspelt `zip` is the same mistake as the
    problem that names the fix."""
    return any(problem.path == q.path or problem.path.startswith(q.path + "[") for q in mine
               if q.path)


def _said_better(problem: Problem, checked: list[Problem]) -> bool:
    """A draw too large for its pool is reported by dsl.checks with the pool and the most one
    can draw; pydantic's bound on the same draw would say it twice. Likewise a "{NAME}" where
    factors cannot go: its type error is the same mistake."""
    if any(q.path == problem.path and "factors cannot be used in" in q.message
           for q in checked):
        return True
    if not problem.path.startswith("draw.") or not (
            "expected at most" in problem.message or "classes, asked for" in problem.message):
        return False
    return any(q.path == problem.path or q.path.startswith(problem.path + ".")
               for q in checked if q.message.startswith("cannot draw"))


def _check_profile(profile: str | None) -> None:
    if profile is None:
        return
    try:
        from dsl import profiles
    except ImportError:
        return
    known = getattr(profiles, "PROFILES", None)
    if known is not None and profile not in known:
        raise SpecError([Problem("--profile", None, "", f"unknown profile '{profile}'",
                                 did_you_mean(profile, known))])


def _draw_problems(spec: Spec, doc: Document) -> list[Problem]:
    """Impossible and cyclic draws: checked by the back end's draw resolver (dsl.draws)."""
    try:
        from dsl import draws
    except ImportError:
        return []
    check = getattr(draws, "check_draws", None)
    if check is None:
        return []
    found = check(spec, doc) or []
    return [p if isinstance(p, Problem) else doc.problem(("draw",), str(p)) for p in found]


def _sorted_unique(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        if p not in seen:
            seen.add(p)
            out.append(p)
    order = {f: k for k, f in enumerate(dict.fromkeys(p.file for p in out))}
    return sorted(out, key=lambda p: (order[p.file], p.line or 0))


# ---------------------------------------------------------------------------------------------
# pydantic errors -> Problems
# ---------------------------------------------------------------------------------------------

def problems_from_error(err: ValidationError, doc: Document, prefix: KeyPath = (),
                        root: Any = Spec) -> list[Problem]:
    """Every pydantic error as a Problem: file, line, document path, expectation, suggestion.

    `prefix` and `root` let the back end convert errors of a section validated on its own (after
    factor substitution), e.g. prefix=("train",), root=TrainSpec.
    """
    node = doc.data
    for part in prefix:
        node = node[part] if isinstance(node, (dict, list)) else None
    found: dict[KeyPath, list[tuple[dict, bool]]] = {}
    for e in err.errors(include_url=False):
        path, via_union = _doc_path(node, e["loc"], root)
        found.setdefault(path, []).append((e, via_union))
    problems = []
    for path, errors in found.items():
        errors = _prefer_specific(path, errors, found)
        for e, _ in errors:
            for one in _split_more(e):
                problems.append(_problem(one, prefix + path, prefix, root, doc))
    return _drop_missing_for_typos(problems)


def _drop_missing_for_typos(problems: list[Problem]) -> list[Problem]:
    """`objcts = ...` is one mistake: keep "unknown key 'objcts'; did you mean 'objects'?" and
    drop "missing required field 'objects'" beside it."""
    meant = {(p.path.rsplit(".", 1)[0], p.suggestion) for p in problems
             if p.message.startswith("unknown key ") and p.suggestion}
    return [p for p in problems if not (
        p.message.startswith("missing required field ")
        and (p.path.rsplit(".", 1)[0], f"did you mean '{p.path.rsplit('.', 1)[-1]}'?") in meant)]


def _split_more(e: dict) -> list[dict]:
    """A validator that found several problems (params) raises the first and carries the rest in
    ctx["more"] as (type, message template, ctx): one error dict each."""
    ctx = e.get("ctx") or {}
    if not ctx.get("more"):
        return [e]
    first = dict(e, ctx={k: v for k, v in ctx.items() if k != "more"})
    rest = [dict(e, type=kind, msg=template.format(**more), ctx=more)
            for kind, template, more in ctx["more"]]
    return [first] + rest


def _doc_path(node: Any, loc: tuple, root: Any) -> tuple[KeyPath, bool]:
    """pydantic's loc without union member labels and tags ('str', 'transforms2d', ...).

    The model types are walked beside the document, because a tag can equal a key (a draw's
    tag 'transforms' is also its count field)."""
    path: list[Any] = []
    skipped = False
    tp = root
    for k, part in enumerate(loc):
        member = _union_member(tp, part, node)
        if member is not None:
            tp, skipped = member, True
            continue
        tp = _step(tp, part) if tp is not None else None
        if isinstance(node, dict) and part in node:
            node = node[part]
            path.append(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            path.append(part)
        elif k == len(loc) - 1 and isinstance(node, dict):
            path.append(part)  # a missing key
        else:
            skipped = True
    return tuple(path), skipped


def _union_member(tp: Any, part: Any, node: Any) -> Any:
    """The union member that `part` labels (a tag or pydantic's member name), else None."""
    tp = _strip(tp)
    if typing.get_origin(tp) not in (typing.Union, types.UnionType) or not isinstance(part, str):
        return None
    members = typing.get_args(tp)
    for m in members:
        if typing.get_origin(m) is typing.Annotated:
            if part in [getattr(a, "tag", None) for a in typing.get_args(m)[1:]]:
                return m
    for m in members:
        inner = _strip(m)
        name = getattr(typing.get_origin(inner) or inner, "__name__", None)
        if name and part.split("[")[0] == name:
            return m
    if not (isinstance(node, dict) and part in node):
        return typing.Any  # a label we cannot place (e.g. 'constrained-int'): skip it
    return None


def _prefer_specific(path: KeyPath, errors: list, found: dict) -> list:
    """A union reports one error per member; keep the one that says most."""
    if not any(via for _, via in errors):
        return errors
    deeper = any(p[:len(path)] == path and len(p) > len(path) for p in found)
    specific = [(e, v) for e, v in errors if not _is_type_error(e)]
    if specific:
        return specific
    if deeper:
        return []
    if len(errors) == 1:  # one member's error (a tagged draw's field): its own words say most
        return errors
    first = dict(errors[0][0])
    labels = [e["loc"][-1] for e, _ in errors if e["loc"]]
    first["msg"] = "expected " + " or ".join(dict.fromkeys(_human(l) for l in labels))
    first["type"] = "union_type"
    return [(first, True)]


def _is_type_error(e: dict) -> bool:
    return e["type"].endswith("_type") or e["type"] in ("model_attributes_type", "dict_type")


def _human(label: Any) -> str:
    text = str(label)
    for prefix, word in (("list", "a list"), ("dict", "a table"), ("str", "a string"),
                         ("int", "an integer"), ("float", "a number"), ("bool", "true or false")):
        if text.startswith(prefix):
            return word
    if text.startswith("constrained-int"):
        return "an integer"
    return "a table" if text[:1].isupper() else text


# What to write when a whole required table or key is missing.
_MISSING_FIX = {
    ("spec",): 'add a [spec] table with title = "..." (and seeds = N)',
    ("train",): 'add a [train] table with task = "NAME" (the source task) and arch, epochs',
    ("train", "task"): 'name the source task: task = "NAME" (one of the [task.NAME] tables)',
}


def _problem(e: dict, path: KeyPath, prefix: KeyPath, root: Any, doc: Document) -> Problem:
    kind = e["type"]
    ctx = e.get("ctx") or {}
    value = e.get("input")
    message = e["msg"]
    suggestion = None
    if "key" in ctx:  # an error inside a free-form table (params) names its key
        path = path + tuple(str(ctx["key"]).split("."))
    where_path = path
    if kind == "extra_forbidden":
        key = str(path[-1])
        choices = _keys_at(root, e["loc"][:-1])
        message = f"unknown key '{key}'"
        suggestion = did_you_mean(key, choices) if choices else None
        if suggestion is None and len(e["loc"]) == 1 and key in _keys_at(root, ("spec",)):
            suggestion = f"'{key}' belongs in the [spec] table: write it under [spec]"
        if len(e["loc"]) == 1 and isinstance(value, dict) and value and misspelt_factors(key):
            suggestion = f"{suggestion} It declares {', '.join(map(str, value))}"
        if suggestion is None and choices:
            suggestion = "expected one of: " + ", ".join(choices)
    elif kind == "missing":
        message = f"missing required field '{path[-1]}'"
        where_path = path[:-1]
        suggestion = _MISSING_FIX.get(tuple(path))
    elif kind == "unknown_name":
        suggestion = did_you_mean(ctx.get("value", ""), ctx.get("choices", ()))
        if suggestion:  # the full listing is noise when a close match exists
            message = message.split(" (one of:")[0]
    elif kind in ("data_kind", "probe_kind"):
        kinds = data_kinds.names() if kind == "data_kind" else catalog.PROBE_KINDS
        what = "data kind" if kind == "data_kind" else "probe kind"
        if isinstance(value, dict) and "kind" in value:
            message = f"unknown {what} {_quote(value['kind'])} (one of: {', '.join(kinds)})"
            suggestion = did_you_mean(str(value["kind"]), kinds)
            where_path = path + ("kind",)
        elif isinstance(value, dict):
            message = f"missing kind (one of: {', '.join(kinds)})"
        else:
            message = message.replace("a dataset needs", "expected a data name or a table with")
            message = message.replace("a probe needs", "expected a table with")
            message += f", got {_quote(value)}"
    elif kind == "draw_sort":
        if isinstance(value, dict):
            present = [s for s in DRAW_SORTS if s in value]
            if len(present) > 1:
                message = f"a draw names exactly one of {', '.join(DRAW_SORTS)}; " \
                          f"this one names {', '.join(present)}"
            else:
                for key in value:
                    suggestion = did_you_mean(str(key), DRAW_SORTS)
                    if suggestion:
                        where_path = path + (key,)
                        break
        else:
            message = f"expected a table such as {{ objects = 30 }}, got {_quote(value)}"
    elif (len(path) == 3 and path[0] == "draw" and path[2] in DRAW_SORTS
          and isinstance(value, list)):
        message = f"{path[2]} is how many to draw, got {_quote(value)}"
        suggestion = (f"to draw N of these write {{ {path[2]} = N, from = "
                      f"{json.dumps(value)} }}")
    elif kind == "too_short" and len(path) == 2 and path[0] == "factors":
        message = f"factor '{path[1]}' has no values"
        suggestion = "give it at least one value, or remove it"
    elif kind in ("wrong_value", "one_of", "duplicate", "too_many", "union_type"):
        if kind == "union_type" and value is not None:
            message += f", got {_quote(value)}"
    elif kind == "too_short":
        n = ctx.get("min_length", 1)
        message = f"expected at least {n} item{'s' if n != 1 else ''}, got {_quote(value)}"
    elif kind == "list_type" and path in (("probe",), ("report",)):
        message = "expected an array of tables"
        suggestion = f"write [[{path[0]}]], not [{path[0]}]"
    else:
        message = message.replace("Input should be", "expected").replace(
            "less than or equal to", "at most").replace("greater than or equal to", "at least")
        if not isinstance(value, (dict, list)) and value is not None and kind != "missing":
            message += f", got {_quote(value)}"
    if suggestion is None and isinstance(value, str) and _is_number_text(value) and (
            "integer" in message or "number" in message):
        suggestion = f"write {value.strip()} without quotes"
    file, line = doc.locate(where_path)
    return Problem(file, line, dotted(path), message, suggestion)


def _is_number_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _quote(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value)


def _keys_at(root: Any, loc: tuple) -> list[str]:
    """The keys the model at pydantic location `loc` accepts (for did-you-mean)."""
    tp = root
    for part in loc:
        tp = _step(tp, part)
        if tp is None:
            return []
    tp = _strip(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [f.alias or name for name, f in tp.model_fields.items()]
    return []


def _strip(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _step(tp: Any, part: Any) -> Any:
    tp = _strip(tp)
    origin = typing.get_origin(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, f in tp.model_fields.items():
            if part in (name, f.alias):
                return f.annotation
        return None
    if origin in (typing.Union, types.UnionType):
        members = typing.get_args(tp)
        for m in members:  # a discriminated union's tag names the member
            if typing.get_origin(m) is typing.Annotated:
                tags = [getattr(a, "tag", None) for a in typing.get_args(m)[1:]]
                if part in tags:
                    return m
        for m in members:  # a member label such as 'list[...]'
            if str(part).startswith(getattr(typing.get_origin(_strip(m)), "__name__", "~")):
                return m
        for m in members:
            nxt = _step(m, part)
            if nxt is not None:
                return nxt
        return None
    if origin is dict and isinstance(part, str):
        return typing.get_args(tp)[1]
    if origin is list and isinstance(part, int):
        return typing.get_args(tp)[0]
    return None


def expand_paths(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Spec files and folders -> spec files; a folder means its *.toml, sorted, except bases
    (files starting with "_", which exist to be extended)."""
    from dsl.errors import DslError

    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        unusable = not_a_file(path)
        if unusable is None:
            out.append(path)
        elif path.is_dir():
            found = [p for p in sorted(path.glob("*.toml")) if not p.name.startswith("_")]
            if not found:  # an empty run or validation would look like success
                what = "is a folder, not a spec file, and holds" if path.suffix == ".toml" \
                    else "is a folder that holds"
                raise DslError(f"{display_name(path)}: {what} no specs (*.toml files not "
                               "starting with _)")
            out.extend(found)
        elif unusable == "not found":
            raise DslError(f"{display_name(path)}: no such spec file or folder"
                           + _nearby_hint(path))
        else:
            raise DslError(f"{display_name(path)}: {unusable}")
    return out


def _nearby_hint(path: Path) -> str:
    """"; did you mean 'specs/x.toml'?" for the closest spec in the same folder (specs get
    renamed; the old name in a note or a shell history should still lead somewhere)."""
    from dsl.errors import did_you_mean

    folder = path.parent if path.parent.is_dir() else None
    if folder is None:
        return ""
    names = {p.stem: p for p in folder.glob("*.toml")}
    hint = did_you_mean(path.stem, names)
    if hint is None:  # a renamed file often keeps its old name as a part: x.toml -> x_y.toml
        stem = path.stem
        parts = [n for n in names if stem.split("_")[-1] in n and stem.split("_")[0] in n]
        if len(parts) == 1:
            hint = f"did you mean '{parts[0]}'?"
    if hint is None:
        return ""
    name = hint.split("'")[1]
    return f"; did you mean '{display_name(names[name])}'?"
