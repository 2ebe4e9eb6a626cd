"""User mistakes found by driving the command line as a researcher would: each is one clear
line naming what to fix (exit 2), never a traceback."""

from __future__ import annotations

import json

import pytest

from dsl.cli import main

SPEC = '''\
[spec]
title = "cli errors"

[data.flips]
kind = "transforms2d"
objects = ["apple", "banana"]
transforms = ["hflip"]

[data.turns]
kind = "transforms2d"
objects = ["apple", "banana"]
transforms = ["rotate"]

[task.t]
data = "{inv}"
n_train = 16

[factors]
inv = ["flips", "turns"]

[train]
task = "t"
arch = "small_cnn"
epochs = 1

[[report]]
table = { rows = "inv", columns = "probe", value = "train.accuracy" }
'''


def _err(capsys):
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return err


def test_an_unwritable_output_path_is_one_line(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC)
    (tmp_path / "afile").write_text("x")
    store = ["--store", str(tmp_path / "store")]
    assert main(["table", str(spec), "-f", "csv", "-o", str(tmp_path / "afile" / "t.csv"),
                 *store]) == 2
    assert "error:" in _err(capsys)
    assert main(["report", str(spec), "-o", str(tmp_path / "afile"), *store]) == 2
    assert str(tmp_path / "afile") in _err(capsys)


def test_a_spec_that_is_not_utf8_is_named(tmp_path, capsys):
    bad = tmp_path / "bin.toml"
    bad.write_bytes(b"\xff\xfe\x00\x01")
    assert main(["validate", str(bad)]) == 1
    assert "bin.toml: not UTF-8 text" in _err(capsys)
    assert main(["plan", str(bad)]) == 2
    assert "save it as UTF-8" in _err(capsys)


def test_set_problems_name_the_set_and_do_not_cascade(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC)
    assert main(["plan", str(spec), "--store", str(tmp_path / "store")]) == 0
    capsys.readouterr()
    assert main(["plan", str(spec), "--set", "factors.inv=3"]) == 2
    err = _err(capsys)
    assert "--set factors.inv=3 (factors.inv): expected a valid list" in err
    assert "unknown factor" not in err and "unknown column" not in err
    assert main(["plan", str(spec), "--set", 'factors.inv=["flips", "turnz"]']) == 2
    err = _err(capsys)
    assert "s.toml:15 (task.t.data): unknown data 'turnz'" in err
    assert "from --set factors.inv=" in err and "did you mean 'turns'" in err


def test_diff_names_a_missing_spec_file(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC)
    assert main(["diff", str(spec), str(tmp_path / "nosuch.toml"),
                 "--store", str(tmp_path / "store")]) == 2
    assert "nosuch.toml: no such spec file" in _err(capsys)


def test_preview_data_config_inline_file_and_mistakes(tmp_path, capsys):
    good = {"kind": "transforms2d", "objects": ["apple", "banana"]}
    out = tmp_path / "p.png"
    assert main(["preview", "--data-config", json.dumps(good), "-n", "4", "-o", str(out)]) == 0
    assert out.is_file()
    (tmp_path / "c.json").write_text(json.dumps(good))
    assert main(["preview", "--data-config", str(tmp_path / "c.json"), "-n", "4",
                 "-o", str(out)]) == 0
    capsys.readouterr()
    cases = [(json.dumps({"kind": "transforms2d"}), "lacks the field 'objects'"),
             (str(tmp_path / "none.json"), "cannot read it"),
             ('{"kind": ', "not JSON")]
    for value, needle in cases:
        assert main(["preview", "--data-config", value, "-o", str(out)]) == 2
        assert needle in _err(capsys)
    assert main(["preview", "--data-config", json.dumps(good), "--label", "nosuch",
                 "-o", str(out)]) == 2
    assert "no label 'nosuch' in this data (labels: class)" in _err(capsys)


def test_spec_paths_may_follow_the_options(tmp_path, capsys):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text(SPEC.replace('title = "cli errors"', 'title = "a"'))
    b.write_text(SPEC.replace('title = "cli errors"', 'title = "b"'))
    assert main(["plan", str(a), "--store", str(tmp_path / "store"), str(b)]) == 0
    out = capsys.readouterr().out
    assert "total: 2 specs" in out
    with pytest.raises(SystemExit) as exit_:
        main(["plan", str(a), "--bogus", "1"])
    assert exit_.value.code == 2
    assert "unrecognized arguments: --bogus 1" in _err(capsys)


def test_run_on_a_damaged_store_database_is_one_line(tmp_path, capsys):
    spec = tmp_path / "x.toml"
    spec.write_text(SPEC)
    store = tmp_path / "store"
    store.mkdir()
    (store / "dsl.sqlite").write_bytes(b"not a database at all\n" * 10)
    assert main(["run", str(spec), "--store", str(store), "--no-progress"]) == 2
    err = _err(capsys)
    assert str(store / "dsl.sqlite") in err and "damaged" in err
    assert len(err.strip().splitlines()) == 1
