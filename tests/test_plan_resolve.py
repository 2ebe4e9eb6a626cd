"""Resolution: cells -> concrete configs per docs/jobs.md, derived columns, factors, --set."""

from __future__ import annotations

import textwrap

import pytest

from dsl import catalog
from dsl.errors import DslError, SpecError
from dsl.factors import grid, substitute
from dsl.planner import plan, resolve_task
from engine.store import recorded_lookup


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
    # each exclude entry drops its own matches (a cell goes when any one entry matches it)
    assert grid({"a": [1, 2, 3], "b": ["x", "y"]},
                exclude=[{"a": 1}, {"b": "y"}]) == [{"a": 2, "b": "x"}, {"a": 3, "b": "x"}]
    with pytest.raises(DslError, match="different lengths"):
        grid({"a": [1, 2], "b": [1]}, zips=[["a", "b"]])
    env = {"k": 3, "rel": "subset", "flag": True}
    assert substitute({"n": "{k}", "s": "chain[{k}]", "o": "{rel}_objects", "l": ["{flag}"]},
                      env) == {"n": 3, "s": "chain[3]", "o": "subset_objects", "l": [True]}
    with pytest.raises(DslError, match="did you mean 'rel'"):
        substitute("{rell}", env)
    # inside a longer string a boolean reads as TOML spells it
    assert substitute(["x_{flag}", "{flag}-{off}"], {"flag": True, "off": False}) == [
        "x_true", "true-false"]


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
    data, sizes, _ = resolve_task(path, "src", seed=1)
    assert data["kind"] == "transforms2d" and data["transforms"] == []  # first cell: k = 0
    assert sizes == {"train": 100, "val": 10000, "test": 10000}
    data, sizes, _ = resolve_task(path, "src", profile="smoke")
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
    from dsl.local_files import folder_pools

    folder = _image_folder(tmp_path / "imgs")
    _, pools = folder_pools(folder)
    n_train, n_test = len(pools["train"]), len(pools["test"])  # 40 images, a fifth-ish is test
    path = write(tmp_path, FOLDER_SPEC.format(path=folder, sizes=""))
    # without a profile: every image, a tenth for val
    plan([path], recorded=recorded_lookup(tmp_path / "store"))
    with pytest.raises(SpecError) as err:
        plan([path], profile="smoke", recorded=recorded_lookup(tmp_path / "store"))
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
         recorded=recorded_lookup(tmp_path / "store"))
    over = fits.replace(f"n_train = {n_train - 4}", f"n_train = {n_train - 3}")
    with pytest.raises(SpecError) as err:
        plan([write(tmp_path, FOLDER_SPEC.format(path=folder, sizes=over))], profile="smoke",
             recorded=recorded_lookup(tmp_path / "store"))
    (problem,) = err.value.problems
    assert (problem.path, problem.line) == ("task.source.n_train", 8)
    assert f"n_train to at most {n_train - 4}" in problem.suggestion


def test_an_absent_image_folder_is_not_size_checked_at_plan_time(tmp_path):
    absent = tmp_path / "not_here"
    text = FOLDER_SPEC.format(path=absent, sizes="").replace(
        "resolution = 16 }", 'resolution = 16, classes = ["cat", "dog"] }')
    p = plan([write(tmp_path, text)], profile="smoke",
             recorded=recorded_lookup(tmp_path / "store"))
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


EVERY_FIELD = """\
[spec]
title = "every field"
seeds = [4]

[task.src]
data = { kind = "transforms2d", objects = ["apple", "banana", "car"], transforms = "rotate", \
params = { rotate = { degrees = [0, 45] } } }
n_train = 400
n_val = 50
n_test = 60

[task.tgt]
data = { kind = "transforms2d", objects = ["dog", "cat"] }
n_train = 300

[train]
task = "src"
arch = "vgg11_bn"
width = 0.5
optimizer = "sgd"
lr = 0.05
weight_decay = 5e-4
momentum = 0.8
schedule = "cosine"
warmup_epochs = 2
final_lr = 1e-5
epochs = 7
batch_size = 64
checkpoint = "best_val"

[[probe]]
kind = "linear"
task = "tgt"
epochs = 11
lr = 0.01
batch_size = 32
weight_decay = 0.001
n_train = 100

[[probe]]
kind = "finetune"
task = "tgt"
n_train = 200
epochs = 3
lr = 2e-4
batch_size = 16
optimizer = "adamw"
weight_decay = 0.01
schedule = "cosine"
warmup_epochs = 1
final_lr = 1e-6
linear_epochs = 9
linear_lr = 0.02

[[probe]]
kind = "accuracy"
splits = ["test", "train"]

[[probe]]
kind = "sensitivity"
name = "sens"
vary = ["rotate", "hue"]
pairs = 77
"""


def test_every_spec_field_reaches_its_job_config(tmp_path):
    # a field dropped on the way to a config would silently share one JobId between settings
    p = plan([write(tmp_path, EVERY_FIELD)])
    (cell,) = p.specs[0].cells
    train = p.jobs[cell.train]
    model = {"arch": "vgg11_bn", "width": 0.5, "num_classes": 3}
    assert train.config == {
        "model": model, "label": "class",
        "optimizer": {"name": "sgd", "lr": 0.05, "weight_decay": 5e-4, "momentum": 0.8},
        "schedule": {"name": "cosine", "warmup_epochs": 2, "final_lr": 1e-5},
        "epochs": 7, "batch_size": 64, "checkpoint": "best_val", "seed": 4}
    assert p.jobs[train.inputs["data"]].config["sizes"] == {"train": 400, "val": 50, "test": 60}
    assert [r.name for r in cell.probes] == ["linear", "finetune", "accuracy", "sens"]
    linear, finetune, acc, sens = (p.jobs[r.job] for r in cell.probes)
    assert linear.config == {"label": "class", "epochs": 11, "lr": 0.01, "batch_size": 32,
                             "weight_decay": 0.001, "n_train": 100, "seed": 4}
    assert finetune.config == {
        "model": model, "label": "class", "n_train": 200,
        "linear": {"label": "class", "epochs": 9, "lr": 0.02, "batch_size": 512,
                   "weight_decay": 0.0, "n_train": 200, "seed": 4},
        "epochs": 3, "lr": 2e-4, "batch_size": 16, "optimizer": "adamw", "weight_decay": 0.01,
        "schedule": {"name": "cosine", "warmup_epochs": 1, "final_lr": 1e-6}, "seed": 4}
    assert finetune.inputs == {"model": train.id, "data": p.jobs[linear.inputs[
        "features"]].inputs["data"]}
    # splits are a set: catalog order whatever order the spec writes them in
    assert acc.config == {"model": model, "label": "class", "splits": ["train", "test"]}
    assert sens.config["pairs"] == 77 and sens.config["seed"] == 4
    # a varied transform keeps the task data's own parameters; others take the catalog's
    assert sens.config["vary"] == {"transforms": [
        {"name": "rotate", "params": {"degrees": [0.0, 45.0]}},
        {"name": "hue", "params": {"shift": [-0.5, 0.5]}}]}


def test_a_probe_n_train_may_use_every_training_sample_but_not_one_more(tmp_path):
    at_most = EVERY_FIELD.replace("weight_decay = 0.001\nn_train = 100", "weight_decay = 0.001\n"
                                  "n_train = 300")
    p = plan([write(tmp_path, at_most)])
    linear = p.jobs[p.specs[0].cells[0].probes[0].job]
    assert linear.config["n_train"] == 300
    with pytest.raises(SpecError) as err:
        plan([write(tmp_path, at_most.replace("n_train = 300\n\n[[probe]]\nkind = \"finetune\"",
                                              "n_train = 301\n\n[[probe]]\nkind = \"finetune\""))])
    (problem,) = err.value.problems
    assert problem.path == "probe[0].n_train"
    assert problem.message == "n_train = 301 but task 'tgt' has only 300 training samples"


COMPOSITE = """\
[spec]
title = "composite"

[data.bg]
kind = "transforms2d"
objects = ["apple", "banana"]
transforms = "hue"
resolution = 64

[data.fg]
kind = "transforms2d"
objects = ["dog", "cat", "car"]
transforms = ["rotate"]

[task.mix]
data = { kind = "composite", background = "bg", foreground = { data = "fg", scale = 0.4, \
position = "lower_left", correlation = 0.5, availability = 0.75 } }
label = "foreground"
n_train = 100

[task.objs]
data = { kind = "composite", background = "bg", foreground = { objects = ["dog", "cat"] } }
n_train = 100

[train]
task = "mix"

[[probe]]
kind = "linear"
task = "objs"
"""


def test_composite_configs_and_their_transforms(tmp_path):
    p = plan([write(tmp_path, COMPOSITE)])
    (cell,) = p.specs[0].cells
    train = p.jobs[cell.train]
    mix = p.jobs[train.inputs["data"]].config["data"]
    assert {k: v for k, v in mix.items() if k not in ("background", "foreground")} == {
        "kind": "composite", "scale": 0.4, "position": "lower_left", "correlation": 0.5,
        "availability": 0.75, "resolution": 64}  # the background's resolution
    assert mix["foreground"]["objects"] == ["dog", "cat", "car"]
    assert train.config["model"]["num_classes"] == 3  # label = foreground
    # a composite's transforms are both parts': hue (background) and rotate (foreground)
    assert cell.derived["train_transforms"] == ["hue", "rotate"]
    (probe,) = cell.probes
    assert probe.derived == {"train_transforms": ["hue", "rotate"], "probe_transforms": ["hue"],
                             "transform_relation": "superset"}
    features = p.jobs[p.jobs[probe.job].inputs["features"]]
    objs = p.jobs[features.inputs["data"]].config["data"]
    # objects on a transparent canvas as large as the background, untransformed
    assert objs["foreground"] == {"kind": "transforms2d", "objects": ["dog", "cat"],
                                  "transforms": [], "resolution": 64, "foregrounds": "openmoji",
                                  "backgrounds": "none", "object_size": 0.7}
    assert (objs["scale"], objs["position"], objs["correlation"], objs["availability"],
            objs["resolution"]) == (0.55, "upper_right", 0.0, 1.0, 64)


def test_image_folder_size_checks_at_their_boundaries(tmp_path):
    from dsl.local_files import folder_pools

    folder = _image_folder(tmp_path / "imgs")
    _, pools = folder_pools(folder)
    n_train, n_test = len(pools["train"]), len(pools["test"])
    ok = f"n_val = {n_train - 1}\nn_test = {n_test}"  # one image left to train on; every test one
    plan([write(tmp_path, FOLDER_SPEC.format(path=folder, sizes=ok))],
         recorded=recorded_lookup(tmp_path / "s"))
    bad = f"n_val = {n_train}\nn_test = {n_test + 1}"
    with pytest.raises(SpecError) as err:
        plan([write(tmp_path, FOLDER_SPEC.format(path=folder, sizes=bad))],
             recorded=recorded_lookup(tmp_path / "s"))
    problems = {p.path: p for p in err.value.problems}
    assert set(problems) == {"task.source.n_val", "task.source.n_test"}
    assert f"n_val = {n_train} but" in problems["task.source.n_val"].message
    assert f"has only {n_test} test images" in problems["task.source.n_test"].message


DEFAULTS = """\
[spec]
title = "defaults"

[data.pat]
kind = "random_patterns"
patterns = 3

[task.src]
data = { kind = "transforms2d", objects = ["apple", "banana"] }

[task.pat]
data = "pat"

[task.mix]
data = { kind = "composite", background = "black", foreground = { data = "pat" } }

[train]
task = "src"

[[probe]]
kind = "linear"
task = "pat"

[[probe]]
kind = "finetune"
task = "src"
n_train = 10

[[probe]]
kind = "sensitivity"
task = "mix"
vary = "foreground"

[[probe]]
kind = "accuracy"
"""


def test_the_documented_defaults_reach_the_job_configs(tmp_path):
    """docs/spec-language.md's defaults, as the jobs receive them (a changed default reruns
    every job that relies on it, so it must be deliberate)."""
    p = plan([write(tmp_path, DEFAULTS)])
    (cell,) = p.specs[0].cells
    assert cell.seed == 0  # seeds = 1
    train = p.jobs[cell.train]
    model = {"arch": "resnet18", "width": 1.0, "num_classes": 2}
    assert train.config == {
        "model": model, "label": "class",
        "optimizer": {"name": "adam", "lr": 1e-3, "weight_decay": 0.0, "momentum": 0.9},
        "schedule": {"name": "constant", "warmup_epochs": 0, "final_lr": 0.0},
        "epochs": 50, "batch_size": 512, "checkpoint": "last", "seed": 0}
    assert p.jobs[train.inputs["data"]].config == {
        "data": {"kind": "transforms2d", "objects": ["apple", "banana"], "transforms": [],
                 "resolution": 32, "foregrounds": "openmoji", "backgrounds": "procedural",
                 "object_size": 0.7},
        "sizes": {"train": 50000, "val": 10000, "test": 10000}, "seed": 0}
    linear, finetune, sens, acc = (p.jobs[r.job] for r in cell.probes)
    assert linear.config == {"label": "class", "epochs": 200, "lr": 1e-3, "batch_size": 512,
                             "weight_decay": 0.0, "n_train": None, "seed": 0}
    patterns = {"kind": "random_patterns", "patterns": [0, 1, 2], "transforms": [],
                "resolution": 32, "pattern_size": 0.7}
    features = p.jobs[linear.inputs["features"]]
    assert p.jobs[features.inputs["data"]].config["data"] == patterns
    assert finetune.config == {
        "model": model, "label": "class", "n_train": 10,
        "linear": {"label": "class", "epochs": 200, "lr": 1e-3, "batch_size": 512,
                   "weight_decay": 0.0, "n_train": 10, "seed": 0},
        "epochs": 50, "lr": 1e-4, "batch_size": 256, "optimizer": "adam", "weight_decay": 0.0,
        "schedule": {"name": "linear", "warmup_epochs": 0, "final_lr": 0.0}, "seed": 0}
    assert sens.config == {
        "model": model, "vary": {"component": "foreground"}, "pairs": 10000, "seed": 0,
        "data": {"kind": "composite", "background": {"kind": "solid", "color": [0, 0, 0],
                                                     "resolution": 32},
                 "foreground": patterns, "scale": 0.55, "position": "upper_right",
                 "correlation": 0.0, "availability": 1.0, "resolution": 32}}
    assert acc.config == {"model": model, "label": "class", "splits": ["test"]}


def test_chain_k_is_the_first_k_of_the_drawn_order_and_all_is_every_transform(tmp_path):
    from dsl.draws import definitions, draw_all

    p = plan([write(tmp_path, CHAIN.replace('epochs = "{e}"', "epochs = 1"))])
    chain = draw_all(definitions({"chain": {"transforms": 5, "nested": True}}), 0)["chain"]
    for c in p.specs[0].cells:
        names = [t["name"] for t in p.jobs[p.jobs[c.train].inputs["data"]].config["data"][
            "transforms"]]
        k = c.factors["k"]
        assert names == [t for t in catalog.TRANSFORMS if t in chain[:k]]  # composition order
    p = plan([write(tmp_path, RELATION)])
    every = next(c for c in p.specs[0].cells if c.factors["tf"] == "all")
    assert every.derived["train_transforms"] == sorted(catalog.TRANSFORMS)


def test_a_problem_names_the_factor_values_only_where_the_field_uses_them(tmp_path):
    text = CHAIN.replace('epochs = "{e}"', "epochs = 1") + \
        '\n[[probe]]\nkind = "linear"\ntask = "src"\nn_train = 150\n'
    with pytest.raises(SpecError) as err:
        plan([write(tmp_path, text)])
    (problem,) = err.value.problems
    assert problem.message == "n_train = 150 but task 'src' has only 100 training samples"
    with pytest.raises(SpecError) as err:
        plan([write(tmp_path, text.replace("n_train = 150", 'n_train = "{m}"').replace(
            "n = [100, 200]", "n = [100, 200]\nm = [150]"))])
    (problem,) = err.value.problems
    assert problem.message == "n_train = 150 but task 'src' has only 100 training samples " \
                              "(with k = 0, n = 100, m = 150)"
