"""Whole-document checks: references between sections, factors, reports.

pydantic checks each field on its own; these checks need the whole spec (does `train.task` name
a task? is "{k}" a factor? does the report's value name a probe?). They run on the raw merged
document, skipping values of the wrong type (validation reports those), so one pass finds every
problem. Draw feasibility (sizes, cycles) is the draw resolver's (`dsl.draws`).
Longer than 400 lines: one check per cross-reference the language allows, all walking the same
raw document.
"""

from __future__ import annotations

import itertools
import re
from typing import Any, Iterator

from dsl import catalog, data_kinds
from dsl.claims import _show, check_claims
from dsl.errors import Problem, did_you_mean
from dsl.factors import text as factor_text
from dsl.spec import (BUILTIN_DATA, DERIVED_COLUMNS, DRAW_SORTS, FACTOR_NAME, METRICS,
                      PLACEHOLDER_RE, TRANSFORM_WORDS, Spec, is_placeholder)

RESERVED_FACTOR_KEYS = ("zip", "exclude")
# Names a factor may not take: they are report dimensions or metric prefixes already.
RESERVED_FACTOR_NAMES = DERIVED_COLUMNS + ("train",)
# Sections where "{factor}" may appear; the others define the grid itself.
PLACEHOLDER_SECTIONS = ("data", "task", "train", "probe")
CHAIN_RE = re.compile(r"^(.+)\[(\d+)\]$")
MAX_SUBSTITUTIONS = 2000  # reference checks try every factor combination up to this many


def check_document(doc) -> list[Problem]:
    """Every whole-document problem of a `dsl.load.Document`."""
    return _Checker(doc).run()


def _table(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def misspelt_factors(key: str) -> bool:
    """Whether a top-level key is a misspelling of the [factors] table (`[factor]`)."""
    return key not in Spec.model_fields and \
        did_you_mean(key, Spec.model_fields) == "did you mean 'factors'?"


def _a(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


def _names(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [v for v in value if isinstance(v, str)] \
        if isinstance(value, list) else []


# How to get what a factor in a grid-defining section was meant to do.
_PLACEHOLDER_FIX = {
    "draw": "declare one draw per level (objs_2 = { objects = 2 }, objs_3 = { objects = 3 }) "
            "and sweep the draw names: a factor objs = [\"objs_2\", \"objs_3\"] and "
            "objects = \"{objs}\" in the data",
    "report": "reports read factors by name: rows = \"NAME\", filter = { NAME = value }",
}

class _Checker:
    def __init__(self, doc):
        self.doc = doc
        self.data = doc.data
        self.problems: list[Problem] = []
        factors = _table(self.data.get("factors"))
        self.factors = {k: v for k, v in factors.items()
                        if k not in RESERVED_FACTOR_KEYS and isinstance(v, list)}
        # factors whose values are not a list: the field check reports them; references to
        # them are not "unknown" as well
        self.malformed = {k for k in factors if k not in RESERVED_FACTOR_KEYS} - set(self.factors)
        # ... and so are factors declared in a misspelt [factors] table ([factor]): that table
        # is the one mistake, reported as an unknown key that names them
        self.malformed |= {name for key, table in self.data.items()
                           if isinstance(table, dict) and misspelt_factors(key)
                           for name in table}
        self.draws = {k: v for k, v in _table(self.data.get("draw")).items()
                      if isinstance(v, dict)}
        self.datasets = _table(self.data.get("data"))
        self.tasks = _table(self.data.get("task"))
        self.probes = [p for p in self.data.get("probe", []) if isinstance(p, dict)] \
            if isinstance(self.data.get("probe"), list) else []

    def add(self, path, message, suggestion=None) -> None:
        self.problems.append(self.doc.problem(path, message, suggestion))

    def run(self) -> list[Problem]:
        self.check_factors()
        self.check_placeholders()
        self.check_draws()
        for name, d in self.datasets.items():
            self.check_data(("data", name), d)
        self.check_data_cycles()
        for name, t in self.tasks.items():
            if isinstance(t, dict):
                self.check_task(("task", name), t)
        self.check_train()
        self.check_probes()
        self.check_reports()
        check_claims(self)
        return self.problems

    # --- factors ---------------------------------------------------------------------------
    def check_factors(self) -> None:
        factors = _table(self.data.get("factors"))
        for name, values in self.factors.items():
            path = ("factors", name)
            if not re.fullmatch(FACTOR_NAME, name):
                self.add(path, f"factor name '{name}' must be an identifier (letters, digits, _)")
            if name in RESERVED_FACTOR_NAMES:
                self.add(path, f"'{name}' is a report column already; name the factor otherwise")
        zips = factors.get("zip", [])
        zipped = [g for g in (zips if isinstance(zips, list) else []) if isinstance(g, list)]
        for name, values in self.factors.items():
            # a zipped factor may repeat values: its group's tuples must be distinct instead
            if not any(name in g for g in zipped):
                self.check_distinct(("factors", name), [(v,) for v in values],
                                    f"factor '{name}' repeats the value")
        for g, group in enumerate(zipped):
            names = [n for n in group if isinstance(n, str) and n in self.factors]
            rows = list(zip(*(self.factors[n] for n in names)))
            if len(names) > 1:
                self.check_distinct(("factors", names[0]), rows,
                                    f"zip group ({', '.join(names)}) repeats the values")
        grouped: dict[str, int] = {}
        for g, group in enumerate(zips if isinstance(zips, list) else []):
            if not isinstance(group, list):
                continue
            lengths = {}
            for k, name in enumerate(group):
                if not isinstance(name, str):
                    continue
                if name in self.malformed:
                    continue
                if name not in self.factors:
                    self.add(("factors", "zip", g, k), f"zip names unknown factor '{name}'",
                             did_you_mean(name, self.factors))
                    continue
                if name in grouped:
                    self.add(("factors", "zip", g, k),
                             f"factor '{name}' is in two zip groups ({grouped[name] + 1} and "
                             f"{g + 1})")
                grouped[name] = g
                lengths[name] = len(self.factors[name])
            if len(set(lengths.values())) > 1:
                listing = ", ".join(f"{n} has {m}" for n, m in lengths.items())
                self.add(("factors", "zip", g), f"zipped factors need equal lengths: {listing}")
        excludes = factors.get("exclude", [])
        for e, rule in enumerate(excludes if isinstance(excludes, list) else []):
            for name, value in _table(rule).items():
                path = ("factors", "exclude", e, name)
                if name in self.malformed:
                    continue
                if name not in self.factors:
                    self.add(path, f"exclude names unknown factor '{name}'",
                             did_you_mean(name, self.factors))
                elif value not in self.factors[name] or isinstance(value, bool) != any(
                        isinstance(v, bool) and v == value for v in self.factors[name]):
                    self.add(path, f"factor '{name}' has no value {_show(value)}",
                             did_you_mean(str(value), [str(v) for v in self.factors[name]])
                             or f"its values: {', '.join(map(_show, self.factors[name]))}")

    def check_distinct(self, path, rows: list[tuple], message: str) -> None:
        seen: set[tuple] = set()  # a set: a factor of 100k values is checked in linear time
        for k, row in enumerate(rows):
            key = tuple((type(v).__name__, v) for v in row)
            try:
                hash(key)
            except TypeError:  # a list or table where a scalar belongs (validation says so)
                key = repr(key)
            if key in seen:
                shown = ", ".join(_show(v) for v in row)
                self.add(path + (k,), f"{message} {shown}", "each value (cell) only once")
            seen.add(key)

    # --- placeholders ----------------------------------------------------------------------
    def check_placeholders(self) -> None:
        for section, value in self.data.items():
            for path, text in _strings((section,), value):
                for name in PLACEHOLDER_RE.findall(text):
                    if section not in PLACEHOLDER_SECTIONS:
                        self.add(path, f"'{{{name}}}': factors cannot be used in [{section}]",
                                 _PLACEHOLDER_FIX.get(section))
                    elif name not in self.factors and name not in self.malformed:
                        self.add(path, f"unknown factor '{{{name}}}'",
                                 did_you_mean(name, self.factors)
                                 or f"declare it under [factors] ({name} = [...])"
                                 + (f"; factors: {', '.join(self.factors)}" if self.factors
                                    else ""))

    def substitutions(self, text: str) -> Iterator[tuple[str, str]]:
        """(value, how) for every factor combination a reference string can take."""
        names = [n for n in dict.fromkeys(PLACEHOLDER_RE.findall(text)) if n in self.factors]
        if not names:
            if not PLACEHOLDER_RE.search(text):
                yield text, ""
            return
        combos = itertools.product(*(self.factors[n] for n in names))
        for combo in itertools.islice(combos, MAX_SUBSTITUTIONS):
            out = text
            for n, v in zip(names, combo):
                out = out.replace("{" + n + "}", factor_text(v))  # as the resolver does
            how = ", ".join(f"{n} = {_show(v)}" for n, v in zip(names, combo))
            yield out, f" (with {how}{self.set_by(names)})"

    def set_by(self, names) -> str:
        """"; from --set ..." when these factors' values come from the command line: the
        problem is then there, not on the spec line that uses them."""
        sources = dict.fromkeys(self.doc.locate(("factors", n))[0] for n in names)
        sets = [f for f in sources if f.startswith("--set")]
        return f"; from {', '.join(sets)}" if sets else ""

    def values_of(self, value: Any) -> Iterator[tuple[Any, str]]:
        """A field's possible values: itself, or each factor value for an exact placeholder."""
        if is_placeholder(value):
            name = value[1:-1]
            for v in self.factors.get(name, []):
                yield v, f" (with {name} = {_show(v)}{self.set_by([name])})"
        elif isinstance(value, str):
            yield from self.substitutions(value)
        else:
            yield value, ""

    # --- draws -----------------------------------------------------------------------------
    def check_draws(self) -> None:
        for name, d in self.draws.items():
            path = ("draw", name)
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", name):
                self.add(path, f"draw name '{name}' must be an identifier (letters, digits, _, -)")
            sort = _sort(d)
            refs = [("disjoint_from", k, r) for k, r in enumerate(_names(d.get("disjoint_from")))]
            if isinstance(d.get("disjoint_from"), str):
                refs = [("disjoint_from", None, d["disjoint_from"])]
            for key in ("from", "includes"):
                if isinstance(d.get(key), str):
                    refs.append((key, None, d[key]))
            for key, k, ref in refs:
                rpath = path + ((key,) if k is None else (key, k))
                if PLACEHOLDER_RE.search(ref):
                    continue  # reported by check_placeholders
                if ref not in self.draws:
                    self.add(rpath, f"unknown draw '{ref}'",
                             did_you_mean(ref, [n for n in self.draws if n != name]))
                    continue
                other = self.draws[ref]
                if sort and _sort(other) and _sort(other) != sort:
                    self.add(rpath, f"a {sort} draw cannot be {key} '{ref}', a {_sort(other)} "
                             "draw")
                elif sort == "classes" and other.get("of") != d.get("of"):
                    self.add(rpath, f"draw '{ref}' is of {other.get('of')}, this one of "
                             f"{d.get('of')}")
                if ref == name:
                    self.add(rpath, f"draw '{name}' refers to itself")

        self.check_draw_cycles()
        for name, d in self.draws.items():
            self.check_draw_size(("draw", name), d)

    def draw_refs(self, d: dict) -> list[str]:
        refs = _names(d.get("disjoint_from")) + _names(d.get("includes"))
        return refs + ([d["from"]] if isinstance(d.get("from"), str) else [])

    def check_draw_cycles(self) -> None:
        """Draws resolve in dependency order, so from/includes/disjoint_from may not loop."""
        reported: set[frozenset] = set()

        def visit(name: str, trail: tuple[str, ...]) -> None:
            for ref in self.draw_refs(self.draws[name]):
                if ref not in self.draws or ref == name:
                    continue  # reported as unknown / self reference
                if ref in trail:
                    cycle = trail[trail.index(ref):] + (ref,)
                    if frozenset(cycle) not in reported:
                        reported.add(frozenset(cycle))
                        self.add(("draw", cycle[0]), "draws depend on each other in a cycle: "
                                 + " -> ".join(cycle))
                elif len(trail) <= len(self.draws):
                    visit(ref, trail + (ref,))

        for name in self.draws:
            visit(name, (name,))

    def check_draw_size(self, path, d: dict) -> None:
        """Draws that cannot be satisfied whatever the seed (the exact check is dsl.draws')."""
        sort = _sort(d)
        n = d.get(sort) if sort else None
        if not isinstance(n, int) or isinstance(n, bool):
            return
        of = d.get("of") if isinstance(d.get("of"), str) else None
        pool = {"objects": len(catalog.OBJECT_NAMES), "transforms": len(catalog.TRANSFORMS),
                "patterns": catalog.N_PATTERNS}.get(sort) or catalog.CIFAR_CLASSES.get(of, 0)
        source = d.get("from")
        if isinstance(source, list):
            pool = len({repr(x) for x in source})
        elif isinstance(source, str) and _size(self.draws.get(source)) is not None:
            pool = _size(self.draws[source])
        what = f"{n} {sort}"
        if pool and n > pool:
            self.add(path + (sort,), f"cannot draw {what} out of {pool}; draw at most {pool}")
            return
        for ref in _names(d.get("disjoint_from")):
            size = _size(self.draws.get(ref))
            if size is not None and pool and n + size > pool:
                left = max(pool - size, 0)
                self.add(path + ("disjoint_from",), f"cannot draw {what} disjoint from "
                         f"'{ref}' ({size}): {pool} in all leaves {left}; draw at most {left}")
        base = d.get("includes")
        size = _size(self.draws.get(base)) if isinstance(base, str) else None
        if size is not None and n < size:
            self.add(path + ("includes",), f"{what} cannot include all {size} of '{base}'")

    def draw_of(self, name: str, sort: str) -> str | None:
        """Why `name` is not a draw of this sort (None if it is)."""
        if name not in self.draws:
            return f"unknown {sort} draw '{name}'"
        found = _sort(self.draws[name])
        if found and found != sort:
            return f"'{name}' is {_a(found)} draw, not {_a(sort)} draw"
        return None

    # --- references ------------------------------------------------------------------------
    def check_transforms_ref(self, path, value, extra=()) -> None:
        """<transforms ref>: name | draw | "none" | "all" | "CHAIN[k]" | list of names/draws;
        `extra`: more names the field takes (augmentation's ops and presets)."""
        if isinstance(value, list):
            seen: dict[str, int] = {}
            for k, item in enumerate(value):
                if isinstance(item, str):
                    self.check_transform_name(path + (k,), item, in_list=True, extra=extra)
                    if item in seen and not is_placeholder(item):
                        # a set: each transform is applied once, whatever the list says
                        self.add(path + (k,), f"'{item}' is listed twice (items {seen[item]} "
                                 f"and {k})", "list each transform once")
                    seen.setdefault(item, k)
        elif isinstance(value, str):
            self.check_transform_name(path, value, in_list=False, extra=extra)

    def check_transform_name(self, path, text: str, in_list: bool, extra=()) -> None:
        for name, how in self.substitutions(text):
            problem = None if name in extra else self.transform_problem(name, in_list)
            if problem:
                self.add(path, problem + how, self.transform_suggestion(name, in_list, extra))
                return

    def transform_suggestion(self, name: str, in_list: bool, extra=()) -> str | None:
        chain = CHAIN_RE.match(name)
        if chain:  # "CHAIN[k]": the fix is the draw's name or the index, never a plain name
            draw, k = chain.group(1), chain.group(2)
            d = self.draws.get(draw)
            if d is None:
                return did_you_mean(name, [f"{n}[{k}]" for n in self.transform_draws()
                                           if self.draws[n].get("nested")])
            n = d.get("transforms")
            if d.get("nested") and isinstance(n, int):
                return f"use an index from 1 to {n}, or draw more: {draw} = {{ transforms = " \
                       f"{k}, nested = true }}"
            return None
        choices = list(catalog.TRANSFORMS) + list(self.transform_draws()) + (
            [] if in_list else list(TRANSFORM_WORDS)) + list(extra)
        return did_you_mean(name, choices)

    def transform_draws(self) -> list[str]:
        return [n for n, d in self.draws.items() if _sort(d) == "transforms"]

    def transform_problem(self, name: str, in_list: bool) -> str | None:
        if name in catalog.TRANSFORMS:
            return None
        if name in TRANSFORM_WORDS:
            return f"'{name}' cannot be a list item" if in_list else None
        chain = CHAIN_RE.match(name)
        if chain:
            draw, k = chain.group(1), int(chain.group(2))
            d = self.draws.get(draw)
            if d is None:
                return f"unknown transforms draw '{draw}' in '{name}'"
            if not d.get("nested"):
                return f"'{name}': draw '{draw}' is not nested (add nested = true)"
            n = d.get("transforms")
            if isinstance(n, int) and k > n:
                return f"'{name}': draw '{draw}' has only {n} transforms"
            return None
        if name in self.draws:
            return self.draw_of(name, "transforms")
        return f"unknown transform or transforms draw '{name}'"

    def check_objects_ref(self, path, value) -> None:
        if not isinstance(value, str):
            return  # a list of object names is checked field by field
        for name, how in self.substitutions(value):
            problem = self.draw_of(name, "objects")
            if problem:
                drawn = [n for n, d in self.draws.items() if _sort(d) == "objects"]
                self.add(path, problem + how, did_you_mean(name, drawn) or (
                    "objects draws: " + ", ".join(drawn) if drawn else
                    "add one under [draw], e.g. objects = { objects = 10 }"))
                return

    def check_draw_ref(self, path, value, sort: str, of: str | None = None) -> None:
        if not isinstance(value, str):
            return
        for name, how in self.substitutions(value):
            problem = self.draw_of(name, sort)
            if problem is None and of and self.draws[name].get("of") != of:
                problem = f"draw '{name}' is of {self.draws[name].get('of')}, the data is {of}"
            if problem:
                self.add(path, problem + how, did_you_mean(
                    name, [n for n, d in self.draws.items() if _sort(d) == sort]))
                return

    def data_kind(self, ref: Any, seen: tuple = ()) -> str | None:
        """The kind a <data ref> resolves to (None when unknown or undecidable)."""
        if isinstance(ref, dict):
            return ref.get("kind") if isinstance(ref.get("kind"), str) else None
        builtin = data_kinds.builtins().get(ref) if isinstance(ref, str) else None
        if builtin is not None and ref not in self.datasets:
            return builtin["kind"]
        if isinstance(ref, str) and ref in self.datasets and ref not in seen:
            return self.data_kind(self.datasets[ref], seen + (ref,))
        return None

    def check_data_ref(self, path, value) -> None:
        if isinstance(value, dict):
            self.check_data(path, value)
            return
        if not isinstance(value, str):
            return
        for name, how in self.substitutions(value):
            if name in self.datasets or name in BUILTIN_DATA:
                continue
            self.add(path, f"unknown data '{name}'{how}",
                     did_you_mean(name, list(self.datasets) + list(BUILTIN_DATA))
                     or f"define [data.{name}] or use one of: {', '.join(BUILTIN_DATA)}")
            return

    def check_data(self, path, d) -> None:
        if not isinstance(d, dict):
            return
        kind = d.get("kind")
        if "transforms" in d:
            self.check_transforms_ref(path + ("transforms",), d["transforms"])
        record = data_kinds.DATA_KINDS.get(kind) if isinstance(kind, str) else None
        if record is None:
            return
        for where in record.nested:
            self.check_data_ref(path + where, data_kinds.at(d, where))
        for where, sort in record.draws.items():
            value = data_kinds.at(d, where)
            if sort == "objects":
                self.check_objects_ref(path + where, value)
            else:
                self.check_draw_ref(path + where, value, sort,
                                    of=kind if sort == "classes" else None)

    def check_data_cycles(self) -> None:
        """A composite may not contain itself through named data (a -> b -> a)."""
        edges: dict[str, list[tuple[str, tuple]]] = {}
        for name, d in self.datasets.items():
            out = edges.setdefault(name, [])
            for path, ref in _data_refs(("data", name), d):
                for target, _ in self.substitutions(ref):
                    if target in self.datasets:
                        out.append((target, path))
        reported: set[frozenset] = set()

        def visit(name: str, trail: tuple[str, ...]) -> None:
            for target, path in edges.get(name, []):
                if target in trail:
                    cycle = trail[trail.index(target):] + (target,)
                    if frozenset(cycle) not in reported:
                        reported.add(frozenset(cycle))
                        self.add(path, "data contains itself: " + " -> ".join(cycle))
                elif len(trail) < len(self.datasets):
                    visit(target, trail + (target,))

        for name in self.datasets:
            visit(name, (name,))

    # --- tasks, train, probes --------------------------------------------------------------
    def check_task(self, path, t: dict) -> None:
        if "data" in t:
            self.check_data_ref(path + ("data",), t["data"])
        label = t.get("label", "class")
        if label in ("foreground", "background") and "data" in t:
            for ref, how in self.values_of(t["data"]):
                kind = self.data_kind(ref)
                record = data_kinds.DATA_KINDS.get(kind) if kind else None
                if kind and (record is None or label not in record.labels):
                    self.add(path + ("label",), f"label '{label}' needs composite data; the "
                             f"data is {kind}{how}", "use label = \"class\"")
                    break

    def check_task_ref(self, path, value) -> None:
        if not isinstance(value, str):
            return
        for name, how in self.substitutions(value):
            if name not in self.tasks:
                self.add(path, f"unknown task '{name}'{how}",
                         did_you_mean(name, self.tasks)
                         or (f"tasks: {', '.join(self.tasks)}" if self.tasks
                             else "define it under [task]"))
                return

    def check_train(self) -> None:
        train = _table(self.data.get("train"))
        if "task" in train:
            self.check_task_ref(("train", "task"), train["task"])
        self.check_augment(("train",), train)

    def check_probes(self) -> None:
        seen: dict[str, int] = {}
        raw = self.data.get("probe")
        for k, p in enumerate(raw if isinstance(raw, list) else []):
            if not isinstance(p, dict):
                continue
            path = ("probe", k)
            if "task" in p:
                self.check_task_ref(path + ("task",), p["task"])
            if p.get("kind") == "sensitivity" and "vary" in p:
                self.check_vary(path + ("vary",), p["vary"])
            if p.get("kind") == "finetune":
                self.check_augment(path, p)
            name = p.get("name", p.get("kind"))
            if not isinstance(name, str):
                continue
            if name in seen:
                file, line = self.doc.locate(("probe", seen[name]))
                self.add(path + (("name",) if "name" in p else ()),
                         f"duplicate probe name '{name}' (also probe[{seen[name]}], "
                         f"line {line})", "give each probe a distinct name = \"...\"")
            else:
                seen[name] = k
            if name == "train":
                self.add(path + (("name",) if "name" in p else ()),
                         "'train' names the source model's metrics (train.accuracy); rename "
                         "the probe")

    def check_augment(self, path, table: dict) -> None:
        """`augment`: a <transforms ref> that also takes the augment-only ops and presets."""
        if "augment" in table:
            self.check_transforms_ref(path + ("augment",), table["augment"],
                                      extra=tuple(catalog.AUGMENT_OPS) + tuple(
                                          catalog.AUGMENT_PRESETS))

    def check_vary(self, path, value) -> None:
        items = value if isinstance(value, list) else [value]
        for k, item in enumerate(items):
            if not isinstance(item, str):
                continue
            ipath = path + (k,) if isinstance(value, list) else path
            if item in catalog.COMPONENTS:
                if isinstance(value, list) and len(value) > 1:
                    self.add(ipath, f"'{item}' is a component: vary it alone (one probe each)")
                continue
            self.check_transform_name(ipath, item, in_list=isinstance(value, list),
                                      extra=() if isinstance(value, list) else catalog.COMPONENTS)

    # --- reports ---------------------------------------------------------------------------
    def probe_kinds(self) -> dict[str, str]:
        out = {}
        for p in self.probes:
            kind = p.get("kind")
            name = p.get("name", kind)
            if isinstance(name, str) and isinstance(kind, str):
                out[name] = kind
        return out

    def dims(self) -> list[str]:
        return list(self.factors) + list(DERIVED_COLUMNS)

    def check_dim(self, path, name) -> None:
        if isinstance(name, str) and name not in self.dims() and name not in self.malformed:
            self.add(path, f"unknown column '{name}' (a factor, 'probe' or a derived column)",
                     did_you_mean(name, self.dims()) or f"columns: {', '.join(self.dims())}")

    def check_value(self, path, value) -> None:
        if not isinstance(value, str):
            return
        kinds = self.probe_kinds()
        raw = self.data.get("probe", [])
        if not isinstance(raw, list) or any(
                not isinstance(p, dict) or p.get("kind") not in catalog.PROBE_KINDS for p in raw):
            return  # a probe's kind is wrong (reported): its name and metrics are unknown
        metric_part, _, split = value.partition("@")
        if split and split not in catalog.SPLITS:
            self.add(path, f"unknown split '{split}' in '{value}'",
                     did_you_mean(split, catalog.SPLITS))
        if "." in metric_part:
            probe, metric = metric_part.split(".", 1)
            if probe != "train" and probe not in kinds:
                self.add(path, f"'{value}': unknown probe '{probe}'",
                         did_you_mean(probe, list(kinds) + ["train"])
                         or f"probes: {', '.join(kinds) or 'none'}")
                return
            known = METRICS["train" if probe == "train" else kinds[probe]]
            if metric not in known:
                self.add(path, f"'{value}': probe '{probe}' has no metric '{metric}' "
                         f"(it has {', '.join(known)})", did_you_mean(metric, known))
            return
        produced = sorted({m for k in kinds.values() for m in METRICS.get(k, ())})
        if metric_part not in produced:
            self.add(path, f"no probe produces the metric '{metric_part}'",
                     did_you_mean(metric_part, produced + list(kinds))
                     or "write PROBE.METRIC, e.g. linear.accuracy")

    def check_reports(self) -> None:
        raw = self.data.get("report")
        for k, r in enumerate(raw if isinstance(raw, list) else []):
            if not isinstance(r, dict):
                continue
            path = ("report", k)
            table = _table(r.get("table"))
            for key in ("rows", "columns"):
                if key in table:
                    self.check_dim(path + ("table", key), table[key])
            if "value" in table:
                self.check_value(path + ("table", "value"), table["value"])
            chart = _table(r.get("chart"))
            heatmap = chart.get("kind") == "heatmap"
            for key in ("x", "column") + (("y",) if heatmap else ("color",)):
                if key in chart:
                    self.check_dim(path + ("chart", key), chart[key])
            value_key = "color" if heatmap else "y"
            if value_key in chart:
                self.check_value(path + ("chart", value_key), chart[value_key])
            elif heatmap:
                self.add(path + ("chart",), "a heatmap needs color = VALUE")
            for dim, wanted in _table(r.get("filter")).items():
                self.check_dim(path + ("filter", dim), dim)
                if dim in self.factors:
                    for v in wanted if isinstance(wanted, list) else [wanted]:
                        if v not in self.factors[dim]:
                            self.add(path + ("filter", dim), f"factor '{dim}' has no value "
                                     f"{_show(v)}", did_you_mean(
                                         str(v), [str(x) for x in self.factors[dim]]))


def _sort(draw: dict) -> str | None:
    found = [s for s in DRAW_SORTS if s in draw]
    return found[0] if len(found) == 1 else None


def _data_refs(path: tuple, d: Any) -> Iterator[tuple[tuple, str]]:
    """The named-data references (strings) inside a data definition (a composite's parts)."""
    kind = d.get("kind") if isinstance(d, dict) else None
    record = data_kinds.DATA_KINDS.get(kind) if isinstance(kind, str) else None
    for nested in record.nested if record else ():
        sub, where = data_kinds.at(d, nested), path + nested
        if isinstance(sub, str):
            yield where, sub
        elif isinstance(sub, dict):
            yield from _data_refs(where, sub)


def _size(draw: Any) -> int | None:
    """The number of members a draw has, when written as a plain count."""
    if not isinstance(draw, dict) or _sort(draw) is None:
        return None
    n = draw[_sort(draw)]
    return n if isinstance(n, int) and not isinstance(n, bool) else None


def _strings(path: tuple, value: Any) -> Iterator[tuple[tuple, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(path + (k,), v)
    elif isinstance(value, list):
        for k, v in enumerate(value):
            yield from _strings(path + (k,), v)


