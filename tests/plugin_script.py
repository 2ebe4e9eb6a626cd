"""Run a plugin test script (fake_probe.py, fake_data_kind.py) as a user's separate process would:
the plugin registered from outside dsl, the tests folder and the project on its path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def run_plugin_script(name: str, workdir: Path) -> dict:
    """Run tests/`name` in `workdir`; it must exit 0 and print one JSON object last."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(TESTS.parent)])}
    proc = subprocess.run([sys.executable, str(TESTS / name), str(workdir)], env=env,
                          cwd=workdir, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])
