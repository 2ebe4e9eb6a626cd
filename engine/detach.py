"""`dsl run --detach`: start the driver where it outlives this shell, then return at once.

With `--executor slurm` the driver is a small CPU Slurm job of its own (it submits the jobs and
stays the only writer of the database); otherwise it is a background process in a new session
(hang-ups and Ctrl-C of this terminal do not reach it). Its output goes to a log file in the
store (`drivers/`), which `dsl status` names. The runs it records are printed once they appear.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from dsl.errors import DslError
from engine import runfiles

WAIT_FOR_RUNS_S = 8.0  # long enough to plan a spec; a Slurm driver still pending is reported


def driver_command(argv: list[str], store_root: Path) -> list[str]:
    """The `dsl run` a detached driver runs: the same arguments, no live display, and the store
    given as an absolute path (the driver may start in another folder or on another node)."""
    return [sys.executable, "-m", "dsl", *argv, "--no-progress", "--store", str(store_root)]


def detach(argv: list[str], store_root: Path, *, slurm: bool, slurm_opts=None,
           driver_time: str | None = None, out=sys.stdout) -> int:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log = store_root / "drivers" / f"driver-{stamp}-{os.getpid()}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = driver_command(argv, store_root)
    env = {**os.environ, "DSL_DRIVER_LOG": str(log)}
    if slurm:
        env[runfiles.DETACHED] = "slurm"
    started = time.time()
    if slurm:
        slurm_job = _sbatch(cmd, log, env, slurm_opts, driver_time)
        print(f"driver submitted as Slurm job {slurm_job}; log {log}", file=out)
        mine = lambda d: d.get("slurm_job") == slurm_job  # noqa: E731
        alive = lambda: _slurm_alive(slurm_job)  # noqa: E731
    else:
        with open(log, "ab") as fh:
            proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        print(f"driver started in the background (pid {proc.pid}); log {log}", file=out)
        mine = lambda d: d.get("pid") == proc.pid  # noqa: E731
        alive = lambda: proc.poll() is None  # noqa: E731
    runs = _wait_for_runs(store_root, mine, alive, started)
    if runs:
        for run_id in runs:
            print(f"run {run_id}", file=out)
        print(f"watch it: dsl status {runs[0]} --watch   (stop it: dsl cancel {runs[0]})",
              file=out)
        return 0
    if not slurm and proc.poll() is not None and proc.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-5:]
        print("the driver stopped at once:\n  " + "\n  ".join(tail), file=out)
        return proc.returncode
    print("no run recorded yet (still planning, or waiting for a Slurm slot); "
          "watch it: dsl status --watch", file=out)
    return 0


def _wait_for_runs(root: Path, mine, alive, since: float) -> list[str]:
    deadline = time.time() + WAIT_FOR_RUNS_S
    folder = root / "drivers"
    while time.time() < deadline:
        found = []
        for path in folder.glob("*.json"):
            if path.stat().st_mtime < since - 1:
                continue
            data = runfiles._read(path)
            if data and mine(data):
                found.append(path.stem)
        if found:
            return sorted(found)
        if not alive():
            return []
        time.sleep(0.2)
    return []


def _sbatch(cmd: list[str], log: Path, env: dict, opts, driver_time: str | None) -> str:
    args = ["sbatch", "--parsable", "--job-name", "dsl-driver", "--cpus-per-task", "1",
            "--ntasks", "1", "--output", str(log), "--chdir", os.getcwd()]
    if opts is not None:
        if opts.partition:
            args += ["--partition", opts.partition]
        if opts.account:
            args += ["--account", opts.account]
        if opts.qos:
            args += ["--qos", opts.qos]
    if driver_time:
        from engine.executors.slurm_options import parse_time

        args += ["--time", str(parse_time(driver_time))]
    # exec: the driver itself receives scancel's SIGTERM (it then cancels its jobs and gives its
    # claims back), not a shell that would die without passing it on.
    args += ["--wrap", "exec " + shlex.join(cmd)]
    try:
        out = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise DslError(f"--detach: sbatch failed: {err}") from None
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no message"])[-1]
        raise DslError(f"--detach: sbatch refused the driver job: {last}")
    return out.stdout.strip().split(";")[0]


def _slurm_alive(slurm_job: str) -> bool:
    out = subprocess.run(["squeue", "-h", "-j", slurm_job, "-o", "%T"], capture_output=True,
                         text=True, timeout=20)
    return out.returncode == 0 and bool(out.stdout.strip())


def argv_of(parser, args, drop: set[str]) -> list[str]:
    """The command-line arguments that give `args` again under `parser` (minus `drop`)."""
    import argparse

    out: list[str] = [parser.prog.split()[-1]]
    positional: list[str] = []
    for action in parser._actions:
        if action.dest in drop or isinstance(action, argparse._HelpAction):
            continue
        value = getattr(args, action.dest, None)
        if not action.option_strings:
            positional += [str(v) for v in (value if isinstance(value, list) else [value])]
            continue
        flag = action.option_strings[-1] if action.option_strings[-1].startswith("--") \
            else action.option_strings[0]
        if isinstance(action, argparse._StoreConstAction):  # flags, e.g. --compile/--no-compile
            if value == action.const and value != action.default:
                out.append(flag)
        elif isinstance(action, argparse._AppendAction):
            for item in value or ():
                out += [flag, str(item)]
        elif value is not None and value != action.default:
            out += [flag, str(value)]
    return out + positional
