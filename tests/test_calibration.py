"""Measured job costs: fitting, the calibration file, projecting a plan, and the benchmark that
writes the file (benchmarks/suite_cost.py) feeding `dsl plan --calibration`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dsl import calibration
from dsl.cli import main
from dsl.errors import DslError
from dsl.estimate import ASSUMED_TFLOPS, job_flop
from dsl.planner import plan

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "specs" / "quickstart.toml"


def test_fit_separates_overhead_from_rate():
    f = calibration.fit([(100.0, 3.0), (300.0, 7.0), (200.0, 5.0)])
    assert f.overhead == pytest.approx(1.0) and f.per_unit == pytest.approx(0.02)
    assert f.seconds(1000) == pytest.approx(21.0) and f.samples == 3


@pytest.mark.parametrize("points", [[(100.0, 4.0)], [(100.0, 4.0), (100.0, 6.0)],
                                    [(100.0, 6.0), (300.0, 4.0)]])
def test_fit_without_a_rising_line_goes_through_the_origin(points):
    f = calibration.fit(points)
    xs, ys = zip(*points)
    assert f.overhead == 0.0
    assert f.per_unit == pytest.approx(sum(ys) / sum(xs))


def _calibration(tmp_path, fits) -> Path:
    path = tmp_path / "cal.json"
    calibration.save(path, "box", "CPU: test", "2026-12-05",
                     {g: calibration.Fit(*f, 2) for g, f in fits.items()})
    return path


def test_project_prices_measured_groups_and_names_the_rest(tmp_path):
    p = plan(QUICKSTART)
    jobs = p.jobs
    cal = calibration.load(_calibration(tmp_path, {"train/small_cnn": (2.0, 1e-9),
                                                   "dataset/transforms2d": (0.5, 1e-4)}))
    proj = calibration.project(jobs, cal)
    trains = [j for j in jobs.values() if j.kind == "train"]
    datasets = [j for j in jobs.values() if j.kind == "dataset"]
    assert proj.seconds["train"] == pytest.approx(
        sum(2.0 + 1e-9 * job_flop(j, jobs) for j in trains))
    assert proj.seconds["dataset"] == pytest.approx(
        sum(0.5 + 1e-4 * calibration.size(j, jobs) for j in datasets))
    # groups the file lacks are priced by the FLOP estimate, and named
    linear = [j for j in jobs.values() if j.kind == "linear"]
    features = [j for j in jobs.values() if j.kind == "features"]
    assert proj.uncovered == {"features/small_cnn": len(features),
                              "linear/small_cnn": len(linear)}
    assert proj.seconds["linear"] == pytest.approx(
        sum(job_flop(j, jobs) for j in linear) / (ASSUMED_TFLOPS * 1e12))
    text = calibration.describe(proj, cal)
    assert "calibrated on box" in text and f"linear/small_cnn ({len(linear)} jobs)" in text


def test_a_linear_probe_is_grouped_by_its_features_model():
    p = plan(QUICKSTART)
    groups = {calibration.group(j, p.jobs) for j in p.jobs.values()}
    assert groups == {"dataset/transforms2d", "train/small_cnn", "features/small_cnn",
                      "linear/small_cnn"}


@pytest.mark.parametrize("content, field", [
    ("not json", "not a calibration file"),
    (json.dumps({"format": "other"}), "field 'format'"),
    (json.dumps({"format": calibration.FORMAT, "fits": {}}), "field 'fits'"),
    (json.dumps({"format": calibration.FORMAT,
                 "fits": {"train/x": {"overhead_s": -1, "seconds_per_unit": 1}}}),
     "fits.train/x.overhead_s must be a finite number >= 0"),
    (json.dumps({"format": calibration.FORMAT,
                 "fits": {"train/x": {"overhead_s": 1, "seconds_per_unit": "fast"}}}),
     "fits.train/x.seconds_per_unit"),
])
def test_a_bad_calibration_file_is_one_error_naming_file_and_field(tmp_path, capsys, content,
                                                                   field):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    with pytest.raises(DslError, match="bad.json"):
        calibration.load(bad)
    assert main(["plan", str(QUICKSTART), "--calibration", str(bad)]) == 2
    err = capsys.readouterr().err
    assert field in err and "bad.json" in err and "Traceback" not in err


def test_a_missing_calibration_file_says_how_to_make_one(tmp_path, capsys):
    assert main(["plan", str(QUICKSTART), "--calibration", str(tmp_path / "none.json")]) == 2
    assert "benchmarks/suite_cost.py" in capsys.readouterr().err


def test_suite_cost_measures_and_plan_uses_its_file(tmp_path, capsys):
    out = tmp_path / "cal.json"
    run = subprocess.run([sys.executable, "benchmarks/suite_cost.py", "--specs",
                          str(QUICKSTART), "--scale", "0.05", "--out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "projected:" in run.stdout and "FLOP estimate says" in run.stdout
    cal = calibration.load(out)
    # every group of the quickstart was measured, at two sizes after the warm-up
    assert set(cal.fits) == {"dataset/transforms2d", "train/small_cnn", "features/small_cnn",
                             "linear/small_cnn"}
    assert all(f.samples >= 2 for f in cal.fits.values())
    assert main(["plan", str(QUICKSTART), "--calibration", str(out)]) == 0
    text = capsys.readouterr().out
    assert "calibrated on" in text and "not in the calibration" not in text
    assert main(["plan", str(QUICKSTART), "--calibration", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["projection"]["hours"] > 0 and data["projection"]["uncovered"] == {}
