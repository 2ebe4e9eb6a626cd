"""`dsl preview SPEC --task`: writes where asked (folders made), says which factor levels it
shows, and refuses a seed the spec does not have or an empty sheet."""

from __future__ import annotations

from pathlib import Path

from dsl.cli import main

QUICKSTART = Path(__file__).resolve().parents[1] / "specs" / "quickstart.toml"


def test_preview_names_the_factor_level_it_shows_and_makes_its_folder(tmp_path, capsys):
    out = tmp_path / "new" / "folder" / "source.png"
    assert main(["preview", str(QUICKSTART), "--task", "source", "-n", "2", "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    err = capsys.readouterr().err
    assert "task 'source' uses factor(s) invariance; shown with invariance = same" in err
    assert "--set 'factors.invariance=[...]'" in err
    # the target task uses no factor: no note
    assert main(["preview", str(QUICKSTART), "--task", "target", "-n", "2", "-o", str(out)]) == 0
    assert "uses factor" not in capsys.readouterr().err


def test_preview_refuses_a_seed_the_spec_lacks_and_an_empty_sheet(tmp_path, capsys):
    out = tmp_path / "p.png"
    assert main(["preview", str(QUICKSTART), "--task", "target", "--seed", "5",
                 "-o", str(out)]) == 2
    assert "quickstart.toml has seeds 0, 1, 2; --seed 5 is not one of them" in capsys.readouterr().err
    assert main(["preview", str(QUICKSTART), "--task", "target", "-n", "0", "-o", str(out)]) == 2
    assert "-n 0: show at least one sample" in capsys.readouterr().err
    assert not out.exists()


def test_preview_without_o_writes_into_the_store_not_the_working_folder(tmp_path, capsys,
                                                                         monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    store = tmp_path / "store"
    assert main(["preview", str(QUICKSTART), "--task", "target", "-n", "2",
                 "--store", str(store)]) == 0
    written = Path(capsys.readouterr().out.strip())
    assert written == store / "previews" / "quickstart-target-seed0-train.png"
    assert written.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(work.iterdir()) == []
