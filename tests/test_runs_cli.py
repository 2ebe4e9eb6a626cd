"""`dsl runs`: the recorded runs, newest first, with the ids `dsl diff` takes."""

from __future__ import annotations

import json
import time

import fake_kinds
from dsl.cli import main
from engine.store import Store


def _store(tmp_path, n: int = 3) -> tuple[Store, list[str]]:
    store = Store(tmp_path / "store")
    spec = fake_kinds.make_plan(None, 2).specs[0]
    ids = []
    for i in range(n):
        ids.append(store.record_run(spec, profile="smoke" if i == 0 else None,
                                    overrides=["train.epochs=2"] if i == 1 else ()))
        store.finish_run(ids[-1], "done" if i else "failed")
        time.sleep(0.01)
    return store, ids


def test_runs_lists_newest_first_with_status_options_and_jobs(tmp_path, capsys):
    store, ids = _store(tmp_path)
    assert main(["runs", "--store", str(store.root), "-f", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["run"] for r in rows] == ids[::-1]
    assert [r["status"] for r in rows] == ["done", "done", "failed"]
    assert [r["options"] for r in rows] == ["", "--set train.epochs=2", "--profile smoke"]
    assert {r["spec"] for r in rows} == {"fake"} and {r["jobs"] for r in rows} == {4}

    assert main(["runs", "--store", str(store.root), "-n", "2"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split() == ["run", "spec", "status", "started", "took", "jobs", "options",
                                "file"]
    assert [line.split()[0] for line in lines[1:]] == ids[::-1][:2]  # whole ids, never cut
    assert "1 older run(s) not shown" in err


def test_runs_filters_by_spec_name_or_file_and_says_what_is_there(tmp_path, capsys):
    store, ids = _store(tmp_path, 1)
    assert main(["runs", "fake", "--store", str(store.root), "-f", "json"]) == 0
    assert [r["run"] for r in json.loads(capsys.readouterr().out)] == ids
    assert main(["runs", "specs/fake.toml", "--store", str(store.root), "-f", "json"]) == 0
    assert [r["run"] for r in json.loads(capsys.readouterr().out)] == ids
    assert main(["runs", "other", "--store", str(store.root)]) == 2
    err = capsys.readouterr().err
    assert "no runs of other" in err and "(specs with runs: fake)" in err


def test_runs_of_a_store_that_does_not_exist_is_an_error_not_an_empty_list(tmp_path, capsys):
    assert main(["runs", "--store", str(tmp_path / "typo")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: no store at {tmp_path / 'typo'}") and "Traceback" not in err
    assert not (tmp_path / "typo").exists()


def test_an_ambiguous_run_prefix_says_how_many_and_where_to_look(tmp_path):
    import pytest
    from dsl.errors import DslError

    store, ids = _store(tmp_path, 7)
    with pytest.raises(DslError) as info:
        store.run(ids[0][:4])
    assert "and 2 more" in str(info.value) and "`dsl runs` lists them" in str(info.value)


def test_results_commands_say_when_their_store_does_not_exist(tmp_path, capsys):
    """A mistyped --store would otherwise read as results never made ("missing (not run)")."""
    from pathlib import Path

    spec = Path(__file__).resolve().parents[1] / "specs" / "quickstart.toml"
    typo = tmp_path / "typo"
    assert main(["table", str(spec), "--store", str(typo)]) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"note: no store at {typo}: nothing has run with it yet")
    assert not typo.exists()
    store, _ = _store(tmp_path)  # an existing store: no note
    assert main(["table", str(spec), "--store", str(store.root)]) == 0
    assert "no store" not in capsys.readouterr().err
