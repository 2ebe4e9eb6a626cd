"""Code fingerprints, stale cached jobs, selective reruns (--rerun, --only) and environments."""

from __future__ import annotations

import shutil
import time
import sys
from pathlib import Path

import pytest

import engine.fingerprint as fingerprint
from engine import provenance
from engine.fingerprint import Fingerprinter
from engine.kinds import KINDS, Kind
from engine.runner import run
from engine.store import Store

import fake_kinds
from test_results_tables import SPEC

sys.path.insert(0, str(Path(__file__).parent))
from results_fake import complete_plan  # noqa: E402

PROJECT = Path(fingerprint.__file__).resolve().parent.parent


def copy_project(into: Path) -> Path:
    """The dsl and engine sources in a temp folder, to edit without touching the checkout."""
    for pkg in ("dsl", "engine"):
        shutil.copytree(PROJECT / pkg, into / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    return into


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def fingerprints(fp: Fingerprinter) -> dict[str, str]:
    return {k: fp.of_impl(kind.impl).digest for k, kind in KINDS.items()}


# -- fingerprints -------------------------------------------------------------------------------

def test_a_kind_depends_on_the_engine_modules_it_imports_and_not_on_others(tmp_path):
    fp = Fingerprinter(copy_project(tmp_path))
    sens = fp.of_impl(KINDS["sensitivity"].impl).files
    assert "engine/probes/sensitivity.py" in sens and "engine/jobs.py" in sens
    # engine.data loads `sensitivity_pairs` lazily by a "module:attr" string: followed too
    assert "engine/data/pairs.py" in sens
    # The store is imported by a planning-only path (local files' recorded fingerprints), and
    # type checkers' imports never run: neither is followed.
    assert "engine/store.py" not in fp.of_impl(KINDS["dataset"].impl).files
    assert "dsl/graph.py" not in sens
    linear = fp.of_impl(KINDS["linear"].impl).files
    assert "engine/probes/sensitivity.py" not in linear
    assert not any(f.startswith("engine/results/") for k in KINDS
                   for f in fp.of_impl(KINDS[k].impl).files)


def test_fingerprinting_imports_nothing(tmp_path):
    import subprocess

    code = ("import sys; from engine.fingerprint import of_kind; from engine.kinds import KINDS; "
            "[of_kind(k) for k in KINDS]; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin"}, check=True)
    assert out.stdout.strip() == "False"


def test_comments_and_formatting_change_nothing_code_changes_only_its_kinds(tmp_path):
    root = copy_project(tmp_path)
    before = fingerprints(Fingerprinter(root))
    # A comment-only change in a file no kind depends on, and in one they all depend on; a
    # re-indented line continuation; a real change in a file no kind depends on.
    edit(root / "engine/results/report.py", '"""One self-contained', '# a note\n"""One self-contained')
    edit(root / "engine/jobs.py", "\nfrom __future__", "\n# why this import\nfrom __future__")
    edit(root / "engine/results/tables.py", "FORMATS = (", "UNUSED = 1\nFORMATS = (")
    assert fingerprints(Fingerprinter(root)) == before
    # A code change in the sensitivity probe: its kind only, naming the file.
    append(root / "engine/probes/sensitivity.py", "\nEPS = 1e-9\n")
    fp = Fingerprinter(root)
    after = fingerprints(fp)
    assert {k for k in KINDS if after[k] != before[k]} == {"sensitivity"}
    now = fp.of_impl(KINDS["sensitivity"].impl)
    was = Fingerprinter(PROJECT).of_impl(KINDS["sensitivity"].impl)
    assert now.changed(was.files) == ["engine/probes/sensitivity.py"]
    # A change in a module every kind imports (the engine package's own) stales them all.
    append(root / "engine/__init__.py", "\nZ = 2\n")
    assert all(v != before[k] for k, v in fingerprints(Fingerprinter(root)).items())


# -- dsl plan: stale per kind ------------------------------------------------------------------

def _tiny_store(tmp_path):
    from dsl.planner import plan

    spec = tmp_path / "tiny.toml"
    spec.write_text(SPEC)
    store = Store(tmp_path / "store")
    p = plan([spec])
    complete_plan(store, p)
    snap = provenance.code_snapshot(KINDS)
    for job in p.jobs.values():
        provenance.record_job(store, job.id, snap[job.kind], {"python": "3.x"})
    return spec, store, p


def test_plan_names_stale_kinds_changed_files_and_the_rerun_command(tmp_path, capsys,
                                                                     monkeypatch):
    from dsl.cli import main

    spec, store, p = _tiny_store(tmp_path)
    root = copy_project(tmp_path / "code")
    monkeypatch.setattr(fingerprint, "_DEFAULT", Fingerprinter(root))
    edit(root / "engine/results/charts.py", "\nfrom __future__", "\n# note\nfrom __future__")
    assert main(["plan", str(spec), "--store", str(store.root)]) == 0
    assert "stale:" not in capsys.readouterr().out  # a comment in a file no kind reads
    append(root / "engine/probes/linear.py", "\nEPS = 1e-9\n")
    assert main(["plan", str(spec), "--store", str(store.root)]) == 0
    out = capsys.readouterr().out
    n = sum(1 for j in p.jobs.values() if j.kind == "linear")
    assert (f"  linear: {n} cached results were made by other code: engine/probes/linear.py "
            "changed") in out
    assert "train:" not in out.split("stale:")[1]
    assert f"dsl run {spec} --store {store.root} --rerun stale" in out
    assert main(["plan", str(spec), "--store", str(store.root), "--rerun", "stale",
                 "--json"]) == 0
    import json

    data = json.loads(capsys.readouterr().out)
    assert data["stale"] == {"linear": {"jobs": n, "changed": ["engine/probes/linear.py"]}}
    assert sorted(data["rerun"]["force"]) == sorted(j for j, job in p.jobs.items()
                                                    if job.kind == "linear")


def test_jobs_finished_before_fingerprints_are_unknown_not_stale(tmp_path):
    from dsl.planner import plan

    spec = tmp_path / "tiny.toml"
    spec.write_text(SPEC)
    store = Store(tmp_path / "store")
    p = plan([spec])
    complete_plan(store, p)  # no provenance recorded
    st = provenance.stale(store, {j: job.kind for j, job in p.jobs.items()})
    assert not st and sum(st.unrecorded.values()) == len(p.jobs)


# -- runs: --rerun and --only ------------------------------------------------------------------

@pytest.fixture
def kinds_in_files(tmp_path, monkeypatch):
    """fsource/fcombine implemented in two module files of their own, so editing one changes one
    kind's fingerprint; workers import them from tmp_path (spawn passes sys.path on)."""
    folder = tmp_path / "kindmods"
    folder.mkdir()
    (folder / "prov_src.py").write_text(
        "import os\nfrom fake_kinds import source as _source\n\n\n"
        "def source(config, inputs, out_dir, ctx):\n"
        "    flag = os.path.join(os.environ.get('PROV_FAIL', '/nonexistent'), config['name'])\n"
        "    if os.path.exists(flag):\n"
        "        raise RuntimeError('told to fail by ' + flag)\n"
        "    return _source(config, inputs, out_dir, ctx)\n")
    (folder / "prov_comb.py").write_text("from fake_kinds import combine\n")
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setitem(KINDS, "fsource", Kind("fsource", "1", "prov_src:source", False, "src"))
    monkeypatch.setitem(KINDS, "fcombine", Kind("fcombine", "1", "prov_comb:combine", True, "c"))
    fails = tmp_path / "fail"
    fails.mkdir()
    monkeypatch.setenv("PROV_FAIL", str(fails))
    monkeypatch.setattr(fingerprint, "_DEFAULT", Fingerprinter())  # fresh cache per test
    return folder, fails


def test_rerun_stale_recomputes_exactly_the_stale_jobs(tmp_path, kinds_in_files):
    folder, _ = kinds_in_files
    ledger = tmp_path / "ledger"
    plan = fake_kinds.make_plan(ledger, 3)
    names = fake_kinds.by_name(plan)
    store = Store(tmp_path / "store")
    assert run(plan, store=store, progress=False, echo=False).ok
    kinds_of = {j: job.kind for j, job in plan.jobs.items()}
    (folder / "prov_src.py").write_text("# a comment first\n" + (folder / "prov_src.py").read_text())
    assert not provenance.stale(store, kinds_of)
    (folder / "prov_comb.py").write_text("from fake_kinds import combine\nVERSION = 2\n")
    st = provenance.stale(store, kinds_of)
    combines = {names[n] for n in ("c0", "c1", "c2", "total")}
    assert set(st.jobs) == combines
    assert st.kinds == {"fcombine": (4, ("prov_comb.py",))}
    old_values = store.metrics(combines)
    summary = run(plan, store=store, progress=False, echo=False, rerun=["stale"])
    assert summary.ok and set(summary.ran) == combines
    counts = fake_kinds.ledger_counts(ledger)
    assert counts == {"s0": 1, "s1": 1, "s2": 1, "c0": 2, "c1": 2, "c2": 2, "total": 2}
    assert store.metrics(combines).equals(old_values)  # same code path: same numbers
    assert not provenance.stale(store, kinds_of)  # the new results carry today's code


def test_rerun_failed_reruns_only_the_failed_jobs_and_what_waited_for_them(tmp_path,
                                                                           kinds_in_files):
    _, fails = kinds_in_files
    ledger = tmp_path / "ledger"
    plan = fake_kinds.make_plan(ledger, 3)
    names = fake_kinds.by_name(plan)
    store = Store(tmp_path / "store")
    (fails / "s1").touch()
    first = run(plan, store=store, progress=False, echo=False, only=["i=0", "i=1"])
    assert set(first.failed) == {names["s1"]} and set(first.skipped) == {names["c1"]}
    (fails / "s1").unlink()
    again = run(plan, store=store, progress=False, echo=False, rerun=["failed"])
    assert again.ok and set(again.ran) == {names["s1"], names["c1"]}
    assert again.total == 2 and again.cached == []
    counts = fake_kinds.ledger_counts(ledger)
    assert counts == {"s0": 1, "c0": 1, "s1": 1, "c1": 1}  # s2, c2, total: never tried


def test_rerun_a_job_id_recomputes_it_and_its_readers_keeping_the_old_until_then(tmp_path,
                                                                                 kinds_in_files):
    ledger = tmp_path / "ledger"
    plan = fake_kinds.make_plan(ledger, 2)
    names = fake_kinds.by_name(plan)
    store = Store(tmp_path / "store")
    assert run(plan, store=store, progress=False, echo=False).ok
    summary = run(plan, store=store, progress=False, echo=False, rerun=[names["s0"][:12]])
    assert set(summary.ran) == {names["s0"], names["c0"], names["total"]}
    assert store.finished(plan.jobs) == set(plan.jobs)
    by_kind = run(plan, store=store, progress=False, echo=False, rerun=["fsource"])
    assert set(by_kind.ran) == set(plan.jobs)  # every source, so everything reads a new one


def test_only_seed_runs_one_seed(tmp_path, kinds_in_files):
    ledger = tmp_path / "ledger"
    plan = fake_kinds.make_plan(ledger, 3)
    names = fake_kinds.by_name(plan)
    summary = run(plan, store=tmp_path / "store", progress=False, echo=False, only=["seed=0"])
    assert summary.ok and set(summary.ran) == {names["s0"], names["c0"]}
    assert fake_kinds.ledger_counts(ledger) == {"s0": 1, "c0": 1}


@pytest.mark.parametrize("option, value, message", [
    ("--only", "sed=0", "error: --only sed=...: no factor 'sed' in spec 'fake' (factors: i, "
                        "seed); did you mean 'seed'?"),
    ("--only", "i=7", "error: --only i=7: no cell has i = 7 (values: 0, 1, 2)"),
    ("--only", "i", "error: --only i: write FACTOR=VALUE[,FACTOR=VALUE...], e.g. --only "
                    "seed=0,invariance=other_transforms"),
    ("--rerun", "stael", "error: --rerun stael: not a selector (failed, stale, a job kind: "),
    ("--rerun", "fsource-00", "error: --rerun fsource-00: no job of these specs' plan has "
                              "that id"),
])
def test_unknown_selector_factor_or_value_is_one_exact_error(tmp_path, capsys, monkeypatch,
                                                             option, value, message):
    from dsl.cli import main
    import engine.runner

    fake_kinds.install(monkeypatch)
    plan = fake_kinds.make_plan(None, 3)
    monkeypatch.setattr(engine.runner, "_plan", lambda *a, **k: plan)
    assert main(["run", "x.toml", "--store", str(tmp_path), "--no-progress", option,
                 value]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1
    if value == "stael":
        assert err.rstrip().endswith("did you mean 'stale'?")
    assert not (tmp_path / "dsl.sqlite").exists() or not Store(tmp_path).runs()


# -- environment -------------------------------------------------------------------------------

def test_runs_and_jobs_record_their_environment(tmp_path, kinds_in_files):
    plan = fake_kinds.make_plan(None, 1)
    store = Store(tmp_path / "store")
    summary = run(plan, store=store, progress=False, echo=False)
    env = provenance.run_environments(store, [summary.run_ids["fake"]])[summary.run_ids["fake"]]
    for key in ("python", "torch", "torchvision", "cuda", "cudnn", "numba", "dsl", "hostname",
                "cpu", "gpu", "gpu_driver", "git_commit", "git_dirty", "git_diff_hash"):
        assert key in env
    recs = provenance.jobs(store, plan.jobs)
    assert set(recs) == set(plan.jobs)
    rec = recs[fake_kinds.by_name(plan)["s0"]]
    assert rec.environment["hostname"] and rec.environment["python"]
    assert rec.fingerprint and "prov_src.py" in rec.files


# -- results views: tables, report, diff, dsl show ---------------------------------------------

def test_tables_report_and_diff_flag_numbers_resting_on_stale_jobs(tmp_path, monkeypatch):
    from engine.results.diff import diff
    from engine.results.report import report
    from engine.results.tables import render, table

    spec, store, p = _tiny_store(tmp_path)
    run_id = store.record_run(p.specs[0])
    provenance.record_run(store, run_id, {"python": "3.11.7", "torch": "2.14.1",
                                          "gpu": "NVIDIA H100", "git_dirty": True})
    store.finish_run(run_id, "done")
    [clean, _] = table(spec, store=store)
    assert not clean.stale and "†" not in render([clean], "md")
    root = copy_project(tmp_path / "code")
    monkeypatch.setattr(fingerprint, "_DEFAULT", Fingerprinter(root))
    append(root / "engine/train.py", "\nEPS = 1e-9\n")  # every number rests on a train job
    [t1, t2] = table(spec, store=store)
    assert t1.stale == {(r, c) for r in t1.row_levels for c in t1.column_levels}
    assert all(t1.text(r, c).endswith(" †") for r, c in t1.stale)
    assert any("train: 4 job(s), engine/train.py changed" in n and "--rerun stale" in n
               for n in t1.notes)
    md = render([t1], "md")
    assert "†" in md and "engine/train.py changed" in md
    [page] = report(spec, tmp_path / "out", store=store)
    text = page.read_text()
    assert "Stale results" in text and "class='stale-mark'" in text
    assert "engine/train.py" in text and "--rerun" in text
    assert "NVIDIA H100" in text and "<th>uncommitted changes</th><td>yes</td>" in text
    d = diff(str(spec), store=store)
    assert set(d.results["stale"].drop_nulls().to_list()) == {"A and B"}
    assert any("engine/train.py changed" in n for n in d.notes)


def test_show_prints_a_job_with_its_code_environment_and_log(tmp_path, kinds_in_files, capsys):
    from dsl.cli import main

    folder, _ = kinds_in_files
    plan = fake_kinds.make_plan(None, 1)
    names = fake_kinds.by_name(plan)
    store = Store(tmp_path / "store")
    run(plan, store=store, progress=False, echo=False)
    jid = names["c0"]
    assert main(["show", jid[:14], "--store", str(store.root)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{jid}  (fcombine, version 1): done")
    assert '"add": 10.0' in out and f"a: {names['s0']} (done)" in out
    assert "value = 11" in out and "(today's)" in out
    assert "  Python: " in out and "  host: " in out
    assert f"log: {store.paths.artifact(jid) / 'log.txt'}" in out
    (folder / "prov_comb.py").write_text("from fake_kinds import combine\nVERSION = 2\n")
    fingerprint._DEFAULT = Fingerprinter()
    assert main(["show", jid, "--store", str(store.root)]) == 0
    out = capsys.readouterr().out
    assert "code: STALE" in out and "changed: prov_comb.py" in out
    assert main(["show", "fcombine-zzz", "--store", str(store.root)]) == 2
    assert "error: no job 'fcombine-zzz' in the store" in capsys.readouterr().err


def test_a_rerun_keeps_the_old_result_readable_until_the_new_one_is_published(tmp_path,
                                                                              kinds_in_files):
    import threading

    hold = tmp_path / "hold"
    plan = fake_kinds.make_plan(None, 1, hold={"s0": hold})
    names = fake_kinds.by_name(plan)
    store = Store(tmp_path / "store")
    assert run(plan, store=store, progress=False, echo=False).ok  # no hold file: no wait
    hold.touch()
    done = threading.Event()
    thread = threading.Thread(target=lambda: (run(plan, store=store, progress=False, echo=False,
                                                  rerun=[names["s0"]]), done.set()))
    thread.start()
    try:
        deadline = time.time() + 60
        while store.job(names["s0"]).status != "running" and time.time() < deadline:
            time.sleep(0.05)
        assert store.job(names["s0"]).status == "running"
        # While it runs again, the old artifact and metrics are still there to read.
        assert (store.paths.artifact(names["s0"]) / "value.json").is_file()
        assert not store.metrics([names["s0"]]).is_empty()
    finally:
        hold.unlink()
        thread.join(60)
    assert done.is_set() and store.finished(plan.jobs) == set(plan.jobs)


def test_a_job_on_a_gpu_records_the_gpu_driver_cuda_and_cudnn_torch_used(monkeypatch):
    """The GPU branch, without a GPU: a stand-in torch module as a job would have loaded it."""
    from types import SimpleNamespace

    from engine import environment

    cuda = SimpleNamespace(is_available=lambda: True, is_initialized=lambda: True,
                           current_device=lambda: 0, get_device_name=lambda i: "NVIDIA H100")
    fake = SimpleNamespace(version=SimpleNamespace(cuda="12.8"), cuda=cuda,
                           backends=SimpleNamespace(cudnn=SimpleNamespace(version=lambda: 91002)))
    monkeypatch.setitem(sys.modules, "torch", fake)
    monkeypatch.setattr(environment, "gpus", lambda: [{"name": "NVIDIA H100",
                                                       "driver": "570.86.15"}])
    environment._gpu_driver.cache_clear()
    env = environment.job_environment()
    environment._gpu_driver.cache_clear()
    assert (env["gpu"], env["gpu_driver"], env["cuda"], env["cudnn"]) == \
        ("NVIDIA H100", "570.86.15", "12.8", "9.10.2")
    assert ("GPU", "NVIDIA H100") in environment.describe(env)


def test_a_kind_that_reads_other_files_says_which_are_new_or_no_longer_read():
    from engine.fingerprint import CodeFingerprint

    now = CodeFingerprint("n", {"a.py": "1", "b.py": "2", "new.py": "3"})
    assert now.changed({"a.py": "1", "b.py": "9", "old.py": "4"}) == [
        "b.py", "new.py (newly read)", "old.py (no longer read)"]


def test_only_on_a_real_spec_keeps_the_matching_cells_and_the_jobs_they_need(tmp_path, capsys):
    import json

    from dsl.cli import main
    from dsl.only import restrict
    from dsl.planner import plan

    spec = tmp_path / "tiny.toml"
    spec.write_text(SPEC)
    p = plan([spec])
    hue = restrict(p, ["tf=hue,seed=1"])
    [sp] = hue.specs
    assert [(c.seed, c.factors["tf"]) for c in sp.cells] == [(1, "hue")]
    assert set(hue.jobs) < set(p.jobs) and set(sp.jobs) == set(hue.jobs)
    assert {p.jobs[j].kind for j in hue.jobs} == {"dataset", "train", "features", "linear"}
    either = restrict(p, ["tf=hue", "tf=rotate", "seed=0"])
    assert len(either.specs[0].cells) == 2
    assert main(["plan", str(spec), "--store", str(tmp_path / "none"), "--only", "tf=hue",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"]["cells"] == 2
