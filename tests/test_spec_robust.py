"""Whatever a document holds, validation answers with problems, never with a crash."""

from __future__ import annotations

import copy
from pathlib import Path

import tomli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl.errors import SpecError
from dsl.load import Document, validate_document

BASE = tomli.loads((Path(__file__).resolve().parent / "spec_data" / "everything.toml")
                   .read_text())

scalars = st.one_of(st.integers(-3, 70), st.floats(-1, 2, allow_nan=False), st.booleans(),
                    st.sampled_from(["", "{n}", "{zz}", "objs", "tf", "chain[9]", "rotate",
                                     "cifar10", "a", "linear.accuracy", "x.y@val"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(
        ["kind", "objects", "task", "data", "from", "x", "rows", "value"]), inner, max_size=3)),
    max_leaves=6)


def paths(value, prefix=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield prefix + (k,)
            yield from paths(v, prefix + (k,))
    elif isinstance(value, list):
        for k, v in enumerate(value):
            yield prefix + (k,)
            yield from paths(v, prefix + (k,))


PATHS = sorted(paths(BASE), key=repr)


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PATHS), values), min_size=1, max_size=3))
def test_mutated_documents_give_problems_not_crashes(edits):
    data = copy.deepcopy(BASE)
    for path, value in edits:
        node = data
        try:
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    doc = Document(path=Path("m.toml"), data=data, files=["m.toml"])
    try:
        validate_document(doc)
    except SpecError as err:
        assert err.problems
        for problem in err.problems:
            assert problem.file == "m.toml" and problem.message
