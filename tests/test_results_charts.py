"""Charts from hand-made results: the right encodings, and real PNG/SVG/HTML files."""

import struct

import polars as pl
import pytest

from engine.results.charts import build_charts, save, to_png

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _data():
    cells, rows = [], []
    for seed in (0, 1, 2):
        for inv in ("same", "other"):
            for n in (100, 1000):
                tj, pj = f"train-{seed}{inv}{n}", f"linear-{seed}{inv}{n}"
                cells.append({"seed": seed, "factors": {"invariance": inv, "n": n}, "train": tj,
                              "probes": [{"name": "linear", "kind": "linear", "job": pj,
                                          "derived": {}}], "derived": {}})
                if not (inv == "other" and n == 1000):  # a point with every job missing
                    rows.append((pj, "accuracy", "test",
                                 0.6 + 0.2 * (inv == "same") + n / 1e4 + 0.01 * seed))
    m = pl.DataFrame(rows, schema={"job_id": pl.String, "name": pl.String, "split": pl.String,
                                   "value": pl.Float64}, orient="row")
    return cells, m


REPORTS = [
    {"title": "By samples", "chart": {"x": "n", "y": "linear.accuracy", "color": "invariance",
                                      "kind": "line"}},
    {"chart": {"x": "invariance", "y": "linear.accuracy", "color": "n", "kind": "bar"}},
    {"chart": {"x": "n", "y": "invariance", "color": "linear.accuracy", "kind": "heatmap"}},
    {"chart": {"x": "n", "y": "linear.accuracy", "column": "invariance", "kind": "line"}},
]


def _png_size(data: bytes) -> tuple[int, int]:
    return struct.unpack(">II", data[16:24])


def test_line_chart_has_ci_band_axes_from_spec_and_notes_missing():
    cells, m = _data()
    line = build_charts(cells, REPORTS, m, spec="s")[0]
    spec = line.vegalite()
    layers = spec["layer"]
    assert [ly["mark"]["type"] if isinstance(ly["mark"], dict) else ly["mark"]
            for ly in layers] == ["area", "line"]
    assert layers[0]["encoding"]["y"]["field"] == "ci_low"
    assert layers[0]["encoding"]["y2"]["field"] == "ci_high"
    assert layers[1]["encoding"]["x"]["title"] == "n"
    assert layers[1]["encoding"]["x"]["type"] == "quantitative"
    assert layers[1]["encoding"]["y"]["title"] == "linear.accuracy"
    assert spec["title"]["text"] == "By samples"
    assert any("1 point(s) not shown" in s for s in spec["title"]["subtitle"])
    same_1000 = line.data.filter((pl.col("x") == 1000) & (pl.col("color") == "same"))
    assert same_1000["mean"].item() == pytest.approx(0.6 + 0.2 + 0.1 + 0.01)


def test_every_kind_exports_png_svg_html(tmp_path):
    cells, m = _data()
    charts = build_charts(cells, REPORTS, m, spec="s")
    assert [c.kind for c in charts] == ["line", "bar", "heatmap", "line"]
    for c in charts:
        png = to_png(c)
        assert png[:8] == PNG_MAGIC and len(png) > 1000
        w, h = _png_size(png)
        assert w > 100 and h > 100
    paths = save(charts[2], tmp_path, ("png", "svg", "html"))
    assert [p.suffix for p in paths] == [".png", ".svg", ".html"]
    assert paths[0].read_bytes()[:8] == PNG_MAGIC and paths[0].stat().st_size > 0
    assert paths[1].read_text().lstrip().startswith("<svg")
    assert "vega" in paths[2].read_text().lower()


def test_heatmap_encodes_dims_and_value():
    cells, m = _data()
    heat = build_charts(cells, [REPORTS[2]], m)[0].vegalite()
    rect = heat["layer"][0]["encoding"]
    assert rect["x"]["title"] == "n" and rect["y"]["title"] == "invariance"
    assert rect["color"]["title"] == "linear.accuracy"


def test_x_labels_slant_only_when_they_would_collide():
    """Table 2's 18 transform names side by side overlap upright; two short levels do not."""
    names = ["translate", "rotate", "scale", "shear", "vflip", "hflip", "hue", "brightness",
             "grayscale", "posterize", "invert", "sharpen", "blur", "noise", "pixelate",
             "elastic", "erasing", "contrast"]
    cells, rows = [], []
    for t in ["none", "hue"]:
        for p in names:
            job = f"sensitivity-{t}-{p}"
            cells.append({"seed": 0, "factors": {"transform": t, "probed": p}, "train": f"t-{t}",
                          "probes": [{"name": "sensitivity", "kind": "sensitivity", "job": job,
                                      "derived": {}}], "derived": {}})
            rows.append((job, "sensitivity", None, 0.5))
    m = pl.DataFrame(rows, schema={"job_id": pl.String, "name": pl.String, "split": pl.String,
                                   "value": pl.Float64}, orient="row")
    wide = {"chart": {"x": "probed", "y": "transform", "color": "sensitivity",
                      "kind": "heatmap"}}
    tall = {"chart": {"x": "transform", "y": "probed", "color": "sensitivity",
                      "kind": "heatmap"}}
    bars = {"chart": {"x": "probed", "y": "sensitivity", "kind": "bar"}}
    angle = [c.vegalite()["layer"][0]["encoding"]["x"]["axis"]["labelAngle"]
             for c in build_charts(cells, [wide, tall, bars], m)]
    assert angle == [-45, 0, -45]
    # the fixture's two short levels of n stay upright, bars and heatmap alike
    cells, m = _data()
    _, bar, heat, _ = build_charts(cells, REPORTS, m)
    assert [c.vegalite()["layer"][0]["encoding"]["x"]["axis"]["labelAngle"]
            for c in (bar, heat)] == [0, 0]


def test_wide_numeric_x_gets_a_log_axis_at_the_swept_values():
    """Training-set sizes 1k..500k (paper Fig. 2): a linear axis crushes 1k and 10k together."""
    cells, rows = [], []
    for seed in (0, 1):
        for n in (1000, 10000, 500000):
            pj = f"linear-{seed}-{n}"
            cells.append({"seed": seed, "factors": {"n": n}, "train": f"train-{seed}-{n}",
                          "probes": [{"name": "linear", "kind": "linear", "job": pj,
                                      "derived": {}}], "derived": {}})
            rows.append((pj, "accuracy", "test", 0.5 + 0.01 * seed))
    m = pl.DataFrame(rows, schema={"job_id": pl.String, "name": pl.String, "split": pl.String,
                                   "value": pl.Float64}, orient="row")
    wide = build_charts(cells, [REPORTS[0] | {"chart": {"x": "n", "y": "linear.accuracy",
                                                        "kind": "line"}}], m)[0].vegalite()
    x = wide["layer"][1]["encoding"]["x"]
    assert x["scale"]["type"] == "log" and x["axis"]["values"] == [1000, 10000, 500000]
    assert to_png(build_charts(cells, [REPORTS[0] | {"chart": {
        "x": "n", "y": "linear.accuracy", "kind": "line"}}], m)[0])[:8] == PNG_MAGIC
    # a narrow range (100, 1000 in _data) keeps a linear axis
    narrow_cells, narrow_metrics = _data()
    narrow = build_charts(narrow_cells, REPORTS[:1], narrow_metrics)[0].vegalite()
    assert "scale" not in narrow["layer"][1]["encoding"]["x"]


def test_legend_is_opaque_bar_caps_are_short_and_heatmap_title_names_both_dims():
    cells, m = _data()
    line, bar, heat, _ = build_charts(cells, REPORTS, m)
    assert line.vegalite()["layer"][1]["encoding"]["color"]["legend"]["symbolOpacity"] == 1
    errs = bar.vegalite()["layer"][1]["mark"]
    assert errs["type"] == "errorbar" and errs["ticks"]["size"] <= 12
    assert heat.title == "linear.accuracy by invariance x n"


def test_charts_draw_only_points_with_values_in_plan_order_and_note_partial_ones():
    cells, m = _data()
    # drop one seed's value of (same, 100): that point is drawn from partial results
    m = m.filter(pl.col("job_id") != "linear-0same100")
    line, bar, heat, _ = build_charts(cells, REPORTS, m)
    values = line.vegalite()["layer"][0]["data"]["values"] if "data" in line.vegalite()[
        "layer"][0] else line.vegalite()["data"]["values"]
    assert len(values) == 3 and all(v["mean"] is not None for v in values)
    assert any("1 point(s) from partial results" in s for s in line.vegalite()["title"]["subtitle"])
    assert line.vegalite()["layer"][1]["encoding"]["color"]["sort"] == ["same", "other"]
    bars = bar.vegalite()["layer"][0]["encoding"]
    assert bars["x"]["sort"] == ["same", "other"] and bars["color"]["sort"] == [100, 1000]
    text = heat.vegalite()["layer"][1]["encoding"]["color"]
    assert text["condition"]["value"] == "black" and text["value"] == "white"  # dark cells: white
