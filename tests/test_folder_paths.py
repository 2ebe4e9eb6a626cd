"""A missing image folder is reported at its `path` (inline or in [data.X]) and says where a
relative path starts from; with the folder there, the spec plans."""

from __future__ import annotations

import os

import pytest
from PIL import Image

from dsl.errors import SpecError
from dsl.planner import plan

INLINE = '[spec]\ntitle = "x"\n[task.pets]\ndata = { kind = "image_folder", path = "imgs" }\n' \
         '[train]\ntask = "pets"\n'
NAMED = '[spec]\ntitle = "x"\n[data.pets]\nkind = "image_folder"\npath = "imgs"\n' \
        '[task.pets]\ndata = "pets"\n[train]\ntask = "pets"\n'


@pytest.mark.parametrize("text, where, line", [(INLINE, "task.pets.data.path", 4),
                                               (NAMED, "data.pets.path", 5)])
def test_a_missing_folder_is_a_problem_of_its_path(tmp_path, monkeypatch, text, where, line):
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "spec" / "s.toml"
    spec.parent.mkdir()
    spec.write_text(text)
    with pytest.raises(SpecError) as info:
        plan([spec])
    (problem,) = info.value.problems
    assert (problem.path, problem.line) == (where, line)
    assert problem.message.startswith(
        f"image folder 'imgs' not found (relative paths start from the folder dsl runs in, "
        f"{os.getcwd()})")
    for cls in ("cat", "dog"):  # made where dsl runs, not beside the spec: now it plans
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (8, 8), (i, 0, 0)).save(tmp_path / "imgs" / cls / f"{i}.png")
    assert len(plan([spec]).specs[0].cells) == 1
