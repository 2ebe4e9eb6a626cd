"""`dsl validate` and `dsl schema` from the command line: exit codes, file:line, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from dsl.cli import main

ROOT = Path(__file__).resolve().parent.parent

GOOD = '''\
[spec]
title = "good"

[draw]
objs = { objects = 4 }

[task.t]
data = { kind = "transforms2d", objects = "objs" }

[train]
task = "t"
arch = "small_cnn"
'''


def test_validate_ok_and_invalid(tmp_path, capsys):
    (tmp_path / "good.toml").write_text(GOOD)
    (tmp_path / "bad.toml").write_text(GOOD.replace('arch = "small_cnn"', 'arch = "resnt18"'))
    (tmp_path / "_base.toml").write_text("[train]\nepochs = 1\n")  # bases are skipped
    code = main(["validate", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 1
    assert f"ok  {tmp_path / 'good.toml'}" in out
    assert f"{tmp_path / 'bad.toml'}:12 (train.arch): unknown arch 'resnt18'" in err
    assert "did you mean 'resnet18'?" in err
    assert "_base" not in out + err


def test_validate_all_good_exits_zero(tmp_path, capsys):
    (tmp_path / "good.toml").write_text(GOOD)
    assert main(["validate", str(tmp_path / "good.toml"), "--set", "train.epochs=2"]) == 0
    assert "ok  " in capsys.readouterr().out
    # the counts are the planner's: 2 seeds x 3 factor values, each cell a dataset and a train
    assert main(["validate", str(tmp_path / "good.toml"), "--set", "spec.seeds=2", "--set",
                 "factors.e=[1, 2, 3]", "--set", 'train.epochs="{e}"']) == 0
    assert capsys.readouterr().out == f"ok  {tmp_path / 'good.toml'} (6 cells, 8 jobs)\n"


def test_validate_bad_override(tmp_path, capsys):
    (tmp_path / "good.toml").write_text(GOOD)
    assert main(["validate", str(tmp_path / "good.toml"), "--set", "train.epochs=zero"]) == 1
    assert "--set train.epochs=zero (train.epochs): expected an integer" in capsys.readouterr().err


def test_validate_subprocess_has_no_traceback(tmp_path):
    (tmp_path / "broken.toml").write_text('[spec]\ntitle = "x"\n[train]\ntask = "a"\ntask = "b"\n')
    (tmp_path / "cyclic.toml").write_text('[spec]\ntitle = "x"\nextends = "cyclic.toml"\n')
    for name, where in (("broken.toml", "broken.toml:5"), ("cyclic.toml", "cyclic.toml:3")):
        run = subprocess.run([sys.executable, "-m", "dsl", "validate", str(tmp_path / name)],
                             capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert run.returncode != 0
        assert where in run.stderr
        assert "Traceback" not in run.stderr


def test_validate_missing_path(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.toml")]) != 0
    assert "no such spec file" in capsys.readouterr().err


def test_shipped_examples_validate(capsys):
    code = main(["validate", str(ROOT / "specs" / "adversarial_invariance.toml"),
                 str(ROOT / "specs" / "invariance_vs_factors_samples.toml")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.count("ok  ") == 2


def test_schema_prints_json(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "dsl spec"
    assert set(schema["properties"]) == {"spec", "draw", "data", "task", "factors", "train",
                                         "probe", "report", "claim"}


def test_a_missing_spec_points_at_the_closest_one(tmp_path, capsys):
    (tmp_path / "invariance_vs_factors_samples.toml").write_text(GOOD)
    (tmp_path / "quickstart.toml").write_text(GOOD)
    for asked, hint in (("invariance_vs_samples.toml", "invariance_vs_factors_samples.toml"),
                        ("quickstrat.toml", "quickstart.toml"), ("nothing.toml", None)):
        assert main(["plan", str(tmp_path / asked)]) == 2  # usage error, as argparse
        err = capsys.readouterr().err
        assert f"{tmp_path / asked}: no such spec file or folder" in err
        assert (f"did you mean '{tmp_path / hint}'?" in err) if hint else "did you mean" not in err
        assert "Traceback" not in err


def test_a_missing_spec_with_two_equally_likely_renames_gets_no_guess(tmp_path, capsys):
    (tmp_path / "inv_factors_and_more_samples.toml").write_text(GOOD)
    assert main(["plan", str(tmp_path / "inv_samples.toml")]) == 2
    assert f"did you mean '{tmp_path / 'inv_factors_and_more_samples.toml'}'?" in \
        capsys.readouterr().err
    (tmp_path / "inv_objects_and_more_samples.toml").write_text(GOOD)
    assert main(["plan", str(tmp_path / "inv_samples.toml")]) == 2
    err = capsys.readouterr().err
    assert "no such spec file or folder" in err and "did you mean" not in err
