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
    assert "bin.toml:1: not UTF-8 text (byte 0xff at column 1)" in _err(capsys)
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


_INTERRUPTED_DRIVER = '''
import atexit, pathlib, sys, time
import engine.kinds, engine.runner, fake_kinds
from dsl.cli import main

store, hold, closing = sys.argv[1:4]
engine.kinds.KINDS.update(fake_kinds.FAKE_KINDS)
plan = fake_kinds.make_plan(None, 1, hold={"s0": hold})
engine.runner._plan = lambda *a, **k: plan

def slow_shutdown():  # the interpreter still closing down after the cleanup (workers, files)
    pathlib.Path(closing).write_text("")
    time.sleep(2)

if closing != "-":
    atexit.register(slow_shutdown)
sys.exit(main(["run", "x.toml", "--store", store, "--no-progress"]))
'''


def test_ctrl_c_says_interrupted_once_and_a_second_one_after_cleanup_still_exits_130(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    tests = Path(__file__).resolve().parent
    hold, closing, store = tmp_path / "hold", tmp_path / "closing", tmp_path / "store"
    hold.write_text("")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests), str(tests.parent)])}
    proc = subprocess.Popen([sys.executable, "-c", _INTERRUPTED_DRIVER, str(store), str(hold),
                             str(closing)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while not list((store / "tmp").glob("fsource-*")):  # s0 is running (and held)
            assert time.time() < deadline and proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)  # Ctrl-C: a clean stop
        while not closing.exists():  # cleaned up, reported, now shutting down
            assert time.time() < deadline and proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)  # an impatient second Ctrl-C
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, (proc.returncode, out, err)
    said = [ln for ln in (out + err).splitlines() if "interrupted" in ln]
    assert said == ["interrupted: 0 job(s) finished and kept; run again to continue"], out + err
    assert "Traceback" not in out + err


def test_a_burst_of_ctrl_c_still_exits_130_not_by_the_signal(tmp_path):
    """Ctrl-C held down: whenever the later ones land (the cleanup, the reporting, the
    interpreter's own shutdown), the exit status is 130, never death by SIGINT (-2)."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    tests = Path(__file__).resolve().parent
    hold, store = tmp_path / "hold", tmp_path / "store"
    hold.write_text("")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests), str(tests.parent)])}
    proc = subprocess.Popen([sys.executable, "-c", _INTERRUPTED_DRIVER, str(store), str(hold),
                             "-"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        while not list((store / "tmp").glob("fsource-*")):  # s0 is running (and held)
            assert time.time() < deadline and proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        while proc.poll() is None:
            assert time.time() < deadline
            proc.send_signal(signal.SIGINT)
            time.sleep(0.01)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert proc.returncode == 130
