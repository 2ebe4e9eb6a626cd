"""A corpus of malformed specs, made by mutating the shipped specs (specs/*.toml) line by line
and by parser-level damage (bytes, nesting, sizes, non-finite numbers, file types). Each case
knows the line its mistake is on, so a test can require the error to name it.

`cases()` is deterministic: the same list on every run and machine.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import tomli

from dsl.limits import MAX_SPEC_BYTES, line_at

SPECS = Path(__file__).resolve().parent.parent / "specs"

# a `key = value` line; the value may carry a trailing comment
KEY_VALUE = re.compile(r"""^(\s*)([A-Za-z0-9_-]+|"[^"]*")(\s*=\s*)(.*)$""")
HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*(\]\]?)\s*(#.*)?$")
# tables whose keys are the language's fields (elsewhere keys are names the spec chose)
FIELD_TABLES = re.compile(r"^(spec|train|probe|report|task\.[^.]+|data\.[^.]+)$")
STRIDE = 9


@dataclass
class Case:
    id: str
    write: Callable[[Path], Path]  # writes the case into a folder holding the specs' bases
    line: int | None               # the line the error must name (None: the file has none)
    argv: tuple[str, ...] = ()     # extra command-line arguments


def _value_mutations(value: str) -> list[tuple[str, str]]:
    """(label, new value) for a one-line value: each is an error wherever it stands."""
    return [
        ("inf", "inf"), ("nan", "nan"), ("neg-inf", "-inf"), ("huge-float", "1e999"),
        ("open-string", '"' + value.strip('"\'')), ("bare-words", "two words"),
        ("open-array", "[1, 2"), ("open-table", "{ a = 1"),
        ("deep-array", "[" * 40 + "]" * 40), ("parser-deep", "[" * 450 + "]" * 450),
        ("deep-table", "{ a = " * 40 + "1" + " }" * 40),
        ("not-utf8", "\udcff"), ("control-char", '"a\x01b"'), ("lone-cr", "1\r2"),
        ("nul", "\x00"),
    ]


def _lines(text: str) -> list[tuple[int, str, str, re.Match | None]]:
    """(line number, line, table it is in, key-value match) for every line."""
    out, table = [], ""
    for number, line in enumerate(text.split("\n"), 1):
        header = HEADER.match(line)
        if header:
            table = header.group(2).replace(" ", "")
            out.append((number, line, table, None))
            continue
        out.append((number, line, table, KEY_VALUE.match(line)))
    return out


def _one_line_value(raw: str) -> bool:
    try:
        tomli.loads(f"v = {raw}")
    except tomli.TOMLDecodeError:
        return False
    return True


def _text_case(case_id: str, text: str, line: int | None, argv=()) -> Case:
    def write(folder: Path) -> Path:
        path = folder / f"{case_id}.toml"
        # surrogate escapes stand for raw bytes that are not UTF-8
        path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
        return path
    return Case(case_id, write, line, tuple(argv))


def mutations(spec: Path) -> list[Case]:
    """Line-level mutations of one shipped spec, each with the line of its mistake."""
    text = spec.read_text(encoding="utf-8")
    lines = text.split("\n")
    stem = spec.stem
    out: list[Case] = []

    def replaced(number: int, new: str) -> str:
        return "\n".join(lines[:number - 1] + [new] + lines[number:])

    first_of = {}
    for number, line, _, _ in _lines(text):
        header = HEADER.match(line)
        if header:
            first_of.setdefault(header.group(2).split(".")[0], number)
    for k, (number, line, table, kv) in enumerate(_lines(text)):
        found: list[tuple[str, str, int]] = []  # (label, new line(s), line of the mistake)
        if kv is not None and _one_line_value(kv.group(4)):
            indent, key, eq, value = kv.groups()
            found += [(label, f"{indent}{key}{eq}{new}", number)
                      for label, new in _value_mutations(value)]
            found.append(("no-equals", f"{indent}{key} {value}", number))
            found.append(("twice", f"{line}\n{line}", number + 1))
            if key == "seeds":
                found.append(("many-seeds", f"{indent}seeds = 1000000000000", number))
            if FIELD_TABLES.match(table) and key != "kind":
                found.append(("misspelt-key", f"{indent}{key.strip(chr(34))}x{eq}{value}",
                              number))
        header = HEADER.match(line)
        if header and header.group(4) is None:
            open_, name, close = header.group(1), header.group(2), header.group(3)
            first = name.split(".")[0]
            found.append(("open-header", f"{open_}{name}", number))
            if first_of[first] == number:  # a later [data.x] would not be the first 'datax'
                found.append(("misspelt-table", f"{open_}{first}x{name[len(first):]}{close}",
                              number))
        # every STRIDE-th mutation, rotating with the line: every kind and every line is
        # covered across the specs while the corpus stays in the hundreds
        out += [_text_case(f"{stem}-L{number}-{label}", replaced(number, new), at)
                for j, (label, new, at) in enumerate(found) if (j + k) % STRIDE == 0]
    return out


def _spec_line(text: str) -> int:
    return text.split("\n").index("[spec]") + 1


def file_level(spec: Path) -> list[Case]:
    """Whole-file damage to one shipped spec: size, bases that are not files, a BOM."""
    text = spec.read_text(encoding="utf-8")
    stem = spec.stem
    at = _spec_line(text)
    out = []
    junk = text + "\n[junk]\n" + "".join(f"key{i} = {i}\n" for i in range(MAX_SPEC_BYTES // 10))
    out.append(_text_case(f"{stem}-too-large", junk, line_at(junk.encode(), MAX_SPEC_BYTES)))
    out.append(_text_case(f"{stem}-bom", "\ufeff" + text, 1))
    lines = text.split("\n")
    for base in ("extends-dot", "extends-folder", "extends-fifo", "extends-dangling",
                 "extends-loop", "extends-missing"):
        target = {"extends-dot": "."}.get(base, f"_{base}.toml")
        # the spec's own extends (if any) is replaced: TOML forbids a key twice
        body = [ln for ln in lines if not ln.startswith("extends =")]
        body.insert(body.index("[spec]") + 1, f'extends = "{target}"')
        out.append(_text_case(f"{stem}-{base}", "\n".join(body), at + 1))
    return out


def prepare_bases(folder: Path) -> None:
    """The shipped bases and the odd files that extends cases name, in `folder`."""
    for base in SPECS.glob("_*.toml"):
        (folder / base.name).write_text(base.read_text())
    (folder / "_extends-folder.toml").mkdir()
    os.mkfifo(folder / "_extends-fifo.toml")
    os.symlink("_nowhere.toml", folder / "_extends-dangling.toml")
    os.symlink("_extends-loop2.toml", folder / "_extends-loop.toml")
    os.symlink("_extends-loop.toml", folder / "_extends-loop2.toml")


def file_types() -> list[Case]:
    """The spec path itself is not a regular file."""
    def folder_named_toml(folder: Path) -> Path:
        (folder / "ft-dir.toml").mkdir()
        return folder / "ft-dir.toml"

    def fifo(folder: Path) -> Path:
        os.mkfifo(folder / "ft-fifo.toml")
        return folder / "ft-fifo.toml"

    def dangling(folder: Path) -> Path:
        os.symlink("ft-nowhere.toml", folder / "ft-dangling.toml")
        return folder / "ft-dangling.toml"

    def loop(folder: Path) -> Path:
        os.symlink("ft-loop2.toml", folder / "ft-loop.toml")
        os.symlink("ft-loop.toml", folder / "ft-loop2.toml")
        return folder / "ft-loop.toml"

    def empty(folder: Path) -> Path:
        (folder / "ft-empty.toml").write_bytes(b"")
        return folder / "ft-empty.toml"

    return [Case("ft-dir", folder_named_toml, None), Case("ft-fifo", fifo, None),
            Case("ft-dangling", dangling, None), Case("ft-loop", loop, None),
            Case("ft-empty", empty, None)]


def overrides() -> list[Case]:
    """--set values that no spec may take, on the quickstart."""
    text = (SPECS / "quickstart.toml").read_text()
    return [_text_case(f"set-{k}", text, None, ("--set", arg)) for k, arg in enumerate([
        "train.lr=inf", "train.lr=nan", "spec.extends=_base.toml", "spec.seeds=1000000000000",
        "train.x=" + "[" * 500 + "]" * 500, ".".join(["train"] * 1200) + "=1", "spec.name=../x",
    ])]


def cases() -> list[Case]:
    shipped = sorted(p for p in SPECS.glob("*.toml") if not p.name.startswith("_"))
    out = []
    for spec in shipped:
        out += mutations(spec) + file_level(spec)
    return out + file_types() + overrides()
