"""Identity: cosmetic edits never change a JobId; semantic ones always change it (and only the
affected jobs and their dependents)."""

from __future__ import annotations

import copy
import random

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dsl.identity import canonical, job_id
from dsl.planner import plan

keys = st.text(alphabet="abcdefghij_", min_size=1, max_size=6)
scalars = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=8), st.booleans(), st.none())
configs = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)), max_leaves=20)
tables = st.dictionaries(keys, configs, min_size=1, max_size=5)


def shuffled(value, rng):
    """The same data with every mapping's keys in another order."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [shuffled(v, rng) for v in value]
    return value


@given(tables, st.integers(0, 1000))
def test_key_order_never_changes_the_id(config, seed):
    again = shuffled(config, random.Random(seed))
    assert job_id("train", "1", config) == job_id("train", "1", again)
    assert canonical(config) == canonical(again)


def leaves(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves(v, path + (i,))
    else:
        yield path, value


def changed(value):
    """A different value of a semantically different kind or magnitude."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1 if abs(value) < 1e15 else value / 2
    return value + "x"


@given(tables, st.data())
def test_any_semantic_change_changes_the_id(config, data):
    points = [p for p in leaves(config) if p[0]]
    assume(points)  # empty tables and lists have nothing to change
    path, value = data.draw(st.sampled_from(points))
    other = copy.deepcopy(config)
    node = other
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = changed(value)
    assert job_id("train", "1", config) != job_id("train", "1", other)
    assert job_id("train", "1", config) != job_id("train", "2", config)  # a version bump


# --- through the language: a spec's cosmetic edits --------------------------------------------

SPEC = """\
# a comment
[spec]
title = "identity"
seeds = 2

[draw]
objs = {{ objects = 5 }}

[task.t]
data = {{ kind = "transforms2d", objects = "objs", transforms = ["rotate", "hue"], params = {{ rotate = {{ degrees = {degrees} }} }} }}
n_train = 100
n_val = 10
n_test = 10

[train]
task = "t"
arch = "small_cnn"
{train_lines}

[[probe]]
kind = "linear"
task = "t"
epochs = {probe_epochs}
"""


def ids(tmp_path, name="s.toml", degrees="[0, 90]", lr="1e-3", weight_decay="5e-4",
        width="1", probe_epochs="7", order=False, comment=""):
    lines = [f"lr = {lr}", f"weight_decay = {weight_decay}", f"width = {width}", "epochs = 3"]
    if order:
        lines.reverse()
    text = SPEC.format(degrees=degrees, train_lines="\n".join(lines) + comment,
                       probe_epochs=probe_epochs)
    path = tmp_path / name
    path.write_text(text)
    p = plan([path])
    return {job.id: job.kind for job in p.jobs.values()}


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lr=st.floats(1e-6, 1.0), wd=st.floats(0.0, 0.1))
def test_number_spelling_never_changes_an_id(tmp_path, lr, wd):
    plain = ids(tmp_path, lr=repr(lr), weight_decay=repr(wd))
    spelled = ids(tmp_path, lr=f"{lr:.17e}", weight_decay=f"{wd:.17e}", order=True,
                  comment="  # tuned by hand")
    assert plain == spelled


def test_cosmetic_edits(tmp_path):
    base = ids(tmp_path)
    assert ids(tmp_path, weight_decay="0.0005", lr="0.001") == base
    assert ids(tmp_path, width="1.0", degrees="[0.0, 90.0]") == base  # 1 vs 1.0, float fields
    assert ids(tmp_path, order=True, comment="\n# another comment") == base
    assert ids(tmp_path, name="renamed.toml") == base  # the file name is not part of a job


def test_semantic_change_touches_only_the_affected_jobs(tmp_path):
    base = ids(tmp_path)
    probe = ids(tmp_path, probe_epochs="8")
    assert {k for j, k in base.items() if j not in probe} == {"linear"}
    train = ids(tmp_path, lr="2e-3")
    # the train job and everything downstream of it; the datasets are untouched
    assert {k for j, k in base.items() if j not in train} == {"train", "features", "linear"}
    data = ids(tmp_path, degrees="[0, 91]")
    assert {k for j, k in base.items() if j not in data} == {"dataset", "train", "features",
                                                              "linear"}
