"""The layers of docs/architecture.md hold: `lint-imports` checks pyproject.toml's contracts
(cli > results > engine > planning > language > core; the engine never plans; nothing below the
engine imports torch; no import circles), and a planted violation is caught."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    exe = Path(sys.executable).with_name("lint-imports")
    cmd = [str(exe)] if exe.exists() else ["lint-imports"]  # import-linter: the dev extra
    return subprocess.run([*cmd, "--no-cache"], cwd=root, env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_import_contracts_are_kept():
    out = lint(ROOT)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "4 kept, 0 broken" in out.stdout


def test_a_language_module_importing_the_store_breaks_the_layers(tmp_path):
    for package in ("dsl", "engine"):
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    spec = tmp_path / "dsl" / "spec.py"
    spec.write_text(spec.read_text() + "\n\ndef _late():\n    from engine.store import Store\n")
    out = lint(tmp_path)
    assert out.returncode != 0
    assert "dsl.spec is not allowed to import engine.store" in out.stdout


def test_every_module_sits_in_a_layer():
    """A module no layer names escapes every contract: a new module must be placed."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["type"] == "layers")["layers"]
    placed = [m.strip().strip("()") for layer in layers for m in layer.split(":")]
    for package in ("dsl", "engine"):
        for path in sorted((ROOT / package).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            if module.endswith("__init__"):
                continue
            assert any(module == p or module.startswith(p + ".") for p in placed), (
                f"{module} is in no layer: add it to one in pyproject.toml "
                "[tool.importlinter] (docs/architecture.md says which)")
