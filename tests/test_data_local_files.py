"""Local data in job identity: replaced CIFAR files or an edited image folder re-run what reads
them (old results kept under their old ids); a copy of the same files changes nothing; without
the files, planning finds the version the store last ran with."""

import os
import pickle
import shutil

import numpy as np
import pytest
from PIL import Image

from dsl.errors import DslError
from dsl.planner import plan
from dsl.local_files import LocalFiles, fingerprint
from engine.data.fixtures import write_cifar
from dsl.commands.run import run
from engine.store import Store, recorded_lookup

SPEC = """
[spec]
name = "tiny_cifar"
title = "tiny CIFAR"
seeds = 1

[task.source]
data = { kind = "cifar10", classes = [0, 1] }
n_train = 16
n_val = 4
n_test = 4

[task.target]
data = { kind = "cifar10", classes = [2, 3] }
n_train = 16
n_val = 4
n_test = 4

[train]
task = "source"
arch = "small_cnn"
epochs = 1
batch_size = 8

[[probe]]
kind = "linear"
task = "target"
epochs = 2

[[report]]
table = { rows = "probe", value = "linear.accuracy" }
"""

SYNTHETIC = """
[spec]
name = "tiny_synthetic"
title = "tiny synthetic"
seeds = 1

[task.source]
data = { kind = "transforms2d", objects = ["apple", "banana"], transforms = ["hflip"] }
n_train = 16

[train]
task = "source"
arch = "small_cnn"
epochs = 1
"""


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Hash caches of these tests stay in their own folders, not in ~/.cache/dsl."""
    monkeypatch.setenv("DSL_CACHE", str(tmp_path / "own-cache"))


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "tiny_cifar.toml"
    path.write_text(SPEC)
    return path


def _cifar(root):
    write_cifar(root, "cifar10", n_train=200, n_test=40)
    return root


def _change_one_pixel(root):
    batch = root / "cifar-10-batches-py" / "data_batch_1"
    with open(batch, "rb") as f:
        d = pickle.load(f, encoding="bytes")
    key = b"data" if b"data" in d else "data"
    d[key] = np.array(d[key], copy=True)
    d[key][0, 5] ^= 0xFF
    with open(batch, "wb") as f:
        pickle.dump(d, f)


def _kinds(p):
    return {j.kind for j in p.jobs.values()}


def test_cifar_jobs_carry_the_files_fingerprint_and_follow_their_content(tmp_path, spec):
    root = _cifar(tmp_path / "a")
    first = plan([spec], data_root=root, recorded=recorded_lookup(tmp_path / "none"))
    fp = fingerprint("cifar10", root)
    assert fp and fp.startswith("sha256:")
    datasets = [j for j in first.jobs.values() if j.kind == "dataset"]
    assert datasets and all(j.config["files"] == {"cifar10": fp} for j in datasets)
    assert first.files == {"cifar10": fp}

    copy = tmp_path / "b"
    shutil.copytree(root, copy)  # the same bytes elsewhere: the same jobs
    assert set(plan([spec], data_root=copy,
                    recorded=recorded_lookup(tmp_path / "none")).jobs) == set(first.jobs)

    _change_one_pixel(copy)  # other bytes: every job that depends on them is new
    changed = plan([spec], data_root=copy, recorded=recorded_lookup(tmp_path / "none"))
    assert fingerprint("cifar10", copy) != fp
    assert not set(changed.jobs) & set(first.jobs)
    assert _kinds(changed) == _kinds(first)


def test_generated_data_carries_no_fingerprint(tmp_path):
    path = tmp_path / "syn.toml"
    path.write_text(SYNTHETIC)
    a = plan([path], data_root=tmp_path / "nothing", recorded=recorded_lookup(tmp_path / "none"))
    b = plan([path], data_root=_cifar(tmp_path / "data"),
             recorded=recorded_lookup(tmp_path / "none"))
    assert set(a.jobs) == set(b.jobs) and a.files == {}
    assert all("files" not in j.config for j in a.jobs.values())


def test_image_folder_fingerprint_follows_files(tmp_path):
    folder = tmp_path / "imgs"
    for cls in ("cat", "dog"):
        (folder / cls).mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (8, 8), (i * 40, 10, 20)).save(folder / cls / f"{i}.png")
    source = "folder:" + str(folder)
    fp = fingerprint(source, None)
    assert fp == fingerprint(source, None)
    Image.new("RGB", (8, 8), (255, 0, 0)).save(folder / "cat" / "0.png")
    edited = fingerprint(source, None)
    assert edited != fp
    Image.new("RGB", (8, 8), (0, 0, 0)).save(folder / "dog" / "2.png")
    assert fingerprint(source, None) not in (fp, edited)
    before = fingerprint(source, None)
    (folder / "notes.txt").write_text("not an image")  # only image files count
    assert fingerprint(source, None) == before
    assert fingerprint("folder:" + str(tmp_path / "absent"), None) is None


def test_missing_data_plans_as_missing_without_a_store(tmp_path, spec):
    p = plan([spec], data_root=tmp_path / "nothing", recorded=recorded_lookup(tmp_path / "none"))
    assert p.files == {"cifar10": LocalFiles.MISSING}
    assert not (tmp_path / "none").exists()  # planning never creates a store


def test_dsl_plan_says_which_version_of_local_data_it_planned(tmp_path, spec):
    from dsl.commands.plan import Summary, render

    root = _cifar(tmp_path / "data")
    here = plan([spec], data_root=root, recorded=recorded_lookup(tmp_path / "none"))
    text = render(Summary(here, set()))
    assert f"local data cifar10: {fingerprint('cifar10', root)} (the files here)" in text
    absent = plan([spec], data_root=tmp_path / "nothing",
                  recorded=recorded_lookup(tmp_path / "none"))
    assert "local data cifar10: missing (files not here, nor in the store" in render(
        Summary(absent, set()))


def test_replaced_cifar_reruns_keeps_old_results_and_tables_work_without_data(tmp_path, spec):
    root = _cifar(tmp_path / "data")
    store = tmp_path / "store"
    first_fp = fingerprint("cifar10", root)
    first = run([spec], store=store, data_root=root, progress=False, echo=False)
    assert first.ok and first.ran
    old_ids = set(plan([spec], data_root=root, recorded=recorded_lookup(store)).jobs)

    _change_one_pixel(root)  # the user replaces the files: everything reading them runs again
    second = run([spec], store=store, data_root=root, progress=False, echo=False)
    assert second.ok and len(second.ran) == len(first.ran) and not second.cached
    assert not first.changed_data
    assert second.changed_data == {"cifar10": (first_fp, fingerprint("cifar10", root))}
    new_ids = set(plan([spec], data_root=root, recorded=recorded_lookup(store)).jobs)
    assert Store(store).finished(old_ids | new_ids) == old_ids | new_ids  # nothing lost

    # without the files (say, the store copied to a laptop), planning uses the newest version
    # the store ran with, so the tables still find the results
    away = plan([spec], data_root=tmp_path / "nothing", recorded=recorded_lookup(store))
    assert set(away.jobs) == new_ids and away.files_origin == {"cifar10": "store"}

    from engine.results.tables import table

    [t] = table([spec], store=store, data_root=tmp_path / "nothing")
    assert t.data.height == 1 and t.data["n"].to_list() == [1]


def test_running_a_plan_made_for_other_files_is_refused(tmp_path, spec):
    root = _cifar(tmp_path / "data")
    p = plan([spec], data_root=root, recorded=recorded_lookup(tmp_path / "store"))
    other = tmp_path / "other"
    shutil.copytree(root, other)
    _change_one_pixel(other)
    with pytest.raises(DslError, match="plan again"):
        run(p, store=tmp_path / "store", data_root=other, progress=False, echo=False)


def _age(folder, seconds=3600):
    """Backdate a file or every file of a folder, as files not written a moment ago are
    (local_files.RACY_S)."""
    import os
    import time

    for p in [folder] if folder.is_file() else folder.rglob("*"):
        if p.is_file():
            t = time.time() - seconds
            os.utime(p, (t, t))


def test_hashes_persist_across_processes_until_a_file_changes(tmp_path, monkeypatch):
    from dsl import local_files

    monkeypatch.setenv("DSL_CACHE", str(tmp_path / "cache"))
    root = _cifar(tmp_path / "data")
    _age(root)
    reads = []
    real = local_files._digest
    monkeypatch.setattr(local_files, "_digest", lambda p: reads.append(os.path.basename(p)) or real(p))

    fp = fingerprint("cifar10", root)
    assert len(reads) == 7 and (tmp_path / "cache" / "file-hashes.sqlite").is_file()
    monkeypatch.setattr(local_files, "_file_hashes", {})  # a new process: only the disk cache
    reads.clear()
    assert fingerprint("cifar10", root) == fp and reads == []

    _change_one_pixel(root)  # just written: hashed every time until it settles
    monkeypatch.setattr(local_files, "_file_hashes", {})
    reads.clear()
    changed = fingerprint("cifar10", root)
    assert changed != fp and reads == ["data_batch_1"]
    assert fingerprint("cifar10", root) == changed and reads == ["data_batch_1"] * 2
    _age(root / "cifar-10-batches-py" / "data_batch_1")
    reads.clear()
    assert fingerprint("cifar10", root) == changed and reads == ["data_batch_1"]
    reads.clear()
    assert fingerprint("cifar10", root) == changed and reads == []


def test_an_unwritable_cache_only_costs_rehashing(tmp_path, monkeypatch):
    from dsl import local_files

    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("DSL_CACHE", str(blocker / "cache"))
    monkeypatch.setattr(local_files, "_file_hashes", {})
    root = _cifar(tmp_path / "data")
    _age(root)
    assert fingerprint("cifar10", root) == fingerprint("cifar10", root) is not None


def test_a_spec_whose_folder_is_absent_is_skipped_with_what_to_put_where(tmp_path):
    path = tmp_path / "bg.toml"
    path.write_text(SYNTHETIC.replace('transforms = ["hflip"] }',
                                      f'transforms = ["hflip"], backgrounds = '
                                      f'"{tmp_path / "photos"}" }}'))
    p = plan([path], data_root=tmp_path, recorded=recorded_lookup(tmp_path / "store"))
    source = "folder:" + str(tmp_path / "photos")
    assert p.specs[0].requires == {source}
    summary = run(p, store=tmp_path / "store", data_root=tmp_path, progress=False, echo=False)
    assert summary.ran == [] and "does not exist" in summary.skipped_specs["tiny_synthetic"]
    (tmp_path / "photos").mkdir()
    from dsl.local_files import missing

    assert "holds no image files" in missing(source, tmp_path)
    Image.new("RGB", (8, 8), (1, 2, 3)).save(tmp_path / "photos" / "a.jpg")
    assert missing(source, tmp_path) is None


def test_a_damaged_hash_cache_is_made_afresh(tmp_path, monkeypatch):
    import sqlite3

    from dsl import local_files

    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "file-hashes.sqlite").write_bytes(b"not a database at all" * 100)
    monkeypatch.setenv("DSL_CACHE", str(cache))
    monkeypatch.setattr(local_files, "_file_hashes", {})
    root = _cifar(tmp_path / "data")
    _age(root)
    fp = fingerprint("cifar10", root)
    with sqlite3.connect(cache / "file-hashes.sqlite") as con:
        assert con.execute("SELECT count(*) FROM file_hashes").fetchone()[0] == 7
    monkeypatch.setattr(local_files, "_file_hashes", {})
    assert fingerprint("cifar10", root) == fp


def test_symlinked_class_folders_are_read_and_tracked(tmp_path):
    real = tmp_path / "real" / "cat"
    real.mkdir(parents=True)
    Image.new("RGB", (8, 8), (9, 9, 9)).save(real / "a.png")
    folder = tmp_path / "imgs"
    (folder / "dog").mkdir(parents=True)
    Image.new("RGB", (8, 8), (1, 1, 1)).save(folder / "dog" / "b.png")
    (folder / "cat").symlink_to(real, target_is_directory=True)
    (folder / "dog" / "loop").symlink_to(folder, target_is_directory=True)  # must not hang
    from dsl.local_files import image_files, missing

    source = "folder:" + str(folder)
    assert [p.relative_to(folder).as_posix() for p in image_files(folder)] == ["cat/a.png",
                                                                              "dog/b.png"]
    assert missing(source, None) is None
    fp = fingerprint(source, None)
    Image.new("RGB", (8, 8), (200, 9, 9)).save(real / "a.png")  # an edit behind the link
    assert fingerprint(source, None) != fp


def test_without_the_files_each_spec_gets_the_version_it_last_ran_with(tmp_path, spec):
    other = tmp_path / "tiny_cifar_b.toml"
    other.write_text(SPEC.replace('name = "tiny_cifar"', 'name = "tiny_cifar_b"'))
    root = _cifar(tmp_path / "data")
    store = tmp_path / "store"
    v1 = fingerprint("cifar10", root)
    assert run([spec], store=store, data_root=root, progress=False, echo=False).ok
    _change_one_pixel(root)
    v2 = fingerprint("cifar10", root)
    assert run([other], store=store, data_root=root, progress=False, echo=False).ok

    away = plan([spec, other], data_root=tmp_path / "nothing", recorded=recorded_lookup(store))
    a, b = away.specs
    assert {j.config["files"]["cifar10"] for j in a.jobs.values() if j.kind == "dataset"} == {v1}
    assert {j.config["files"]["cifar10"] for j in b.jobs.values() if j.kind == "dataset"} == {v2}
    assert Store(store).finished(away.jobs) == set(away.jobs)
    # a spec that never ran here gets the newest version the store has
    never = tmp_path / "never.toml"
    never.write_text(SPEC.replace('name = "tiny_cifar"', 'name = "never"'))
    n = plan([never], data_root=tmp_path / "nothing", recorded=recorded_lookup(store))
    assert n.files == {"cifar10": v2} and n.files_origin == {"cifar10": "store"}


def test_a_finished_spec_runs_as_done_without_its_data(tmp_path, spec):
    root = _cifar(tmp_path / "data")
    store = tmp_path / "store"
    first = run([spec], store=store, data_root=root, progress=False, echo=False)
    again = run([spec], store=store, data_root=tmp_path / "nothing", progress=False, echo=False)
    assert again.ok and not again.skipped_specs and again.ran == []
    assert sorted(again.cached) == sorted(first.ran)


def test_a_folder_fingerprint_follows_moves_and_same_size_rewrites(tmp_path, monkeypatch):
    """An image moved to another class changes the dataset (its label), and so does one
    rewritten in place with its size and mtime kept (`cp -p`): both change the fingerprint,
    even with the file's hash cached from before."""
    monkeypatch.setenv("DSL_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "imgs"
    for cls in ("cat", "dog"):
        (folder / cls).mkdir(parents=True)
    Image.new("RGB", (8, 8), (200, 10, 20)).save(folder / "cat" / "0.png")
    Image.new("RGB", (8, 8), (10, 200, 20)).save(folder / "dog" / "1.png")
    _age(folder)
    source = "folder:" + str(folder)
    before = fingerprint(source, None)
    (folder / "cat" / "0.png").rename(folder / "dog" / "0.png")
    moved = fingerprint(source, None)
    assert moved != before
    (folder / "dog" / "0.png").rename(folder / "cat" / "0.png")
    assert fingerprint(source, None) == before

    path = folder / "cat" / "0.png"
    data = bytearray(path.read_bytes())
    st = os.stat(path)
    data[-20] ^= 0xFF  # same length, other bytes
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # as `cp -p` leaves it
    assert os.stat(path).st_size == st.st_size and os.stat(path).st_mtime_ns == st.st_mtime_ns
    assert fingerprint(source, None) != before
