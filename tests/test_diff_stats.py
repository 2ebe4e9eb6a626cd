"""The statistics of `dsl diff`: bootstrap intervals, P(B > A), corrected p-values named in the
output, and several sides (`dsl diff A B C`)."""

import json
import sys
from pathlib import Path

import polars as pl
import pytest

from dsl import stats
from engine.results.diff import diff_many
from dsl.diff_stats import compare, flag
from dsl.planner import plan
from engine.store import Store

sys.path.insert(0, str(Path(__file__).parent))
from results_fake import complete_plan  # noqa: E402
from test_diff import BASE, _value, _write  # noqa: E402


def test_paired_compare_bootstraps_the_per_seed_differences():
    a, b = {0: 0.5, 1: 0.6, 2: 0.7, 3: 0.65}, {0: 0.6, 1: 0.72, 2: 0.79, 3: 0.74}
    r = compare(a, b)
    d = [b[s] - a[s] for s in sorted(a)]
    assert r["paired"] and (r["ci_low"], r["ci_high"]) == pytest.approx(
        stats.bootstrap_interval(d))
    assert r["p_improve"] == pytest.approx(
        stats.probability_of_improvement(list(a.values()), list(b.values())))
    from scipy import stats as sps
    assert r["p_value"] == pytest.approx(sps.ttest_rel(list(b.values()),
                                                       list(a.values())).pvalue)
    perm = compare(a, b, test="permutation")
    assert perm["p_value"] == pytest.approx(2 / 16)  # 4 positive pairs: 2 of 16 sign patterns


def test_unpaired_compare_resamples_each_side():
    a, b = {0: 0.5, 1: 0.6, 2: 0.7}, {5: 0.8, 6: 0.9, 7: 0.85, 8: 0.95}
    r = compare(a, b)
    assert not r["paired"] and r["ci_low"] > 0 and r["ci_low"] < r["delta"] < r["ci_high"]
    assert r["p_improve"] == 1.0


def _frame(pvals, status="within noise"):
    return pl.DataFrame({"p_value": pvals, "status": [status if p is not None else "no CI"
                                                      for p in pvals]},
                        schema={"p_value": pl.Float64, "status": pl.String})


def test_flag_corrects_across_every_comparison_together():
    # alone, 0.03 and 0.04 pass at 5%; corrected over four values they do not under Holm
    one, two = _frame([0.005, 0.03]), _frame([0.04, None, 0.01])
    holm = flag([one, two], "holm")
    assert holm[0]["p_adjusted"].to_list() == pytest.approx([0.02, 0.06])
    assert holm[1]["p_adjusted"].to_list()[0] == pytest.approx(0.06)
    assert holm[0]["status"].to_list() == ["changed", "within noise"]
    assert holm[1]["status"].to_list() == ["within noise", "no CI", "changed"]
    bh = flag([one, two], "bh")
    assert bh[0]["status"].to_list() == ["changed", "changed"]  # BH adjusted: 0.02, 0.04
    assert flag([one, two], "none")[0]["p_adjusted"].to_list() == [0.005, 0.03]


def test_diff_a_b_c_compares_each_with_a_and_names_the_correction(tmp_path, capsys):
    from dsl.cli import main

    a = _write(tmp_path / "a")
    b = _write(tmp_path / "b", base=BASE.replace("epochs = 1", "epochs = 2"))
    c = _write(tmp_path / "c", base=BASE.replace("epochs = 1", "epochs = 3"))
    store = Store(tmp_path / "store")
    complete_plan(store, plan([a]), value=_value())
    complete_plan(store, plan([b]), value=_value(shift=0.1))
    complete_plan(store, plan([c]), value=_value(shift=0.0))
    results = diff_many([a, b, c], store=store, correction="holm")
    assert [r.b.label for r in results] == [str(b), str(c)]
    assert all(r.a.label == str(a) for r in results)
    tested = sum(r.results["p_value"].is_not_null().sum() for r in results)
    assert f"Holm (family-wise error) across the {tested} value(s)" in results[0].method
    acc = [r.results.filter((pl.col("probe") == "linear") & (pl.col("metric") == "accuracy") &
                            (pl.col("split") == "test")) for r in results]
    assert acc[0]["delta"].to_list() == pytest.approx([0.1, 0.1], abs=0.03)
    assert acc[1]["delta"].to_list() == pytest.approx([0.0, 0.0], abs=0.03)
    assert set(acc[1]["status"].to_list()) == {"within noise"}
    assert all(0 <= p <= 1 for p in acc[0]["p_improve"].to_list())

    assert main(["diff", str(a), str(b), str(c), "--store", str(store.root),
                 "--correction", "bh"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("# 2 comparisons with ") and md.count("# diff: ") == 2
    assert "Benjamini-Hochberg (FDR)" in md and "| P(B>A) | p adj. |" in md
    assert main(["diff", str(a), str(b), str(c), "--store", str(store.root), "-f",
                 "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["format"] == "dsl.diff-many/1" and len(doc["diffs"]) == 2
    assert "percentile bootstrap" in doc["diffs"][0]["results"]["method"]
    assert main(["diff", str(a), str(b), str(c), "--store", str(store.root), "-f",
                 "csv"]) == 0
    csv = pl.read_csv(capsys.readouterr().out.encode())
    assert csv.columns[0] == "b" and set(csv["b"].to_list()) == {str(b), str(c)}
    assert {"p_value", "p_adjusted", "p_improve"} <= set(csv.columns)
