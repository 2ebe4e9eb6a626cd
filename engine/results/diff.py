"""`diff(a, b)`: what changed between two versions of a spec, in three layers.

1. spec diff: the resolved documents (extends merged, --set applied), field by dotted path.
2. plan diff: jobs only in A, only in B, shared; each changed job is paired with its counterpart
   by (cell, role) and explained by the resolved config field that differs, following inputs
   (a probe that changed only because its model did says so: "train epochs 50 -> 2").
3. results diff: cells matched on factor values; mean A, mean B and the delta with its 95% CI
   (percentile bootstrap, or t), paired by seed when both sides have the same seeds, the
   probability of improvement P(B > A), and a p-value corrected across every value tested
   (Benjamini-Hochberg or Holm, named in the output): "changed" or "within noise"
   (dsl/diff_stats.py). `diff_many` compares several versions with the first.

A side is a spec file, `path@gitrev` (read with `git show`, with its `extends` chain, into a temp
folder keeping the repository layout so relative paths still resolve), or a recorded run id.
With one argument, A is the newest recorded run of that spec and B the file as it is now.
Longer than 400 lines: the three diffs share the Side type and one DiffResult that renders them
as text, markdown and JSON.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import polars as pl

from dsl.counts import kind_rank
from dsl import diff_stats, stats
from dsl.errors import DslError
from dsl.identity import canonical
from dsl.profiles import options_text

FORMAT = "dsl.diff/1"
UNSET = "(unset)"  # how markdown shows a field one side lacks
STATUSES = ("changed", "within noise", "no CI", "same jobs", "only in A", "only in B",
            "no results in A", "no results in B", "no results")


# -- sides ----------------------------------------------------------------------------------

@dataclass
class Side:
    """One version: its resolved spec, its cells (as stored in runs), and the jobs it knows."""

    label: str
    source: str  # file | git | run
    name: str
    hash: str | None
    profile: str | None
    resolved: Mapping[str, Any]
    cells: list[dict]
    jobs: dict[str, dict]  # job id -> {kind, version, config, inputs}; what is known
    run_id: str | None = None
    overrides: tuple[str, ...] = ()  # the --set options it was planned (or run) with

    def info(self) -> dict:
        return {"label": self.label, "source": self.source, "spec": self.name,
                "spec_hash": self.hash, "profile": self.profile, "run_id": self.run_id,
                "cells": len(self.cells)}


def _from_spec_plan(sp: Any, label: str, source: str, profile: str | None,
                    overrides: Sequence[str] = ()) -> Side:
    from engine.store import cells_json

    jobs = {str(j): {"kind": job.kind, "version": job.version, "config": dict(job.config),
                     "inputs": {r: str(i) for r, i in job.inputs.items()}}
            for j, job in sp.jobs.items()}
    return Side(label, source, sp.name, sp.hash, profile, dict(sp.resolved), cells_json(sp),
                jobs, overrides=tuple(overrides))


def _plan_file(path: str | os.PathLike, label: str, source: str, profile: str | None,
               overrides: Sequence[str], store: Any = None, data_root: Any = None) -> Side:
    from dsl.planner import plan
    from engine.store import recorded_lookup

    p = plan([path], profile=profile, overrides=tuple(overrides),
             recorded=recorded_lookup(store), data_root=data_root)
    if len(p.specs) != 1:
        raise DslError(f"diff compares one spec at a time; {path} holds {len(p.specs)}")
    return _from_spec_plan(p.specs[0], label, source, profile, overrides)


def _from_run(run: Any, store: Any) -> Side:
    ids: set[str] = set()
    for c in run.cells:
        ids.add(c["train"])
        ids.update(p["job"] for p in c["probes"])
    jobs: dict[str, dict] = {}
    frontier = set(ids)
    while frontier:  # the store knows a job's config and inputs once it was claimed
        records = store.jobs(frontier)
        frontier = set()
        for jid, rec in records.items():
            jobs[jid] = {"kind": rec.kind, "version": rec.version, "config": rec.config,
                         "inputs": rec.inputs}
            frontier |= {i for i in rec.inputs.values() if i not in jobs}
    # A run that did not end well says so (its results may be partial): "run ID (died)".
    ended = f" ({run.status})" if run.status not in (None, "done") else ""
    return Side(f"run {run.run_id}{ended}", "run", run.spec, run.spec_hash, run.profile,
                run.resolved, list(run.cells), jobs, run.run_id,
                tuple(str(o) for o in run.overrides or ()))


def _git(args: list[str], cwd: Path) -> bytes:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as err:
        raise DslError(f"cannot run git: {err}") from err
    if out.returncode != 0:
        stderr = out.stderr.decode("utf-8", errors="replace").strip()
        raise DslError(f"git {' '.join(args)}: {stderr or 'failed'}")
    return out.stdout


def commit_of(rev: str, root: Path, path: Any) -> str:
    """The commit id a revision names. The revision never reaches git as an option: one that
    starts with '-' is refused, and rev-parse reads it after --end-of-options."""
    if rev.startswith("-") or "\0" in rev:
        raise DslError(f"{path}@{rev}: '{rev}' is not a git revision (a revision such as "
                       "HEAD~1, a branch, a tag or a commit id cannot start with '-')")
    try:
        out = _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
                   root)
    except DslError:
        raise DslError(f"{path}@{rev}: no commit '{rev}' in the git repository at {root}"
                       ) from None
    return out.decode().strip()


def checkout_spec(path: str | os.PathLike, rev: str, into: Path) -> Path:
    """Write the spec as it was at `rev` (with every file its `extends` chain names) under
    `into`, at the same paths relative to the repository root; returns the spec's new path."""
    import tomli

    p = Path(path).absolute()
    start = p.parent if p.parent.is_dir() else Path.cwd()
    root = Path(_git(["rev-parse", "--show-toplevel"], start).decode().strip()).resolve()
    commit = commit_of(rev, root, path)
    try:
        rel = Path(os.path.relpath(p.parent.resolve() / p.name, root))
    except ValueError as err:
        raise DslError(f"{path} is not inside the git repository at {root}") from err
    seen: set[str] = set()

    def fetch(rel_path: Path) -> None:
        key = os.path.normpath(rel_path.as_posix())
        if key in seen:
            return
        seen.add(key)
        if key.startswith(".."):
            raise DslError(f"{path}@{rev}: extends leaves the repository ({key})")
        raw = _git(["show", f"{commit}:{key}"], root)
        target = into / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(raw)  # as committed: the loader reports bytes that are not UTF-8
        try:  # the loader's parser, so both sides accept the same files
            doc = tomli.loads(raw.decode("utf-8"))
        except (tomli.TOMLDecodeError, UnicodeDecodeError, RecursionError):
            return  # planning the copy reports the problem with its line
        ext = doc.get("spec", {}).get("extends") if isinstance(doc.get("spec"), dict) else None
        for e in [ext] if isinstance(ext, str) else ext if isinstance(ext, list) else []:
            if isinstance(e, str):
                fetch(Path(key).parent / e)

    fetch(rel)
    return into / os.path.normpath(rel.as_posix())


def load_side(ref: Any, *, store: Any = None, profile: str | None = None,
              overrides: Sequence[str] = (), tmp: Path | None = None,
              data_root: Any = None) -> Side:
    """A Side from a spec path, `path@rev`, a run id, a SpecPlan or a RunRecord."""
    from dsl.graph import SpecPlan
    from engine.store import RunRecord

    if isinstance(ref, SpecPlan):
        return _from_spec_plan(ref, ref.path, "file", profile)
    if isinstance(ref, RunRecord):
        return _from_run(ref, store)
    text = str(ref)
    if Path(text).exists():
        return _plan_file(text, text, "file", profile, overrides, store, data_root)
    if "@" in text:
        path, rev = text.rsplit("@", 1)
        if path and rev:
            tmp = tmp or Path(tempfile.mkdtemp(prefix="dsl-diff-"))
            safe = "".join(c if c.isalnum() or c in "-_.~^" else "_" for c in rev)
            copy = checkout_spec(path, rev, tmp / f"at-{safe}")  # never '..' or absolute
            return _plan_file(copy, text, "git", profile, overrides, store, data_root)
    if text.endswith(".toml") or "/" in text or os.sep in text:
        raise DslError(f"{text}: no such spec file")
    if store is not None and store.exists():
        return _from_run(store.run(text), store)
    raise DslError(f"'{text}' is neither a spec file, PATH@GITREV, nor a run in the store")


# -- 1. spec diff -----------------------------------------------------------------------------

def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted paths to leaves; lists of tables by index (probe[1].epochs), other lists whole."""
    out: dict[str, Any] = {}
    if isinstance(value, Mapping):
        if not value and prefix:
            out[prefix] = {}
        for k, v in value.items():
            key = str(k)
            if not key.replace("_", "").isalnum():
                key = json.dumps(key)  # names with dots or spaces stay one path element
            out.update(flatten(v, f"{prefix}.{key}" if prefix else key))
    elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = value
    return out


def field_changes(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[tuple[str, str, Any, Any]]:
    """(path, change, old, new) for every leaf that differs; change: added|removed|changed."""
    fa, fb = flatten(a), flatten(b)
    out = []
    for path in list(fa) + [p for p in fb if p not in fa]:
        if path not in fb:
            out.append((path, "removed", fa[path], None))
        elif path not in fa:
            out.append((path, "added", None, fb[path]))
        elif canonical(fa[path]) != canonical(fb[path]):
            out.append((path, "changed", fa[path], fb[path]))
    return out


def _j(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


def spec_diff(a: Side, b: Side) -> pl.DataFrame:
    rows = field_changes(dict(a.resolved), dict(b.resolved))
    if a.profile != b.profile:
        rows.append(("(profile)", "changed", a.profile, b.profile))
    if list(a.overrides) != list(b.overrides):  # what --set changed shows above; this says why
        rows.append(("(--set)", "changed", list(a.overrides), list(b.overrides)))
    return pl.DataFrame([(p, c, _j(o), _j(n)) for p, c, o, n in rows], orient="row",
                        schema={"path": pl.String, "change": pl.String, "old": pl.String,
                                "new": pl.String})


# -- 2. plan diff -----------------------------------------------------------------------------

def _cell_key(cell: Mapping) -> str:
    return canonical({"seed": cell["seed"], "factors": cell["factors"]})


def _factor_names(side: Side) -> list[str]:
    return list(dict.fromkeys(k for c in side.cells for k in c["factors"]))


def match_factors(a: Side, b: Side) -> tuple[Side, Side, str | None]:
    """Cells are matched on their factor values. When a factor exists on one side only (a
    constant made a one-level factor, or the reverse), match on the factors both sides have,
    provided the cells of each side stay distinct on them; else every cell would be "only in A"
    or "only in B" even where both sides ran the very same jobs."""
    fa, fb = _factor_names(a), _factor_names(b)
    if set(fa) == set(fb):
        return a, b, None
    common = [f for f in fa if f in fb]

    def project(side: Side) -> list[dict] | None:
        cells = [{**c, "factors": {k: v for k, v in c["factors"].items() if k in common}}
                 for c in side.cells]
        keys = [_cell_key(c) for c in cells]
        return cells if len(set(keys)) == len(keys) else None

    ca, cb = project(a), project(b)
    if ca is None or cb is None:
        return a, b, None
    only = [f"{f} only in A" for f in fa if f not in fb] + \
        [f"{f} only in B" for f in fb if f not in fa]
    on = "seed and " + ", ".join(common) if common else "seed alone"
    return (replace(a, cells=ca), replace(b, cells=cb),
            f"cells matched on {on} (factor {'; '.join(only)}, with one value)")


def cell_label(cell: Mapping) -> str:
    return " ".join([f"seed={cell['seed']}"] + [f"{k}={v}" for k, v in cell["factors"].items()])


def _roles(cell: Mapping) -> dict[str, str]:
    out = {"train": str(cell["train"])}
    for p in cell["probes"]:
        out[f"probe {p['name']}"] = str(p["job"])
    return out


def _closure(side: Side) -> set[str]:
    ids: set[str] = set()
    stack = [j for c in side.cells for j in _roles(c).values()]
    while stack:
        jid = stack.pop()
        if jid in ids:
            continue
        ids.add(jid)
        stack.extend((side.jobs.get(jid) or {}).get("inputs", {}).values())
    return ids


def _kind(jid: str) -> str:
    return jid.rsplit("-", 1)[0]


@dataclass
class PlanDiff:
    only_a: list[str]
    only_b: list[str]
    shared: list[str]
    changes: pl.DataFrame  # cell, role, kind, job_a, job_b, field, old, new

    def reasons(self) -> pl.DataFrame:
        """Changes summed over cells: kind, field, old, new and how many job pairs; in pipeline
        order of kinds (dsl.kinds.rank), then by field, most jobs first."""
        if not self.changes.height:
            return pl.DataFrame(schema={"kind": pl.String, "field": pl.String, "old": pl.String,
                                        "new": pl.String, "jobs": pl.Int64})
        out = (self.changes.unique(["job_a", "job_b", "field"])
               .group_by(["kind", "field", "old", "new"], maintain_order=True)
               .agg(jobs=pl.len().cast(pl.Int64)))
        rank = {k: kind_rank(k)[0] for k in out["kind"].unique()}
        return (out.with_columns(_rank=pl.col("kind").replace_strict(rank, return_dtype=pl.Int64))
                .sort(["_rank", "kind", "field", "jobs", "old", "new"],
                      descending=[False, False, False, True, False, False], nulls_last=True)
                .drop("_rank"))

    def counts(self) -> dict[str, Any]:
        def by_kind(ids):
            out: dict[str, int] = {}
            for j in ids:
                out[_kind(j)] = out.get(_kind(j), 0) + 1
            return dict(sorted(out.items()))

        return {"only_a": len(self.only_a), "only_b": len(self.only_b),
                "shared": len(self.shared), "only_a_by_kind": by_kind(self.only_a),
                "only_b_by_kind": by_kind(self.only_b), "shared_by_kind": by_kind(self.shared)}


def plan_diff(a: Side, b: Side) -> PlanDiff:
    ja, jb = _closure(a), _closure(b)
    rows: list[tuple] = []
    memo: dict[tuple[str, str], list[tuple]] = {}

    def explain(x: str, y: str, role: str) -> list[tuple]:
        """Why job x (in A) became y (in B): config fields, version, or an input's reasons."""
        if (x, y) in memo:
            return [(role,) + r[1:] for r in memo[(x, y)]]
        rx, ry = a.jobs.get(x), b.jobs.get(y)
        out: list[tuple] = []
        if rx is None or ry is None:
            out.append((role, _kind(y), x, y, "(config unknown: job never recorded)", None, None))
        else:
            if rx["kind"] != ry["kind"]:
                out.append((role, ry["kind"], x, y, "(kind)", _j(rx["kind"]), _j(ry["kind"])))
            if rx["version"] != ry["version"]:
                out.append((role, ry["kind"], x, y, "(version)", _j(rx["version"]),
                            _j(ry["version"])))
            for path, _, old, new in field_changes(rx["config"], ry["config"]):
                out.append((role, ry["kind"], x, y, path, _j(old), _j(new)))
            ia, ib = rx.get("inputs", {}), ry.get("inputs", {})
            for r in sorted(set(ia) | set(ib)):
                if ia.get(r) == ib.get(r):
                    continue
                if r in ia and r in ib:
                    out += explain(ia[r], ib[r], f"{role}/{r}")
                else:
                    out.append((role, ry["kind"], x, y, f"(inputs.{r})", _j(ia.get(r)),
                                _j(ib.get(r))))
        memo[(x, y)] = out
        return out

    cells_a = {_cell_key(c): c for c in a.cells}
    for cb in b.cells:
        ca = cells_a.get(_cell_key(cb))
        if ca is None:
            continue
        ra, rb = _roles(ca), _roles(cb)
        for role in [r for r in ra if r in rb]:
            if ra[role] != rb[role]:
                rows += [(cell_label(cb),) + r for r in explain(ra[role], rb[role], role)]
    changes = pl.DataFrame(rows, orient="row", schema={
        "cell": pl.String, "role": pl.String, "kind": pl.String, "job_a": pl.String,
        "job_b": pl.String, "field": pl.String, "old": pl.String, "new": pl.String})
    return PlanDiff(sorted(ja - jb), sorted(jb - ja), sorted(ja & jb), changes)


# -- 3. results diff --------------------------------------------------------------------------

def _measurements(side: Side, metrics: pl.DataFrame) -> tuple[dict, dict]:
    """(key -> {seed: value}, key -> planned job ids) with key = (factors, probe, metric, split);
    planned (factors, probe) pairs without any value are keyed with metric None."""
    values: dict[tuple, dict[int, float]] = {}
    jobs: dict[tuple, set[str]] = {}
    by_job: dict[str, list[tuple[str, str | None, float]]] = {}
    for jid, name, split, v in metrics.iter_rows():
        if v is not None and not math.isnan(v):
            by_job.setdefault(jid, []).append((name, split, v))
    for c in side.cells:
        fkey = canonical(c["factors"])
        for probe, jid in [("train", c["train"])] + [(p["name"], p["job"]) for p in c["probes"]]:
            planned = (fkey, probe, None, None)
            jobs.setdefault(planned, set()).add(str(jid))
            for name, split, v in by_job.get(str(jid), []):
                key = (fkey, probe, name, split)
                values.setdefault(key, {})[int(c["seed"])] = v
                jobs.setdefault(key, set()).add(str(jid))
    return values, jobs


def compare(a: Mapping[int, float], b: Mapping[int, float], ci: str = "bootstrap",
            test: str = "t") -> dict[str, Any]:
    """Delta (B - A) of seed means with a 95% interval, p-value and P(B > A); paired by seed
    when both sides have the same seeds. The statistics are dsl.diff_stats'."""
    return diff_stats.compare(a, b, ci, test)


_RESULT_SCHEMA = {
    "cell": pl.String, "factors": pl.String, "probe": pl.String, "metric": pl.String,
    "split": pl.String, "n_a": pl.Int64, "n_b": pl.Int64, "mean_a": pl.Float64,
    "mean_b": pl.Float64, "delta": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
    "paired": pl.Boolean, "p_value": pl.Float64, "p_improve": pl.Float64, "status": pl.String}


def results_diff(a: Side, b: Side, metrics_a: pl.DataFrame, metrics_b: pl.DataFrame,
                 ci: str = "bootstrap", test: str = "t", correction: str | None = "bh"
                 ) -> pl.DataFrame:
    """One row per (cell's factor values, probe, metric, split) seen on either side; tested
    rows are flagged after `correction` of their p-values (None: left for the caller, who
    corrects across several diffs with dsl.diff_stats.flag)."""
    va, ja = _measurements(a, metrics_a)
    vb, jb = _measurements(b, metrics_b)
    rows = []
    planned_a = {k[:2] for k in ja if k[2] is None}
    planned_b = {k[:2] for k in jb if k[2] is None}
    keys = list(dict.fromkeys([k for k in va] + [k for k in vb]))
    # Planned cells with no value anywhere still get a row: they are part of the comparison.
    measured = {k[:2] for k in keys}
    keys += [k for k in dict.fromkeys(list(ja) + list(jb)) if k[2] is None and
             k[:2] not in measured]
    for key in keys:
        fkey, probe, metric, split = key
        label = " ".join(f"{k}={v}" for k, v in json.loads(fkey).items()) or "(no factors)"
        row = {"cell": label, "factors": fkey, "probe": probe, "metric": metric, "split": split,
               "n_a": len(va.get(key, {})), "n_b": len(vb.get(key, {})), "mean_a": None,
               "mean_b": None, "delta": None, "ci_low": None, "ci_high": None,
               "paired": False, "p_value": None, "p_improve": None, "status": None}
        sa, sb = va.get(key), vb.get(key)
        if sa and sb:
            row.update(compare(sa, sb, ci, test))
            if ja.get(key) == jb.get(key):
                row["status"], row["p_value"] = "same jobs", None  # nothing to test
            elif row["p_value"] is None:
                row["status"] = "no CI"
            else:
                row["status"] = "within noise"  # until the corrected p-values say otherwise
        elif sa or sb:
            side_vals = sa or sb
            mean = sum(side_vals.values()) / len(side_vals)
            row["mean_a" if sa else "mean_b"] = mean
            other_planned = (planned_b if sa else planned_a)
            if (fkey, probe) in other_planned:
                row["status"] = "no results in B" if sa else "no results in A"
            else:
                row["status"] = "only in A" if sa else "only in B"
        else:
            in_a, in_b = (fkey, probe) in planned_a, (fkey, probe) in planned_b
            row["status"] = "only in A" if not in_b else "only in B" if not in_a else "no results"
        rows.append(row)
    frame = pl.DataFrame(rows, schema=_RESULT_SCHEMA)
    return diff_stats.flag([frame], correction)[0] if correction else \
        frame.with_columns(p_adjusted=pl.lit(None, dtype=pl.Float64))


# -- the whole diff ---------------------------------------------------------------------------

@dataclass
class DiffResult:
    a: Side
    b: Side
    spec: pl.DataFrame  # path, change, old, new (JSON-encoded values)
    plan: PlanDiff
    results: pl.DataFrame  # see _RESULT_SCHEMA, plus p_adjusted
    notes: list[str] = field(default_factory=list)
    method: str = ""  # how deltas, intervals and statuses were computed (dsl.diff_stats)

    @property
    def cells_only_a(self) -> pl.DataFrame:
        """Rows of cells (factor values) that B does not plan at all."""
        return self._only("only in A", self.b)

    @property
    def cells_only_b(self) -> pl.DataFrame:
        """Rows of cells (factor values) that A does not plan at all."""
        return self._only("only in B", self.a)

    @property
    def probes_only_a(self) -> pl.DataFrame:
        """Rows of probes only A has, on cells both sides plan (a removed [[probe]])."""
        return self._only("only in A", self.b, cells_on_both=True)

    @property
    def probes_only_b(self) -> pl.DataFrame:
        """Rows of probes only B has, on cells both sides plan (an added [[probe]])."""
        return self._only("only in B", self.a, cells_on_both=True)

    def _only(self, status: str, other: Side, cells_on_both: bool = False) -> pl.DataFrame:
        there = list({canonical(c["factors"]) for c in other.cells})
        on_other = pl.col("factors").is_in(there)
        return self.results.filter((pl.col("status") == status) &
                                   (on_other if cells_on_both else ~on_other))

    def status_counts(self) -> dict[str, int]:
        counts = dict(self.results.group_by("status").len().iter_rows())
        return {s: counts[s] for s in STATUSES if s in counts}

    def to_json(self) -> dict[str, Any]:
        """The stable form (docs/results.md); values decoded from their JSON text."""
        def dec(v):
            return None if v is None else json.loads(v)

        return {
            "format": FORMAT,
            "a": self.a.info(), "b": self.b.info(),
            "spec": [{"path": p, "change": c, "old": dec(o), "new": dec(n)}
                     for p, c, o, n in self.spec.iter_rows()],
            "plan": {**self.plan.counts(),
                     "reasons": [{"kind": k, "field": f, "old": dec(o), "new": dec(n), "jobs": j}
                                 for k, f, o, n, j in self.plan.reasons().iter_rows()],
                     "changes": [{**r, "old": dec(r["old"]), "new": dec(r["new"])}
                                 for r in self.plan.changes.iter_rows(named=True)],
                     "only_a": self.plan.only_a, "only_b": self.plan.only_b},
            "results": {"counts": self.status_counts(), "method": self.method,
                        "rows": [{**r, "factors": json.loads(r["factors"])}
                                 for r in self.results.iter_rows(named=True)]},
            "notes": self.notes,
        }

    def to_csv(self) -> str:
        """The results diff (one row per cell x probe x metric); spec and plan are in md/json."""
        return self.results.write_csv()

    def _reported_first(self, rows: pl.DataFrame) -> pl.DataFrame:
        """The values the spec's [[report]]s show first (a loss's large deltas would bury
        them), then the largest deltas."""
        refs = _report_values(self.a.resolved) + _report_values(self.b.resolved)
        other = pl.Series([not any(_reads(ref, r) for ref in refs)
                           for r in rows.iter_rows(named=True)], dtype=pl.Boolean)
        return rows.with_columns(_other=other).sort(
            ["_other", pl.col("delta").abs()], descending=[False, True],
            nulls_last=True).drop("_other")

    def to_markdown(self, max_rows: int = 50) -> str:
        from engine.results.tables import fmt_number

        out = [f"# diff: {self.a.label} -> {self.b.label}", ""]
        out += [f"_{n}_" for n in self.notes] + ([""] if self.notes else [])
        out += ["## Spec", ""]
        if self.spec.height:
            out += ["| field | change | A | B |", "|---|---|---|---|"]
            out += [f"| `{p}` | {c} | {_md(o)} | {_md(n)} |" for p, c, o, n in
                    self.spec.iter_rows()]
        else:
            out.append("No field differs.")
        counts = self.plan.counts()
        out += ["", "## Plan", "",
                f"{counts['shared']} jobs shared, {counts['only_a']} only in A "
                f"({_kinds(counts['only_a_by_kind'])}), {counts['only_b']} only in B "
                f"({_kinds(counts['only_b_by_kind'])}).", ""]
        reasons = self.plan.reasons()
        if reasons.height:
            out += ["Why jobs changed (paired by cell and role):", "",
                    "| job kind | field | A | B | jobs |", "|---|---|---|---|---:|"]
            out += [f"| {k} | `{f}` | {_md(o)} | {_md(n)} | {j} |"
                    for k, f, o, n, j in reasons.iter_rows()]
        counts = ", ".join(f"{v} {k}" for k, v in self.status_counts().items())
        out += ["", "## Results", "", f"values (a cell's metric on one split), by status: {counts}"
                if counts else "no results", ""]
        out += [f"_{self.method}_", ""] if self.method and counts else []
        shown = self._reported_first(self.results.filter(pl.col("status").is_in(
            ["changed", "within noise", "no CI"])))
        if shown.height:
            out += ["| cell | value | A | B | delta | 95% CI | P(B>A) | p adj. | seeds A/B | "
                    "paired | status |", "|---|---|---:|---:|---:|---|---:|---:|---:|---|---|"]
            for r in shown.head(max_rows).iter_rows(named=True):
                ci = "-" if r["ci_low"] is None else \
                    f"[{fmt_number(r['ci_low'], r['delta'])}, {fmt_number(r['ci_high'], r['delta'])}]"
                out.append(f"| {_md(r['cell'])} | {_value(r)} | {fmt_number(r['mean_a'])} | "
                           f"{fmt_number(r['mean_b'])} | {fmt_number(r['delta'])} | {ci} | "
                           f"{_p(r['p_improve'])} | {_p(r['p_adjusted'])} | "
                           f"{r['n_a']}/{r['n_b']} | {'yes' if r['paired'] else 'no'} | "
                           f"{r['status']}{' †' if r.get('stale') else ''} |")
            if shown.height > max_rows:
                out.append(f"\n... {shown.height - max_rows} more rows (--format csv has all)")
            uneven = shown.filter(pl.col("n_a") != pl.col("n_b")).height
            if uneven:
                out.append(f"\n_{uneven} row(s) compare different numbers of seeds (jobs missing "
                           "or failed on one side): their means cover different seeds and the "
                           "CI is Welch's, not paired._")
        for only, title in ((self.cells_only_a, "Cells only in A"),
                            (self.cells_only_b, "Cells only in B")):
            cells = only["cell"].unique(maintain_order=True).to_list()
            if cells:
                out += ["", f"### {title}", ""] + [f"- {c}" for c in cells[:max_rows]]
                if len(cells) > max_rows:
                    out.append(f"- ... {len(cells) - max_rows} more")
        for only, title in ((self.probes_only_a, "Probes only in A"),
                            (self.probes_only_b, "Probes only in B")):
            probes = only["probe"].unique(maintain_order=True).to_list()
            if probes:
                out += ["", f"### {title} (on cells both sides plan)", ""]
                for probe in probes:
                    cells = only.filter(pl.col("probe") == probe)["cell"].unique(
                        maintain_order=True).to_list()
                    more = f", ... {len(cells) - 3} more" if len(cells) > 3 else ""
                    out.append(f"- {probe}: {len(cells)} cell(s) ({', '.join(cells[:3])}{more})")
        return "\n".join(out) + "\n"

    def chart(self, max_rows: int = 40):
        """Deltas with their 95% CI, largest first; colour says changed / within noise."""
        import altair as alt

        d = self._reported_first(self.results.filter(
            pl.col("delta").is_not_null() & (pl.col("status") != "same jobs"))).head(
            max_rows).with_columns(
            label=pl.concat_str([pl.col("cell"), pl.lit(" · "), pl.col("probe"), pl.lit("."),
                                 pl.col("metric"), pl.lit("@"), pl.col("split").fill_null("-")]))
        data = alt.Data(values=d.select("label", "delta", "ci_low", "ci_high", "status",
                                        "mean_a", "mean_b").to_dicts())
        y = alt.Y("label", type="nominal", sort=None, title=None,
                  axis=alt.Axis(labelLimit=400))
        base = alt.Chart().encode(y=y)
        points = base.mark_point(filled=True, size=60).encode(
            x=alt.X("delta", type="quantitative", title="B - A"),
            color=alt.Color("status", type="nominal",
                            scale=alt.Scale(domain=["changed", "within noise", "no CI"],
                                            range=["#d62728", "#7f7f7f", "#1f77b4"])),
            tooltip=[alt.Tooltip(f, type="quantitative", format=".4f")
                     for f in ("mean_a", "mean_b", "delta", "ci_low", "ci_high")])
        bars = base.mark_rule().encode(x=alt.X("ci_low", type="quantitative"), x2="ci_high")
        zero = alt.Chart().mark_rule(strokeDash=[4, 4]).encode(x=alt.datum(0))
        return alt.layer(zero, bars, points, data=data).properties(
            width=420, title=alt.TitleParams(f"{self.a.label} -> {self.b.label}",
                                             subtitle="delta with 95% CI", anchor="start"))


def _p(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}" if v >= 0.01 else f"{v:.0e}"


def _md(v: Any) -> str:
    """A value in a markdown cell; a field absent (or null) on one side reads "(unset)"."""
    return UNSET if v is None else str(v).replace("|", "\\|")


def _kinds(by_kind: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {n}" for k, n in by_kind.items()) or "none"


def _options(profile: str | None, overrides: Sequence[str]) -> str:
    return options_text(profile, overrides) or "no --profile or --set"


def _report_values(resolved: Mapping[str, Any]) -> list[Any]:
    """The VALUEs a spec's [[report]] entries read (table value, chart y, heatmap colour)."""
    from engine.results.frame import ValueRef

    out = []
    for rep in resolved.get("report") or []:
        if not isinstance(rep, Mapping):
            continue
        view = rep.get("table") or rep.get("chart") or {}
        text = view.get("color") if view.get("kind") == "heatmap" else \
            view.get("value") or view.get("y")
        if isinstance(text, str):
            try:
                out.append(ValueRef.parse(text))
            except DslError:
                continue
    return out


def _reads(ref: Any, row: Mapping[str, Any]) -> bool:
    """Whether a results-diff row is the number a report VALUE shows (test split by default)."""
    if ref.metric != row["metric"] or (ref.probe is not None and ref.probe != row["probe"]):
        return False
    if ref.probe is None and row["probe"] == "train":
        return False
    return row["split"] == ref.split if ref.split else row["split"] in ("test", None)


def _value(r: Mapping[str, Any]) -> str:
    return f"{r['probe']}.{r['metric']}" + (f"@{r['split']}" if r["split"] else "")


def diff(a: Any, b: Any = None, *, store: Any = None, profile: str | None = None,
         overrides: Sequence[str] = (), data_root: Any = None, ci: str = "bootstrap",
         test: str = "t", correction: str = "bh") -> DiffResult:
    """Compare two versions of a spec (files, `path@gitrev`, run ids), or, with only `a`, the
    spec file against its most recent recorded run. `ci`, `test` and `correction` choose the
    results statistics (dsl.diff_stats)."""
    return diff_many([a] if b is None else [a, b], store=store, profile=profile,
                     overrides=overrides, data_root=data_root, ci=ci, test=test,
                     correction=correction)[0]


def diff_many(refs: Sequence[Any], *, store: Any = None, profile: str | None = None,
              overrides: Sequence[str] = (), data_root: Any = None, ci: str = "bootstrap",
              test: str = "t", correction: str = "bh") -> list[DiffResult]:
    """`dsl diff A B C ...`: B, C, ... each compared with A (one DiffResult each); p-values are
    corrected across every value tested in all of them. One ref: the file vs its last run."""
    if not refs:
        raise DslError("diff needs a spec, run or PATH@GITREV to compare")
    for name, value, known in (("ci", ci, stats.CI_METHODS), ("test", test, diff_stats.TESTS),
                               ("correction", correction, stats.CORRECTIONS)):
        if value not in known:
            raise DslError(f"unknown {name} '{value}' (one of: {', '.join(known)})")
    pairs = [(refs[0], None)] if len(refs) == 1 else [(refs[0], other) for other in refs[1:]]
    results = [_diff_pair(a, b, store=store, profile=profile, overrides=overrides,
                          data_root=data_root, ci=ci, test=test) for a, b in pairs]
    flagged = diff_stats.flag([r.results for r in results], correction)
    tested = sum(f["p_value"].is_not_null().sum() for f in flagged)
    note = diff_stats.method_note(ci, test, correction, tested)
    return [replace(r, results=f, method=note) for r, f in zip(results, flagged)]


def _diff_pair(a: Any, b: Any = None, *, store: Any = None, profile: str | None = None,
               overrides: Sequence[str] = (), data_root: Any = None, ci: str = "bootstrap",
               test: str = "t") -> DiffResult:
    """One comparison, its values' p-values not yet corrected."""
    from engine.store import Store, resolve_root

    st = store if isinstance(store, Store) else Store(resolve_root(store))
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="dsl-diff-") as tmp:
        if b is None:
            new = load_side(a, store=st, profile=profile, overrides=overrides, tmp=Path(tmp),
                            data_root=data_root)
            runs = st.runs(new.name)
            if not runs:
                raise DslError(f"no recorded run of spec '{new.name}' in the store at {st.root}; "
                               "give two versions: dsl diff A B")
            old = _from_run(runs[0], st)
            ran = runs[0].spec_path
            if ran and Path(ran).resolve() != Path(str(a).split("@")[0]).resolve():
                notes.append(f"the last run of '{new.name}' read {ran}, not {a} (runs are "
                             "matched by spec name; `dsl runs` lists them, and `dsl diff RUN_ID "
                             "FILE` picks one)")
            if old.profile != profile or list(old.overrides) != list(overrides):
                notes.append(f"the last run used {_options(old.profile, old.overrides)}; the "
                             f"file is planned with {_options(profile, overrides)}: give the "
                             "same options to compare like with like")
        else:
            old = load_side(a, store=st, profile=profile, overrides=overrides, tmp=Path(tmp),
                            data_root=data_root)
            new = load_side(b, store=st, profile=profile, overrides=overrides, tmp=Path(tmp),
                            data_root=data_root)
    if old.name != new.name:
        notes.append(f"comparing two different specs: '{old.name}' and '{new.name}'")
    old, new, note = match_factors(old, new)
    notes += [note] if note else []
    ids_a = {j for c in old.cells for j in _roles(c).values()}
    ids_b = {j for c in new.cells for j in _roles(c).values()}
    metrics = st.metrics(ids_a | ids_b)
    result = DiffResult(old, new, spec_diff(old, new), plan_diff(old, new),
                        results_diff(old, new, metrics.filter(pl.col("job_id").is_in(list(ids_a))),
                                     metrics.filter(pl.col("job_id").is_in(list(ids_b))), ci, test,
                                     correction=None), notes)
    # Values resting on jobs made by other code than today's: a `stale` column and a note.
    from engine.results.stale import mark_diff, stale_view

    mark_diff(result, stale_view(st, ids_a | ids_b))
    return result
