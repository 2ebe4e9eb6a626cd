"""Limits on what a spec may be, so that hostile or broken input fails in well under a second
with one problem at a line, instead of exhausting recursion, memory or time further down.

The limits sit far above anything an experiment needs (the largest shipped spec is 5 KB, nests 6
levels, extends one base and has 2,000 cells at 10 seeds) and are listed in
docs/spec-language.md ("Limits").
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterator

from dsl.errors import Problem

MAX_SPEC_BYTES = 1 << 20    # one spec file (a base counts on its own)
MAX_NESTING = 32            # tables, arrays and dotted-key parts inside one another
MAX_EXTENDS_DEPTH = 16      # a spec -> its base -> that base's base ...
MAX_SPEC_FILES = 64         # files read for one spec, with every base (a diamond counts twice)
MAX_SEEDS = 10_000          # seeds = N, or a list of at most N seeds
MAX_SEED_VALUE = 2 ** 32 - 1  # torch and numpy take seeds up to 64 bits; ours get offsets
MAX_CELLS = 100_000         # seeds x the factor grid before `exclude`


def line_at(text: str | bytes, offset: int) -> int:
    """The 1-based line of a character (or byte) offset."""
    return text.count("\n" if isinstance(text, str) else b"\n", 0, offset) + 1


def size_problem(raw: bytes, file: str, size: int) -> Problem | None:
    """A file over MAX_SPEC_BYTES (`raw`: its first bytes, `size`: all of them), at the line
    where it passes the limit."""
    if len(raw) <= MAX_SPEC_BYTES:
        return None
    return Problem(file, line_at(raw, MAX_SPEC_BYTES), "",
                   f"the file is larger than a spec may be ({max(size, len(raw)):,} bytes; "
                   f"at most {MAX_SPEC_BYTES:,})",
                   "a spec describes an experiment in a few KB: sweep values with [factors] "
                   "rather than writing them out")


def decode(raw: bytes, file: str) -> str:
    """UTF-8 text of a spec, else a SpecError at the line (and column) of the first bad byte."""
    from dsl.errors import SpecError

    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        start = raw.rfind(b"\n", 0, err.start) + 1
        column = len(raw[start:err.start].decode("utf-8", errors="replace")) + 1
        raise SpecError([Problem(file, line_at(raw, err.start), "",
                                 f"not UTF-8 text (byte 0x{raw[err.start]:02x} at column "
                                 f"{column}): a spec is a TOML file", "save it as UTF-8")]
                        ) from None


# A character that can open or close nesting, start a string or a comment, or end a line.
_SPECIAL = re.compile(r"[\[\]{}\"'#\n]")


def brackets(text: str) -> Iterator[tuple[str, int]]:
    """(character, index) of every bracket outside strings and comments, in order, and
    ("unterminated", index) for a string that its line (or the text) ends before it closes.
    Linear, and it never recurses."""
    i, n = 0, len(text)
    while True:
        m = _SPECIAL.search(text, i)
        if m is None:
            return
        i, ch = m.start(), m.group()
        if ch in "[]{}":
            yield ch, i
            i += 1
        elif ch == "#":
            i = _end_of_line(text, i)
        elif ch == "\n":
            i += 1
        else:
            end = _string_end(text, i, n)
            if end < 0:
                yield "unterminated", i
                end = _end_of_line(text, i)
            i = end


def bracket_overflow(text: str) -> int | None:
    """The line where arrays and inline tables first nest deeper than MAX_NESTING, or None: run
    before anything that recurses on nesting (the TOML parser, the position scanner)."""
    depth = 0
    for ch, i in brackets(text):
        if ch in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return line_at(text, i)
        elif ch in "]}":
            depth = max(0, depth - 1)
    return None


def _end_of_line(text: str, i: int) -> int:
    end = text.find("\n", i)
    return len(text) if end < 0 else end


def _string_end(text: str, i: int, n: int) -> int:
    """The index after the string starting at i, or -1 when it does not close (a one-line
    string at its line's end, a multi-line one at the end of the text)."""
    quote = text[i]
    if text.startswith(quote * 3, i):
        k = i + 3
        while True:
            k = text.find(quote * 3, k)
            if k < 0:
                return -1
            if quote == "'" or not _escaped(text, k):
                return k + 3
            k += 1
    k = i + 1
    while k < n and text[k] != quote and text[k] != "\n":
        k += 2 if quote == '"' and text[k] == "\\" else 1
    return k + 1 if k < n and text[k] == quote else -1


def _escaped(text: str, k: int) -> bool:
    count = 0
    while k - 1 - count >= 0 and text[k - 1 - count] == "\\":
        count += 1
    return count % 2 == 1


def dotted_overflow(text: str) -> int | None:
    """The first line whose key has more than MAX_NESTING dotted parts (a crude count of dots
    before '=' or inside a header), or None: where a parser that gave up on a long key was."""
    for number, line in enumerate(text.splitlines(), 1):
        head = line.split("=", 1)[0] if "=" in line else line if line.lstrip()[:1] == "[" else ""
        if head.count(".") >= MAX_NESTING:
            return number
    return None


def entries(data: Any) -> Iterator[tuple[tuple, Any, Any]]:
    """(path of the container, key or index, value) of every value inside a parsed document,
    iteratively: a document too deep for recursion must still be measurable. Paths are made
    per container, not per value (a factor can hold 100k values)."""
    stack: list[tuple[Any, tuple]] = [(data, ())] if isinstance(data, (dict, list)) else []
    while stack:
        node, path = stack.pop()
        for k, v in node.items() if isinstance(node, dict) else enumerate(node):
            if isinstance(v, (dict, list)):
                stack.append((v, path + (k,)))
            yield path, k, v


def deepest(data: Any) -> tuple[int, tuple]:
    """(depth, path) of the deepest value in a parsed document."""
    best: tuple[int, tuple] = (0, ())
    for path, key, _ in entries(data):
        if len(path) + 1 > best[0]:
            best = (len(path) + 1, path + (key,))
    return best


def nesting_message(depth: int | None = None) -> tuple[str, str]:
    more = f" ({depth} levels)" if depth else ""
    return (f"nested deeper than a spec may be{more}; at most {MAX_NESTING} levels of tables, "
            "arrays and dotted keys",
            "a spec needs a handful of levels: flatten this value")


def non_finite(data: Any) -> Iterator[tuple]:
    """The paths of inf and nan values: no field of the language means an infinite or undefined
    number, and a job's identity cannot hash one."""
    for path, key, value in entries(data):
        if isinstance(value, float) and not math.isfinite(value):
            yield path + (key,)


def document_problems(doc) -> list[Problem]:
    """Limits of a merged `dsl.load.Document` (bases and --set included): nesting, non-finite
    numbers, seeds and cells. Nesting comes alone: what follows would recurse into it."""
    depth, path = deepest(doc.data)
    if depth > MAX_NESTING:
        return [doc.problem(path[:MAX_NESTING + 1], *nesting_message(depth))]
    problems = [doc.problem(p, f"{doc_value(doc.data, p)} is not a finite number",
                            "no field takes inf or nan: write a finite number")
                for p in sorted(non_finite(doc.data), key=repr)]
    seeds = _seed_problems(doc)
    problems += seeds
    cells = cell_bound(doc.data)
    if cells > MAX_CELLS and not seeds:
        at = ("factors",) if isinstance(doc.data.get("factors"), dict) else ("spec", "seeds")
        problems.append(doc.problem(at, f"{cells:,} cells (seeds x the factor grid); "
                                    f"a spec may have at most {MAX_CELLS:,}",
                                    "split it into several specs, or sweep fewer values"))
    return problems


def stops_validation(problem: Problem) -> bool:
    """Problems after which validating further would recurse too deep or take long."""
    return problem.message.startswith("nested deeper") or " cells (seeds x" in problem.message \
        or problem.path == "spec.seeds" and " seeds; " in problem.message


def doc_value(data: Any, path: tuple) -> Any:
    for part in path:
        data = data[part]
    return data


def _seed_problems(doc) -> list[Problem]:
    seeds = doc.data.get("spec", {}).get("seeds") if isinstance(doc.data.get("spec"), dict) \
        else None
    path = ("spec", "seeds")
    if isinstance(seeds, int) and not isinstance(seeds, bool) and seeds > MAX_SEEDS:
        return [doc.problem(path, f"{seeds:,} seeds; a spec may have at most {MAX_SEEDS:,}",
                            "a few seeds (the paper uses 10) give the spread over seeds")]
    if not isinstance(seeds, list):
        return []
    if len(seeds) > MAX_SEEDS:
        return [doc.problem(path, f"{len(seeds):,} seeds; a spec may have at most "
                            f"{MAX_SEEDS:,}")]
    return [doc.problem(path + (k,), f"seed {s:,} is larger than {MAX_SEED_VALUE:,}",
                        "seeds are small non-negative integers")
            for k, s in enumerate(seeds)
            if isinstance(s, int) and not isinstance(s, bool) and s > MAX_SEED_VALUE]


def cell_bound(data: dict) -> int:
    """Seeds x the size of the factor grid before `exclude` (zip groups count once), from a raw
    document whose values may still be wrong (those count as one value)."""
    spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
    seeds = spec.get("seeds", 1)
    count = len(seeds) if isinstance(seeds, list) else seeds if isinstance(seeds, int) and \
        not isinstance(seeds, bool) and seeds > 0 else 1
    factors = data.get("factors") if isinstance(data.get("factors"), dict) else {}
    lengths = {k: len(v) for k, v in factors.items()
               if k not in ("zip", "exclude") and isinstance(v, list) and v}
    zips = factors.get("zip") if isinstance(factors.get("zip"), list) else []
    for group in zips:
        names = [n for n in group if isinstance(n, str) and n in lengths] \
            if isinstance(group, list) else []
        for name in names[1:]:  # a zipped group varies together: its first factor counts
            lengths.pop(name, None)
    for n in lengths.values():
        count *= n
    return count
