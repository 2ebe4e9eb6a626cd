"""What a result was made with besides its config and code: library versions, hardware, checkout.

`run_environment()` describes the driver of a `dsl run` (recorded with the run) and never imports
torch: versions come from the installed packages' metadata and torch's own version file.
`job_environment()` describes the worker a job ran in (recorded with the job): the job has
imported torch already, so the CUDA, cuDNN and GPU it actually used are asked from torch. Both are
plain dicts of strings (None where something does not apply), cached per process.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.metadata
import importlib.util
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

# The packages whose versions change numbers; the project's own is "dsl".
PACKAGES = ("torch", "torchvision", "numba", "numpy", "dsl")
# Where this project's sources live (the git checkout whose state is recorded).
SOURCE_DIR = Path(__file__).resolve().parent.parent


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _torch_build() -> dict[str, str | None]:
    """torch's CUDA build, read from torch/version.py without importing torch (seconds)."""
    spec = importlib.util.find_spec("torch")
    locations = list(getattr(spec, "submodule_search_locations", None) or [])
    out: dict[str, str | None] = {"cuda": None}
    for folder in locations:
        try:
            tree = ast.parse((Path(folder) / "version.py").read_text())
        except (OSError, SyntaxError):
            continue
        for node in ast.walk(tree):
            target = node.target if isinstance(node, ast.AnnAssign) else \
                node.targets[0] if isinstance(node, ast.Assign) and node.targets else None
            if isinstance(target, ast.Name) and target.id == "cuda" and \
                    isinstance(node.value, ast.Constant):
                out["cuda"] = node.value.value
    return out


def _cudnn_from_packages() -> str | None:
    for name in ("nvidia-cudnn-cu13", "nvidia-cudnn-cu12", "nvidia-cudnn-cu11"):
        found = _version(name)
        if found:
            return found
    return None


def _run(args: list[str], cwd: Path | None = None, timeout: float = 10.0) -> str | None:
    try:
        out = subprocess.run(args, cwd=cwd, capture_output=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.decode(errors="replace") if out.returncode == 0 else None


def gpus() -> list[dict[str, str]]:
    """[{name, driver}] of the GPUs nvidia-smi sees (none without it)."""
    text = _run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"])
    out = []
    for line in (text or "").splitlines():
        name, _, driver = line.partition(",")
        if name.strip():
            out.append({"name": name.strip(), "driver": driver.strip() or None})
    return out


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_state(cwd: Path = SOURCE_DIR) -> dict[str, Any]:
    """{commit, dirty, diff_hash} of the checkout holding the code (all None outside git).
    dirty counts changed tracked files and new files git does not ignore; diff_hash is over
    `git diff HEAD` (tracked changes) plus the names and contents of those new files, so two
    runs with the same hash ran the same uncommitted code."""
    commit = _run(["git", "rev-parse", "HEAD"], cwd)
    if commit is None:
        return {"commit": None, "dirty": None, "diff_hash": None}
    status = _run(["git", "status", "--porcelain", "--untracked-files=all"], cwd) or ""
    dirty = bool(status.strip())
    diff_hash = None
    if dirty:
        h = hashlib.sha256((_run(["git", "diff", "HEAD", "--binary"], cwd) or "").encode())
        top = Path((_run(["git", "rev-parse", "--show-toplevel"], cwd) or str(cwd)).strip())
        for line in sorted(status.splitlines()):
            if line.startswith("??"):
                path = top / line[3:].strip()
                h.update(line.encode())
                try:
                    h.update(path.read_bytes() if path.is_file() else b"")
                except OSError:
                    pass
        diff_hash = h.hexdigest()[:16]
    return {"commit": commit.strip(), "dirty": dirty, "diff_hash": diff_hash}


def _common() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        **{p: _version(p) for p in PACKAGES},
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
        "cpu": cpu_model(),
    }


@functools.lru_cache(maxsize=1)
def run_environment() -> dict[str, Any]:
    """The driver's environment: versions, GPUs present, CPU, host and the code's git state."""
    found = gpus()
    return {
        **_common(),
        "cuda": _torch_build()["cuda"],
        "cudnn": _cudnn_from_packages(),
        "gpu": ", ".join(g["name"] for g in found) or None,
        "gpu_driver": found[0]["driver"] if found else None,
        **{f"git_{k}": v for k, v in git_state().items()},
    }


@functools.lru_cache(maxsize=1)
def _worker_static() -> dict[str, Any]:
    return {**_common(), **{f"git_{k}": v for k, v in git_state().items()}}


def job_environment() -> dict[str, Any]:
    """The worker's environment as a job saw it: the CUDA and cuDNN torch loaded, and the GPU
    the worker used (or none: then the CPU model is what ran it)."""
    out = dict(_worker_static())
    torch = sys.modules.get("torch")  # imported by the job if it needed it; never here
    if torch is None:
        out.update(cuda=_torch_build()["cuda"], cudnn=_cudnn_from_packages(), gpu=None,
                   gpu_driver=None)
        return out
    out["cuda"] = torch.version.cuda
    try:
        cudnn = torch.backends.cudnn.version()
    except Exception:  # noqa: BLE001 - a build without cuDNN
        cudnn = None
    out["cudnn"] = _cudnn_text(cudnn) if cudnn else _cudnn_from_packages()
    out["gpu"] = out["gpu_driver"] = None
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        out["gpu"] = torch.cuda.get_device_name(torch.cuda.current_device())
        out["gpu_driver"] = _gpu_driver()
    return out


def _cudnn_text(version: int) -> str:
    """torch's cuDNN number as a version: 92400 -> 9.24.0 (cuDNN 9), 8902 -> 8.9.2 (before)."""
    if version >= 10000:
        return f"{version // 10000}.{version % 10000 // 100}.{version % 100}"
    return f"{version // 1000}.{version % 1000 // 100}.{version % 100}"


@functools.lru_cache(maxsize=1)
def _gpu_driver() -> str | None:
    found = gpus()
    return found[0]["driver"] if found else None


def env_id(env: dict[str, Any]) -> str:
    """A short content hash: identical environments are stored once."""
    import json

    return hashlib.sha256(json.dumps(env, sort_keys=True, default=str).encode()).hexdigest()[:16]


# How the fields read, in the order `dsl show` and the report print them.
LABELS = (("python", "Python"), ("torch", "torch"), ("torchvision", "torchvision"),
          ("cuda", "CUDA"), ("cudnn", "cuDNN"), ("numba", "numba"), ("numpy", "numpy"),
          ("dsl", "dsl (this project)"), ("gpu", "GPU"), ("gpu_driver", "GPU driver"),
          ("cpu", "CPU"), ("hostname", "host"), ("platform", "platform"),
          ("git_commit", "git commit"), ("git_dirty", "uncommitted changes"),
          ("git_diff_hash", "diff hash"))


def describe(env: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, text) pairs of an environment, for people."""
    out = []
    for key, label in LABELS:
        if key not in env:
            continue
        value = env[key]
        if key == "git_dirty":
            value = "unknown" if value is None else "yes" if value else "no"
        out.append((label, "-" if value is None else str(value)))
    return out
