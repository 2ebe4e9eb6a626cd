"""Resolution: cells -> concrete configs per docs/jobs.md, derived columns, factors, --set."""

from __future__ import annotations

import textwrap

import pytest

from dsl import catalog
from dsl.errors import DslError, SpecError
from dsl.factors import grid, substitute
from dsl.planner import plan, resolve_task


def write(tmp_path, text, name="s.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def jobs_of(p, kind):
    return [j for j in p.jobs.values() if j.kind == kind]


def test_grid_zip_exclude_and_substitution():
    cells = grid({"a": [1, 2], "b": ["x", "y"], "c": [True, False]}, zips=[["a", "c"]],
                 exclude=[{"a": 2, "b": "y"}])
    assert cells == [{"a": 1, "c": True, "b": "x"}, {"a": 1, "c": True, "b": "y"},
                     {"a": 2, "c": False, "b": "x"}]
    assert grid({}) == [{}]
    assert grid({"a": [1, 2]}, exclude=[{"a": 1.0}]) == [{"a": 2}]  # 1 == 1.0 in TOML
    assert grid({"a": [1, True]}, exclude=[{"a": True}]) == [{"a": 1}]  # but true is not 1
    with pytest.raises(DslError, match="different lengths"):
        grid({"a": [1, 2], "b": [1]}, zips=[["a", "b"]])
    env = {"k": 3, "rel": "subset", "flag": True}
    assert substitute({"n": "{k}", "s": "chain[{k}]", "o": "{rel}_objects", "l": ["{flag}"]},
                      env) == {"n": 3, "s": "chain[3]", "o": "subset_objects", "l": [True]}
    with pytest.raises(DslError, match="did you mean 'rel'"):
        substitute("{rell}", env)


BASE = """\
[spec]
title = "t"
seeds = [3]

[draw]
objs = { objects = 6 }
tf = { transforms = 2 }

[data.gen]
kind = "transforms2d"
objects = "objs"
transforms = ["hue", "rotate", "tf"]
params = { rotate = { degrees = [0, 90] } }

[task.gen]
data = "gen"
n_train = 300

[task.cifar]
data = { kind = "cifar10", classes = [1, 2, 3] }

[task.mix]
data = { kind = "composite", background = "cifar100", foreground = { objects = "objs" } }
label = "foreground"

[train]
task = "gen"
lr = 1

[[probe]]
kind = "linear"
task = "cifar"

[[probe]]
kind = "accuracy"

[[probe]]
kind = "sensitivity"
task = "mix"
vary = "background"
"""


def test_configs_follow_the_job_contract(tmp_path):
    p = plan([write(tmp_path, BASE)])
    spec = p.specs[0]
    assert spec.requires == {"cifar10", "cifar100"}
    (cell,) = spec.cells
    assert cell.seed == 3 and cell.factors == {}
    train = p.jobs[cell.train]
    ds = p.jobs[train.inputs["data"]]
    data = ds.config["data"]
    assert data["kind"] == "transforms2d" and len(data["objects"]) == 6
    names = [tf["name"] for tf in data["transforms"]]
    assert names == [t for t in catalog.TRANSFORMS if t in names]  # composition order
    assert {"hue", "rotate"} <= set(names) and 3 <= len(names) <= 4
    rotate = next(tf for tf in data["transforms"] if tf["name"] == "rotate")
    assert rotate["params"] == {"degrees": [0.0, 90.0]}  # override, as floats
    hue = next(tf for tf in data["transforms"] if tf["name"] == "hue")
    assert hue["params"] == {"shift": [-0.5, 0.5]}  # every param filled
    assert ds.config["sizes"] == {"train": 300, "val": 10000, "test": 10000}
    assert ds.config["seed"] == 3
    assert train.config["model"] == {"arch": "resnet18", "width": 1.0, "num_classes": 6}
    assert train.config["optimizer"]["lr"] == 1.0 and isinstance(
        train.config["optimizer"]["lr"], float)
    assert train.config["seed"] == 3 and train.config["label"] == "class"

    linear_ref, acc_ref, sens_ref = cell.probes
    linear = p.jobs[linear_ref.job]
    features = p.jobs[linear.inputs["features"]]
    cifar = p.jobs[features.inputs["data"]]
    assert features.inputs["model"] == train.id and features.config == {
        "model": train.config["model"]}
    assert cifar.config["data"] == {"kind": "cifar10", "classes": [1, 2, 3], "transforms": [],
                                    "resolution": 32}
    assert cifar.config["sizes"] == {"train": None, "val": 5000, "test": None}
    assert linear.config["n_train"] is None and linear.config["seed"] == 3

    acc = p.jobs[acc_ref.job]
    assert acc.inputs == {"model": train.id, "data": ds.id}  # default: the train task
    assert acc.config["splits"] == ["test"]

    sens = p.jobs[sens_ref.job]
    assert sens.inputs == {"model": train.id}
    assert sens.config["vary"] == {"component": "background"}
    mix = sens.config["data"]
    assert mix["background"]["kind"] == "cifar100" and mix["foreground"]["backgrounds"] == "none"
    assert mix["foreground"]["objects"] == data["objects"]
    assert sens_ref.derived["probe_transforms"] == []


def test_num_classes_follows_the_label(tmp_path):
    text = BASE.replace('task = "gen"\nlr = 1', 'task = "mix"')
    p = plan([write(tmp_path, text)])
    train = p.jobs[p.specs[0].cells[0].train]
    assert train.config["model"]["num_classes"] == 6 and train.config["label"] == "foreground"
    # composites over CIFAR use CIFAR's sizes
    assert p.jobs[train.inputs["data"]].config["sizes"]["train"] is None


def test_accuracy_probe_needs_the_model_class_count(tmp_path):
    text = BASE.replace('kind = "accuracy"', 'kind = "accuracy"\ntask = "cifar"')
    with pytest.raises(SpecError, match="3 classes, the model 6"):
        plan([write(tmp_path, text)])


RELATION = """\
[spec]
title = "relations"

[data.src]
kind = "transforms2d"
objects = ["apple", "banana"]
transforms = "{tf}"

[task.src]
data = "src"

[task.tgt]
data = { kind = "transforms2d", objects = ["car", "bus"], transforms = ["rotate", "hue"] }

[factors]
tf = ["none", "rotate", "hue", "all", "blur"]

[train]
task = "src"

[[probe]]
kind = "linear"
task = "tgt"

[[probe]]
kind = "sensitivity"
vary = ["rotate", "hue"]
"""


def test_transform_relation(tmp_path):
    p = plan([write(tmp_path, RELATION)])
    got = {c.factors["tf"]: [r.derived["transform_relation"] for r in c.probes]
           for c in p.specs[0].cells}
    assert got == {"none": ["none", "none"], "rotate": ["subset", "subset"],
                   "hue": ["subset", "subset"], "all": ["superset", "superset"],
                   "blur": ["other", "other"]}
    same = p.specs[0].cells[1]
    assert same.derived["train_transforms"] == ["rotate"]
    assert same.probes[0].derived["probe_transforms"] == ["hue", "rotate"]
    # a list may hold placeholders too: ["{tf}", "hue"] with tf = rotate is the probe's set
    text = RELATION.replace('transforms = "{tf}"', 'transforms = ["{tf}", "hue"]').replace(
        '"none", "rotate", "hue", "all", "blur"', '"rotate"')
    p = plan([write(tmp_path, text)])
    assert [r.derived["transform_relation"] for r in p.specs[0].cells[0].probes] == [
        "same", "same"]


CHAIN = """\
[spec]
title = "chain"

[draw]
chain = { transforms = 5, nested = true }

[task.src]
data = { kind = "transforms2d", objects = ["apple", "banana"], transforms = "chain[{k}]" }
n_train = "{n}"

[factors]
k = [0, 1, 3, 5]
n = [100, 200]
exclude = [{ k = 5, n = 200 }]

[train]
task = "src"
epochs = "{e}"
"""


def test_chain_prefixes_int_factors_and_exclude(tmp_path):
    p = plan([write(tmp_path, CHAIN.replace('epochs = "{e}"', "epochs = 1"))])
    cells = p.specs[0].cells
    assert len(cells) == 7
    sets = {}
    for c in cells:
        ds = p.jobs[p.jobs[c.train].inputs["data"]]
        sets[c.factors["k"]] = set(ds.config["data"]["transforms"] and
                                   [t["name"] for t in ds.config["data"]["transforms"]])
        assert ds.config["sizes"]["train"] == c.factors["n"]
        assert isinstance(ds.config["sizes"]["train"], int)
    assert sets[0] == set() and len(sets[3]) == 3 and sets[1] < sets[3] < sets[5]


def test_substituted_values_are_validated_with_their_line(tmp_path):
    text = CHAIN.replace("[factors]", "[factors]\ne = [0]")
    with pytest.raises(SpecError) as err:
        plan([write(tmp_path, text)])
    (problem,) = {(p.line, p.path) for p in err.value.problems}
    assert problem == (19, "train.epochs")
    assert "e = 0" in str(err.value)


def test_set_overrides(tmp_path):
    path = write(tmp_path, CHAIN.replace('epochs = "{e}"', "epochs = 1"))
    p = plan([path], overrides=["train.epochs=4", "factors.k=[2, 5]", "spec.seeds=2"])
    assert len(p.specs[0].cells) == 2 * 3
    assert {j.config["epochs"] for j in jobs_of(p, "train")} == {4}
    assert p.overrides == ("train.epochs=4", "factors.k=[2, 5]", "spec.seeds=2")
    assert p.specs[0].resolved["train"]["epochs"] == 4
    assert p.specs[0].hash != plan([path]).specs[0].hash


def test_resolve_task_for_preview(tmp_path):
    path = write(tmp_path, CHAIN.replace('epochs = "{e}"', "epochs = 1"))
    data, sizes = resolve_task(path, "src", seed=1)
    assert data["kind"] == "transforms2d" and data["transforms"] == []  # first cell: k = 0
    assert sizes == {"train": 100, "val": 10000, "test": 10000}
    data, sizes = resolve_task(path, "src", profile="smoke")
    assert sizes == {"train": 100, "val": 128, "test": 128}
    with pytest.raises(DslError, match="did you mean 'src'"):
        resolve_task(path, "srcc")


def test_example_specs_plan():
    from pathlib import Path

    specs = Path(__file__).resolve().parent.parent / "specs"
    p = plan([specs / "quickstart.toml", specs / "adversarial_invariance.toml"])
    adv = p.spec("adversarial_invariance")
    assert adv.requires == {"cifar10"}
    # two sensitivity probes ignore {target}: one job per source model and seed, not per target
    assert sum(j.kind == "sensitivity" for j in adv.jobs.values()) == 2 * 4 * 10
    assert len(adv.cells) == 4 * 4 * 10


FOLDER_SPEC = """
[spec]
title = "an image folder"
seeds = 1

[task.source]
data = {{ kind = "image_folder", path = "{path}", resolution = 16 }}
{sizes}

[train]
task = "source"
arch = "small_cnn"
epochs = 1
"""


def _image_folder(root, per_class=20):
    from PIL import Image

    for cls in ("cat", "dog"):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            Image.new("RGB", (8, 8), (i, 10, 20)).save(root / cls / f"{i}.png")
    return root


def test_an_image_folder_too_small_for_the_sizes_is_a_spec_problem_at_plan_time(tmp_path):
    """--profile smoke asks an image folder for 512/128/128 images unless the spec says fewer:
    where the folder is there to count, a small one is reported while planning, at the task's
    line, per field, with what to change (the dataset job used to fail only when it ran)."""
    from engine.data.local_files import folder_pools

    folder = _image_folder(tmp_path / "imgs")
    _, pools = folder_pools(folder)
    n_train, n_test = len(pools["train"]), len(pools["test"])  # 40 images, a fifth-ish is test
    path = write(tmp_path, FOLDER_SPEC.format(path=folder, sizes=""))
    plan([path], store=tmp_path / "store")  # without a profile: every image, a tenth for val
    with pytest.raises(SpecError) as err:
        plan([path], profile="smoke", store=tmp_path / "store")
    problems = {p.path: p for p in err.value.problems}
    assert set(problems) == {"task.source.n_val", "task.source.n_train", "task.source.n_test"}
    assert {(p.file, p.line) for p in problems.values()} == {(str(path), 6)}  # [task.source]
    val = problems["task.source.n_val"]
    assert "n_val = 128" in val.message and f"only {n_train} training images" in val.message
    assert str(folder) in val.message and "n_val below" in val.suggestion
    assert "add images" in val.suggestion
    assert f"n_test to at most {n_test}" in problems["task.source.n_test"].suggestion

    # explicit sizes that fit plan (and the job's arithmetic agrees: see test_data_real); one
    # image more than the training pool holds after val is reported at its own line
    fits = f"n_train = {n_train - 4}\nn_val = 4\nn_test = {n_test}"
    plan([write(tmp_path, FOLDER_SPEC.format(path=folder, sizes=fits))], profile="smoke",
         store=tmp_path / "store")
    over = fits.replace(f"n_train = {n_train - 4}", f"n_train = {n_train - 3}")
    with pytest.raises(SpecError) as err:
        plan([write(tmp_path, FOLDER_SPEC.format(path=folder, sizes=over))], profile="smoke",
             store=tmp_path / "store")
    (problem,) = err.value.problems
    assert (problem.path, problem.line) == ("task.source.n_train", 8)
    assert f"n_train to at most {n_train - 4}" in problem.suggestion


def test_an_absent_image_folder_is_not_size_checked_at_plan_time(tmp_path):
    absent = tmp_path / "not_here"
    text = FOLDER_SPEC.format(path=absent, sizes="").replace(
        "resolution = 16 }", 'resolution = 16, classes = ["cat", "dog"] }')
    p = plan([write(tmp_path, text)], profile="smoke", store=tmp_path / "store")
    assert p.files == {"folder:" + str(absent): "missing"}  # `dsl run` skips it, as before


@pytest.mark.parametrize("layout", ["flat", "train_test"])
def test_an_image_folder_class_count_is_its_class_folders_in_either_layout(tmp_path, layout):
    from dsl.resolve import class_count

    root = tmp_path / "imgs"
    splits = ["."] if layout == "flat" else ["train", "test"]
    for split in splits:
        for name in ("cat", "dog", "fox"):
            (root / split / name).mkdir(parents=True)
    assert class_count({"kind": "image_folder", "path": str(root)}) == 3


def test_spelling_a_default_set_of_splits_or_classes_keeps_the_ids(tmp_path):
    """An accuracy probe's splits are a set (their order means nothing), and a CIFAR task that
    lists every class in native order asks for its default: neither reruns a job."""
    def ids(text, name):
        return set(plan([write(tmp_path, text, name)]).jobs)

    acc = BASE.replace('kind = "accuracy"', 'kind = "accuracy"\nsplits = ["val", "test"]')
    assert ids(acc, "a.toml") == ids(acc.replace('["val", "test"]', '["test", "val", "val"]'),
                                     "b.toml")
    p = plan([write(tmp_path, acc.replace('["val", "test"]', '["test", "val"]'), "c.toml")])
    (acc_job,) = jobs_of(p, "accuracy")
    assert acc_job.config["splits"] == ["val", "test"]  # catalog order
    every = BASE.replace("classes = [1, 2, 3]", "classes = " + str(list(range(10))))
    default = BASE.replace("classes = [1, 2, 3], ", "").replace(
        'data = { kind = "cifar10", classes = [1, 2, 3] }', 'data = { kind = "cifar10" }')
    assert ids(every, "d.toml") == ids(default, "e.toml")
    swapped = BASE.replace("classes = [1, 2, 3]", "classes = [1, 0, 2, 3, 4, 5, 6, 7, 8, 9]")
    assert ids(swapped, "f.toml") != ids(default, "g.toml")  # class index = position: a change
