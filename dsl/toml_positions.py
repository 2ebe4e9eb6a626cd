"""TOML text -> (document, where each key was written), so every problem can name its line.

tomli parses the values (and reports syntax errors with their line); a small scanner over the
same text records the line of every key path: table headers `[a.b]`, arrays of tables `[[a]]`
(with their index), bare/quoted/dotted keys, inline tables and (multi-line) arrays. The scanner
runs only on text tomli accepted, so it can skip values without validating them.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Any

import tomli

from dsl import limits
from dsl.errors import Problem, SpecError

KeyPath = tuple  # of str (table keys) and int (array indices)


@dataclass
class Positions:
    """Line numbers of key paths in one file, e.g. ("probe", 1, "task") -> 31."""

    file: str
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, path: KeyPath) -> int | None:
        """The line of `path`, else of its nearest written parent (None if nothing matches)."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None

    def has(self, path: KeyPath) -> bool:
        return tuple(path) in self.lines


def parse_toml(text: str, file: str) -> tuple[dict[str, Any], Positions]:
    """Parse TOML text; a syntax error (duplicate keys included) becomes a SpecError with a line."""
    deep_line = limits.bracket_overflow(text)  # before anything that recurses on nesting
    if deep_line is not None:
        raise SpecError([Problem(file, deep_line, "", *limits.nesting_message())])
    try:
        doc = tomli.loads(text)
    except tomli.TOMLDecodeError as err:
        message = getattr(err, "msg", None) or str(err).split(" (at ")[0]
        line = getattr(err, "lineno", None) or _line_from_message(str(err))
        if getattr(err, "pos", None) is not None:
            line, opened = mistake_line(text, message, err.pos, line)
            message += f" (opened on line {opened})" if opened and opened != line else ""
        raise SpecError([Problem(file, line, "", f"invalid TOML: {message}",
                                 _toml_hint(message, text, line))]) from None
    except RecursionError:  # a key of a thousand dotted parts
        raise SpecError([Problem(file, limits.dotted_overflow(text), "",
                                 *limits.nesting_message())]) from None
    depth, path = limits.deepest(doc)
    if depth > limits.MAX_NESTING:
        # one long dotted key, else a header and a dotted key that together go too deep (each
        # line's key is short then, so scanning positions is cheap)
        line = limits.dotted_overflow(text) or scan_positions(text, file).line_of(
            path[:limits.MAX_NESTING + 1])
        raise SpecError([Problem(file, line, "", *limits.nesting_message(depth))])
    return doc, scan_positions(text, file)


# The start of a `key = value` line or a [table] header.
_STATEMENT = re.compile(r"""\s*(\[|[A-Za-z0-9_-]+\s*[=.]|"[^"\n]*"\s*[=.]|'[^'\n]*'\s*[=.])""")


def mistake_line(text: str, message: str, pos: int, line: int) -> tuple[int, int | None]:
    """(line of the mistake, line of the bracket it left open) behind a TOML syntax error that
    the parser noticed later: a string left open (noticed at the end of the text), or an
    array or inline table that a line before should have closed or continued with a comma
    (noticed at the next line, e.g. after a '#' that commented out its ']' or '}'). An inline
    table is one line in TOML 1.0: its mistake is on the line that opened it."""
    opened: list[tuple[str, int]] = []
    for ch, i in limits.brackets(text):
        if i >= pos:
            break
        if ch == "unterminated":
            return min(line, limits.line_at(text, i)), None
        if ch in "[{":
            opened.append((ch, i))
        elif ch in "]}" and opened:
            opened.pop()
    start = text.rfind("\n", 0, pos) + 1
    if not opened or text[start:pos].strip():
        return line, None
    bracket, at = opened[-1]
    opened_line = limits.line_at(text, at)
    if opened_line >= line or not (message.startswith("Unclosed") or pos >= len(text)
                                   or _STATEMENT.match(text, start)):
        return line, None
    if bracket == "{":
        return opened_line, opened_line
    return _previous_content_line(text, start), opened_line


def _previous_content_line(text: str, start: int) -> int:
    """The line before the one starting at `start` that holds more than space and comments."""
    lines = text[:start].split("\n")
    for k in range(len(lines) - 1, -1, -1):
        if lines[k].split("#")[0].strip():
            return k + 1
    return 1


def _toml_hint(message: str, text: str, line: int | None) -> str | None:
    """A fix for the TOML mistakes people make most: a key or table written twice, a bare word."""
    row = text.splitlines()[line - 1].strip() if line and line <= len(text.splitlines()) else ""
    if message.startswith("Cannot overwrite") and "=" in row:
        key = row.split("=")[0].strip()
        return f"'{key}' is set twice in one table (or in a table given twice); keep one"
    name = row.split("#")[0].strip().strip("[] ")
    if row.startswith("[") and name and f"[[{name}]]" in text and \
            any(ln.strip().split("#")[0].strip() == f"[{name}]" for ln in text.splitlines()):
        return f"[{name}] and [[{name}]] are both used: write every {name} as [[{name}]] " \
            "(an array of tables)"
    if message.startswith("Cannot declare"):
        return f"{row or 'this table'} appears twice; merge the two into one " \
            "(write [[...]] for an array of tables)"
    if message == "Invalid value" and "=" in row:
        return "strings need quotes: key = \"text\""
    return None


def _line_from_message(text: str) -> int | None:
    marker = "at line "
    if marker in text:
        digits = text.split(marker, 1)[1].split(",")[0].split(")")[0]
        return int(digits) if digits.isdigit() else None
    return None


def scan_positions(text: str, file: str = "<text>") -> Positions:
    return Positions(file, _Scanner(text).run())


_SCALAR_END = re.compile(r"[,\]}\n#]")
_SPACE = re.compile(r"[ \t\r]*")
# an array item on the line where it starts: a bare scalar or a one-line string without escapes,
# then a comma (the whitespace before it holds no newline, so the item is on the current line)
_SIMPLE_ITEM = re.compile(r"""[ \t]*(?:[-+0-9A-Za-z_.:]+|"[^"\\\n]*"|'[^'\n]*')[ \t]*,""")
_SPACE_LINES = re.compile(r"(?:[ \t\r\n]+|#[^\n]*)*")
_BARE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class _Scanner:
    def __init__(self, text: str):
        self.s = text
        self.i = 0
        self.newlines = [m.start() for m in re.finditer("\n", text)]
        self.lines: dict[KeyPath, int] = {}
        # next index of each array of tables, keyed by its resolved path
        self.aot: dict[KeyPath, int] = {}

    # --- helpers -------------------------------------------------------------------------
    def line(self) -> int:
        return bisect.bisect_left(self.newlines, self.i) + 1

    def peek(self, n: int = 1) -> str:
        return self.s[self.i:self.i + n]

    def record(self, path: KeyPath, line: int) -> None:
        # implicit parents (a dotted key, [a.b] before [a]) take the line where first seen
        for k in range(1, len(path)):
            self.lines.setdefault(path[:k], line)
        self.lines.setdefault(path, line)

    def skip_space(self, newlines: bool = False) -> None:
        # one regular expression per call: a 100k-value factor is 100k calls
        self.i = (_SPACE_LINES if newlines else _SPACE).match(self.s, self.i).end()

    def skip_comment(self) -> None:
        end = self.s.find("\n", self.i)
        self.i = len(self.s) if end < 0 else end

    # --- structure -----------------------------------------------------------------------
    def run(self) -> dict[KeyPath, int]:
        table: KeyPath = ()
        while True:
            self.skip_space(newlines=True)
            if self.i >= len(self.s):
                return self.lines
            line = self.line()
            if self.peek(2) == "[[":
                self.i += 2
                key = self.key()
                self.skip_space()
                self.i += 2  # "]]"
                array = self.resolve(key[:-1]) + (key[-1],)
                index = self.aot.get(array, -1) + 1
                self.aot[array] = index
                table = array + (index,)
                self.record(table, line)
            elif self.peek() == "[":
                self.i += 1
                table = self.resolve(self.key())
                self.skip_space()
                self.i += 1  # "]"
                self.record(table, line)
            else:
                key = self.key()
                self.skip_space()
                self.i += 1  # "="
                self.record(table + key, line)
                self.value(table + key)
            self.skip_space()
            if self.peek() == "#":
                self.skip_comment()

    def resolve(self, key: KeyPath) -> KeyPath:
        """A header's key with the current index of every array of tables it passes through."""
        out: KeyPath = ()
        for part in key:
            out += (part,)
            if out in self.aot:
                out += (self.aot[out],)
        return out

    def key(self) -> KeyPath:
        parts: list[str] = []
        while True:
            self.skip_space()
            ch = self.peek()
            if ch == '"':
                parts.append(self.basic_string_key())
            elif ch == "'":
                end = self.s.index("'", self.i + 1)
                parts.append(self.s[self.i + 1:end])
                self.i = end + 1
            else:
                start = self.i
                while self.i < len(self.s) and self.s[self.i] in _BARE:
                    self.i += 1
                parts.append(self.s[start:self.i])
            self.skip_space()
            if self.peek() != ".":
                return tuple(parts)
            self.i += 1

    def basic_string_key(self) -> str:
        k = self.i + 1
        while self.s[k] != '"':
            k += 2 if self.s[k] == "\\" else 1
        raw = self.s[self.i:k + 1]
        self.i = k + 1
        return tomli.loads(f"k = {raw}")["k"]  # exact TOML escape rules

    # --- values --------------------------------------------------------------------------
    def value(self, path: KeyPath) -> None:
        self.skip_space()
        ch = self.peek()
        if ch == "{":
            self.inline_table(path)
        elif ch == "[":
            self.array(path)
        elif self.peek(3) in ('"""', "'''"):
            quote = self.peek(3)
            end = self.i + 3
            while True:
                end = self.s.index(quote, end)
                if quote == '"""' and self._escaped(end):
                    end += 1
                    continue
                break
            # a closing delimiter may be followed by up to two more quotes that belong to the text
            end += 3
            while self.s[end:end + 1] == quote[0]:
                end += 1
            self.i = end
        elif ch == '"':
            k = self.i + 1
            while self.s[k] != '"':
                k += 2 if self.s[k] == "\\" else 1
            self.i = k + 1
        elif ch == "'":
            self.i = self.s.index("'", self.i + 1) + 1
        else:  # number, bool, date-time: runs to a delimiter
            end = _SCALAR_END.search(self.s, self.i)
            self.i = end.start() if end else len(self.s)

    def _escaped(self, k: int) -> bool:
        backslashes = 0
        while self.s[k - 1 - backslashes] == "\\":
            backslashes += 1
        return backslashes % 2 == 1

    def inline_table(self, path: KeyPath) -> None:
        self.i += 1  # "{"
        while True:
            self.skip_space(newlines=True)  # TOML 1.1 allows newlines inside inline tables
            if self.peek() == "}":
                self.i += 1
                return
            if self.peek() == ",":
                self.i += 1
                continue
            line = self.line()
            key = self.key()
            self.skip_space()
            self.i += 1  # "="
            self.record(path + key, line)
            self.value(path + key)

    def array(self, path: KeyPath) -> None:
        self.i += 1  # "["
        index = 0
        while True:
            simple = _SIMPLE_ITEM.match(self.s, self.i)
            if simple:  # a number or plain string and its comma: one step (100k-value factors)
                self.lines.setdefault(path + (index,), self.line())
                self.i = simple.end()
                index += 1
                continue
            self.skip_space(newlines=True)
            if self.peek() == "]":
                self.i += 1
                return
            if self.peek() == ",":
                self.i += 1
                continue
            self.lines.setdefault(path + (index,), self.line())  # parents are recorded
            self.value(path + (index,))
            index += 1
