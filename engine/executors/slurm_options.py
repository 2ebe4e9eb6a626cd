"""The Slurm executor's options, checked before anything is planned or submitted.

Torch- and submitit-free: `dsl run` validates `--time`, `--slurm-extra` and friends at once, and
the cluster (reachable? partition known? GPUs?) through `sinfo` before the first job is submitted.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

from dsl.errors import DslError, did_you_mean

# Kinds whose jobs take seconds each: several run in sequence inside one Slurm job (a "pack"), so a
# sweep does not put hundreds of seconds-long jobs into the queue (docs/cluster.md states the rule).
PACKED_KINDS = frozenset({"dataset", "linear", "sensitivity"})
DEFAULT_PACK = 8
DEFAULT_MAX_SUBMITTED = 64
DEFAULT_RETRIES = 3
DEFAULT_TIME_MIN = 60

# sbatch options that have their own `dsl run` flag: an --slurm-extra for them would silently
# fight that flag.
_OWN_FLAGS = {"partition": "--partition", "p": "--partition", "time": "--time", "t": "--time",
              "account": "--account", "A": "--account", "qos": "--qos",
              "cpus-per-task": "--cpus-per-job", "c": "--cpus-per-job",
              "gpus-per-node": "--gpus-per-job", "gpus": "--gpus-per-job", "G": "--gpus-per-job",
              "gres": "--gpus-per-job", "array": "--max-submitted", "job-name": None,
              "output": "dsl logs", "error": "dsl logs", "o": "dsl logs", "e": "dsl logs"}
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class SlurmOptions:
    partition: str | None = None
    time_min: int = DEFAULT_TIME_MIN
    gpus_per_job: int | None = None  # None: from the resource rules (a GPU kind gets one GPU)
    cpus_per_job: int | None = None  # None: from the resource rules
    account: str | None = None
    qos: str | None = None
    extra: tuple[tuple[str, str], ...] = ()
    max_submitted: int = DEFAULT_MAX_SUBMITTED
    retries: int = DEFAULT_RETRIES
    pack: int = DEFAULT_PACK

    def __post_init__(self) -> None:
        if self.max_submitted < 1:
            raise DslError(f"--max-submitted must be at least 1, not {self.max_submitted}")
        if self.retries < 0:
            raise DslError(f"--retries must be 0 or more, not {self.retries}")
        for flag, value in (("--gpus-per-job", self.gpus_per_job),
                            ("--cpus-per-job", self.cpus_per_job)):
            if value is not None and value < (0 if flag == "--gpus-per-job" else 1):
                raise DslError(f"{flag} must be at least {0 if 'gpus' in flag else 1}, "
                               f"not {value}")

    @classmethod
    def from_cli(cls, *, partition=None, time=None, gpus_per_job=None, cpus_per_job=None,
                 account=None, qos=None, extra=(), max_submitted=None, retries=None,
                 pack=None) -> "SlurmOptions":
        return cls(partition=partition or None,
                   time_min=parse_time(time) if time else DEFAULT_TIME_MIN,
                   gpus_per_job=gpus_per_job, cpus_per_job=cpus_per_job,
                   account=account or None, qos=qos or None, extra=parse_extra(extra),
                   max_submitted=DEFAULT_MAX_SUBMITTED if max_submitted is None else max_submitted,
                   retries=DEFAULT_RETRIES if retries is None else retries,
                   pack=DEFAULT_PACK if pack is None else max(1, pack))


def parse_time(text: str) -> int:
    """Slurm's time formats (`MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`) -> whole
    minutes, rounded up (submitit takes minutes)."""
    value = str(text).strip()
    m = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", value)
    if not m:
        raise DslError(f"--time {text!r}: expected a Slurm time limit such as 90 (minutes), "
                       "4:00:00 or 1-12:00:00")
    days, a, b, c = m.groups()
    nums = [int(x) for x in (a, b, c) if x is not None]
    if days is not None:  # D-HH[:MM[:SS]]
        h, mi, s = (nums + [0, 0])[:3]
        seconds = int(days) * 86400 + h * 3600 + mi * 60 + s
    elif len(nums) == 1:
        seconds = nums[0] * 60
    elif len(nums) == 2:  # MM:SS
        seconds = nums[0] * 60 + nums[1]
    else:
        seconds = nums[0] * 3600 + nums[1] * 60 + nums[2]
    if seconds <= 0:
        raise DslError(f"--time {text!r}: the limit must be above zero")
    return -(-seconds // 60)


def parse_extra(items) -> tuple[tuple[str, str], ...]:
    """`--slurm-extra KEY=VALUE` (an sbatch option without its dashes), repeatable."""
    out: dict[str, str] = {}
    for text in items or ():
        key, eq, value = str(text).partition("=")
        key = key.strip().lstrip("-")
        if not eq or not _KEY.match(key) or not value.strip():
            raise DslError(f"--slurm-extra {text!r}: expected KEY=VALUE, an sbatch option "
                           "without its dashes, e.g. --slurm-extra constraint=a100")
        if key in _OWN_FLAGS:
            own = _OWN_FLAGS[key]
            raise DslError(f"--slurm-extra {text!r}: {key} is set by dsl itself"
                           + (f"; use {own}" if own else ""))
        out[key.replace("_", "-")] = value.strip()
    return tuple(out.items())


@dataclass(frozen=True)
class Cluster:
    """What `sinfo` says about the cluster: its partitions, the default one, GPUs per node."""

    partitions: tuple[str, ...]
    default: str | None
    gpus: int  # the most GPUs on any node (0: a CPU-only cluster)


def _run(cmd: list[str], timeout: float = 20.0) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def probe_cluster() -> Cluster:
    """The cluster as `sinfo` sees it; one-line DslError when Slurm is not reachable."""
    if shutil.which("sbatch") is None or shutil.which("sinfo") is None:
        raise DslError("--executor slurm: no Slurm here (sbatch and sinfo are not on PATH); run "
                       "on a login node of a Slurm cluster (for tests: .ci/slurm-up starts one)")
    try:
        out = _run(["sinfo", "-h", "-o", "%P|%G"])
    except subprocess.TimeoutExpired:
        raise DslError("--executor slurm: sinfo did not answer in 20 s; is slurmctld up?") from None
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no message"])[-1]
        raise DslError(f"--executor slurm: cannot reach the Slurm controller ({last})")
    partitions: list[str] = []
    default = None
    gpus = 0
    for line in out.stdout.splitlines():
        name, _, gres = line.strip().partition("|")
        if not name:
            continue
        if name.endswith("*"):
            name = name[:-1]
            default = default or name
        if name not in partitions:
            partitions.append(name)
        for item in gres.split(","):  # gpu:4, gpu:a100:8, gpu:a100:8(S:0-1)
            parts = item.split("(")[0].split(":")
            if parts[0] == "gpu" and parts[-1].isdigit():
                gpus = max(gpus, int(parts[-1]))
    return Cluster(tuple(partitions), default, gpus)


def check_partition(cluster: Cluster, partition: str | None) -> str | None:
    """The partition jobs go to (None: the cluster's default); DslError for an unknown one."""
    if partition is None:
        if cluster.default is None and cluster.partitions:
            raise DslError("--executor slurm: the cluster has no default partition; choose one "
                           f"with --partition ({', '.join(cluster.partitions)})")
        return None
    if partition not in cluster.partitions:
        hint = did_you_mean(partition, cluster.partitions)
        raise DslError(f"--partition {partition!r}: no such Slurm partition; "
                       + (hint or f"choose one of {', '.join(cluster.partitions)}"))
    return partition
