"""Content hashes: written at publish, checked before a job reads, `dsl verify` over a store."""

from __future__ import annotations

import json

import pytest

from dsl.graph import Cell, Job, Plan, ProbeRef, SpecPlan
from engine import integrity
from engine.jobs import Metric
from engine.paths import ArtifactPaths
from engine.runner import run
from engine.store import Store

import fake_kinds


@pytest.fixture(autouse=True)
def _fake_kinds(monkeypatch):
    fake_kinds.install(monkeypatch)


def _flip(path, at: int | None = None) -> None:
    """Change one byte, keeping the size (what a size check cannot see)."""
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if at is None else at
    data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def test_publish_records_sizes_hashes_the_job_and_its_metrics(tmp_path):
    paths = ArtifactPaths(tmp_path)
    jid = "fsource-0123456789abcdef"
    staging = paths.staging(jid)
    (staging / "sub").mkdir()
    (staging / "sub" / "a.bin").write_bytes(b"12345")
    job = {"id": jid, "kind": "fsource", "version": "1", "config": {"v": 1}, "inputs": {}}
    final = paths.publish(staging, jid, job, (("value", None, 1.5),))
    manifest = json.loads((final / integrity.MANIFEST).read_text())
    assert manifest["files"] == {"sub/a.bin": 5} and manifest["hash"] == integrity.ALGORITHM
    assert manifest["digests"]["sub/a.bin"] == integrity.digest(final / "sub" / "a.bin")
    assert manifest["job"] == job and manifest["metrics"] == [["value", None, 1.5]]
    assert integrity.check(final) == integrity.Verdict("intact")
    _flip(final / "sub" / "a.bin")
    verdict = integrity.check(final)
    assert verdict.damaged and "changed since it was written" in verdict.problem
    assert paths.problem(jid) is None  # the size check alone cannot see it


def test_artifacts_from_before_hashes_are_unverified_not_damaged(tmp_path):
    folder = tmp_path / "a"
    folder.mkdir()
    (folder / "x.npy").write_bytes(b"abc")
    assert integrity.check(folder).status == "unverified"  # no manifest at all
    (folder / integrity.MANIFEST).write_text(json.dumps({"files": {"x.npy": 3}}))
    assert integrity.check(folder).status == "unverified"  # sizes only
    (folder / integrity.MANIFEST).write_text(json.dumps({"files": {"x.npy": 4}}))
    assert integrity.check(folder).damaged  # a size that differs is still caught


def _plan(ledger, add: float) -> Plan:
    """s0 -> combine c(add): a new `add` is a new job reading the same s0 artifact."""
    s = Job.make("fsource", "1", {"name": "s0", "value": 1.0, "ledger": str(ledger)})
    c = Job.make("fcombine", "1", {"name": f"c{add:g}", "add": add, "ledger": str(ledger)},
                 {"a": s.id})
    cell = Cell("fake", 0, {}, s.id, (ProbeRef("combine", "fcombine", c.id),))
    spec = SpecPlan(name="fake", path="/nonexistent/fake.toml", text="# fake\n", hash="0" * 16,
                    title="fake", cells=(cell,), jobs={s.id: s, c.id: c}, reports=())
    return Plan(specs=(spec,), jobs={s.id: s, c.id: c})


def test_an_input_changed_in_place_is_made_again_before_a_job_reads_it(tmp_path, capsys):
    ledger, store_root = tmp_path / "ledger", tmp_path / "store"
    first = _plan(ledger, 10.0)
    assert run(first, store=store_root, progress=False, echo=False).ok
    s0 = next(j for j in first.jobs.values() if j.kind == "fsource").id
    value = Store(store_root).paths.artifact(s0) / "value.json"
    value.write_text(value.read_text().replace("1.0", "9.0"))  # same size, other content
    second = _plan(ledger, 20.0)
    summary = run(second, store=store_root, progress=False)
    assert summary.ok
    assert list(summary.recomputed) == [s0] and "hash differs" in summary.recomputed[s0]
    c20 = next(j for j in second.jobs.values() if j.kind == "fcombine").id
    metrics = Store(store_root).metrics([c20])
    assert metrics.filter(metrics["name"] == "value")["value"].to_list() == [21.0]  # not 9 + 20
    assert fake_kinds.ledger_counts(ledger) == {"s0": 2, "c10": 1, "c20": 1}
    out = capsys.readouterr().out
    assert out.count(f"ran again {s0}") == 1


def test_dsl_verify_reports_damage_and_divergence_and_reopens(tmp_path, capsys):
    from dsl.cli import main

    store_root = tmp_path / "store"
    plan = fake_kinds.make_plan(tmp_path / "ledger", 2)
    assert run(plan, store=store_root, progress=False, echo=False).ok
    names = fake_kinds.by_name(plan)
    store = Store(store_root)
    assert main(["verify", "--store", str(store_root)]) == 0
    assert "5 finished jobs in" in capsys.readouterr().out

    _flip(store.paths.artifact(names["c1"]) / "value.json")
    (store.paths.artifact(names["s0"]) / integrity.MANIFEST).unlink()  # as before manifests
    store.complete(names["s1"], [Metric("value", None, float("nan"))], 0.1)  # an old divergence
    assert main(["verify", "--store", str(store_root)]) == 1
    out = capsys.readouterr().out
    assert f"damaged   {names['c1']}: " in out and "changed since it was written" in out
    assert f"diverged  {names['s1']}: its value is nan" in out
    assert "3 intact, 1 unverified (published before content hashes), 1 damaged, 1 diverged" in out

    assert main(["verify", "--store", str(store_root), "--reopen"]) == 1
    # the damaged job, the diverged one and everything made from it (c1, total)
    assert "reopened 3 job(s)" in capsys.readouterr().out
    statuses = {n: store.job(j).status for n, j in names.items()}
    assert statuses == {"s0": "done", "c0": "done", "s1": "pending", "c1": "pending",
                        "total": "pending"}


def test_dsl_verify_without_a_store_is_one_clear_error(tmp_path, capsys):
    from dsl.cli import main

    assert main(["verify", "--store", str(tmp_path / "none")]) == 2
    assert "no store at" in capsys.readouterr().err


def test_dsl_verify_with_a_spec_checks_only_the_jobs_it_uses(tmp_path, capsys, monkeypatch):
    import dsl.commands._common
    from dsl.cli import main

    store_root = tmp_path / "store"
    used = _plan(tmp_path / "ledger", 1.0)
    other = _plan(tmp_path / "ledger", 2.0)  # shares s0, has its own combine
    for plan in (used, other):
        assert run(plan, store=store_root, progress=False, echo=False).ok
    c2 = next(j for j in other.jobs.values() if j.kind == "fcombine").id
    _flip(Store(store_root).paths.artifact(c2) / "value.json")
    monkeypatch.setattr(dsl.commands._common, "plan_from_args", lambda args: used)
    assert main(["verify", "x.toml", "--store", str(store_root)]) == 0
    assert "2 finished jobs in" in capsys.readouterr().out
    assert main(["verify", "--store", str(store_root)]) == 1
    assert f"damaged   {c2}" in capsys.readouterr().out


def vandal(config, inputs, out_dir, ctx):
    """A job that damages the artifact it read (after its check passed): a failing disk."""
    _flip(inputs["a"].path / "value.json", at=1)
    return [Metric("value", None, 0.0)]


def test_an_input_damaged_again_after_it_was_made_again_fails_the_job(tmp_path, monkeypatch):
    import engine.kinds
    from engine.kinds import Kind

    monkeypatch.setitem(engine.kinds.KINDS, "fvandal",
                        Kind("fvandal", "1", "test_integrity:vandal", False, "damages its input"))
    ledger = tmp_path / "ledger"
    s = Job.make("fsource", "1", {"name": "s0", "value": 1.0, "ledger": str(ledger)})
    v1 = Job.make("fvandal", "1", {"name": "v1"}, {"a": s.id})
    r = Job.make("fcombine", "1", {"name": "r", "ledger": str(ledger)}, {"a": s.id})
    v2 = Job.make("fvandal", "1", {"name": "v2"}, {"a": s.id})
    jobs = {j.id: j for j in (s, v1, r, v2)}
    cell = Cell("fake", 0, {}, s.id, (ProbeRef("r", "fcombine", r.id),))
    spec = SpecPlan(name="fake", path="/nonexistent/fake.toml", text="#\n", hash="0" * 16,
                    title="fake", cells=(cell,), jobs=jobs, reports=())
    summary = run(Plan(specs=(spec,), jobs=jobs), store=tmp_path / "store", jobs=1,
                  progress=False, echo=False)
    assert list(summary.recomputed) == [s.id]
    assert list(summary.failed) == [r.id]
    assert "is damaged again after it was made again in this run" in summary.failed[r.id]
    assert Store(tmp_path / "store").job(r.id).status == "failed"
    assert fake_kinds.ledger_counts(ledger) == {"s0": 2}  # made twice, then no loop
