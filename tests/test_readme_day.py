"""README's "A researcher's day" runs as written: every command of its block, parsed from
README.md itself, in a fresh folder, so the block cannot drift from what `dsl` does.

The folder is what a checkout looks like to those commands, made small: a git repository whose
specs/ holds _base.toml, the specs the block names and one small CIFAR spec (so `specs/` lines
cover a spec that needs data, through the block's own `dsl data fixtures` stand-in, in minutes
rather than the whole suite's 7-15); the store is the default .dsl/ there. Lines run one by one
in bash, `dsl` being `python3 -m dsl` of this checkout; stdin is not a terminal, as in CI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SECTION = "## A researcher's day"
ALWAYS = ("_base.toml", "invariance_vs_factors_cifar10.toml")  # the base, and a CIFAR spec


def day_commands(text: str) -> list[str]:
    """The commands of the first code block after the section heading: comment lines and
    trailing `  # ...` comments dropped."""
    after = text.split(SECTION, 1)
    assert len(after) == 2, f"{README.name} has no '{SECTION}' section"
    block = re.search(r"```[^\n]*\n(.*?)```", after[1], re.S)
    assert block, f"no code block under '{SECTION}'"
    lines = []
    for line in block.group(1).splitlines():
        command = re.split(r"\s+#", line, maxsplit=1)[0].strip()
        if command and not line.lstrip().startswith("#"):
            lines.append(command)
    return lines


def _checkout(tmp: Path, commands: list[str]) -> None:
    (tmp / "specs").mkdir()
    named = {m for c in commands for m in re.findall(r"specs/([\w.-]+\.toml)", c)}
    for name in sorted(named | set(ALWAYS)):
        shutil.copy(ROOT / "specs" / name, tmp / "specs" / name)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    for args in (["init", "-q"], ["add", "specs"], ["commit", "-q", "-m", "specs"]):
        subprocess.run(git + args, cwd=tmp, check=True, capture_output=True)


def test_the_researchers_day_runs_as_written(tmp_path):
    commands = day_commands(README.read_text(encoding="utf-8"))
    assert any(c.startswith("dsl run ") for c in commands)
    _checkout(tmp_path, commands)
    env = {k: v for k, v in os.environ.items() if k not in ("DSL_STORE", "DSL_DATA")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    outputs = {}
    for command in commands:
        done = subprocess.run(["bash", "-c", 'set -o pipefail; dsl() { python3 -m dsl "$@"; }; '
                               + command], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=1200)
        assert done.returncode == 0, (f"README line failed (exit {done.returncode}): {command}\n"
                                      f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        outputs[command] = done.stdout
    tables = [out for c, out in outputs.items() if c.startswith("dsl table ")]
    assert tables and all("missing" not in t and "| same |" in t for t in tables)
    if any(c.startswith("dsl schema") for c in commands):
        json.loads((tmp_path / "dsl-spec.schema.json").read_text())
