"""The Slurm executor's rules without a cluster: sizes, packing, option parsing, the ETA."""

from __future__ import annotations

from collections import Counter

import pytest

from dsl.errors import DslError
from engine.executors.slurm_options import Cluster, SlurmOptions, parse_extra, parse_time
from engine.worker import Task

pytest.importorskip("submitit")

CPU_ONLY = Cluster(("debug", "long"), "debug", 0)
WITH_GPUS = Cluster(("gpu",), "gpu", 4)


def _executor(tmp_path, cluster, **options):
    from engine.executors.slurm import SlurmExecutor

    return SlurmExecutor(tmp_path, SlurmOptions(**options), cluster=cluster)


def _task(kind, i, arch=None):
    config = {"i": i, **({"model": {"arch": arch}} if arch else {})}
    return Task(f"{kind}-{i:016x}", kind, "x:y", config, {}, "/nowhere", gpu=kind != "linear")


def test_small_jobs_are_packed_and_others_run_alone(tmp_path):
    ex = _executor(tmp_path, WITH_GPUS)
    tasks = [_task("linear", i) for i in range(10)] + [_task("train", i, "resnet18")
                                                       for i in range(3)]
    units = ex._units_of(tasks)
    sizes = Counter((u.key[0], len(u.tasks)) for u in units)
    assert sizes == {("linear", 8): 1, ("linear", 2): 1, ("train", 1): 3}
    assert {(u.gpus, u.cpus) for u in units if u.key[0] == "train"} == {(1, 1)}
    assert {(u.gpus, u.cpus) for u in units if u.key[0] == "linear"} == {(0, 1)}
    assert all(t.device == "cpu" for u in units if u.key[0] == "linear" for t in u.tasks)
    assert len(_executor(tmp_path, WITH_GPUS, pack=1)._units_of(tasks)) == 13


def test_sizes_follow_the_resource_rules_and_the_cluster(tmp_path):
    from engine.executors.slurm import SlurmExecutor
    from engine.resources import ResourcePolicy

    policy = ResourcePolicy.from_options(["train:resnet50=gpu:2,cpu:6"], per_gpu=4)
    ex = SlurmExecutor(tmp_path, SlurmOptions(), resources=policy, cluster=WITH_GPUS)
    assert ex.size(_task("train", 0, "resnet50")) == (2, 6)
    assert ex.size(_task("train", 0, "resnet18")) == (1, 1)  # a 0.25 share is a whole GPU
    assert _executor(tmp_path, WITH_GPUS, gpus_per_job=2, cpus_per_job=4).size(
        _task("train", 0, "resnet18")) == (2, 4)
    assert _executor(tmp_path, CPU_ONLY).size(_task("train", 0, "resnet18")) == (0, 1)


def test_partition_time_and_extra_options_are_checked():
    from engine.executors.slurm_options import check_partition

    assert check_partition(CPU_ONLY, None) is None and check_partition(CPU_ONLY, "long") == "long"
    with pytest.raises(DslError, match="did you mean 'long'"):
        check_partition(CPU_ONLY, "lnog")
    assert [parse_time(t) for t in ("90", "4:00:00", "1-00:00:00", "1-2", "0:30")] == \
        [90, 240, 1440, 1560, 1]
    for bad in ("soon", "0", "1:2:3:4"):
        with pytest.raises(DslError, match="--time"):
            parse_time(bad)
    assert parse_extra(["constraint=a100", "--mem=32G", "mail_type=END"]) == (
        ("constraint", "a100"), ("mem", "32G"), ("mail-type", "END"))
    for bad, words in (("constraint", "KEY=VALUE"), ("=x", "KEY=VALUE"), ("p=gpu", "--partition"),
                       ("output=x", "dsl logs")):
        with pytest.raises(DslError, match=words):
            parse_extra([bad])
    with pytest.raises(DslError, match="--max-submitted"):
        SlurmOptions(max_submitted=0)


def test_the_eta_needs_a_measured_duration_for_every_kind_left():
    from engine.run_status import _eta

    counts = {"train": Counter(done=2, running=2, queued=2), "linear": Counter(queued=4)}
    assert _eta(counts, {"train": [10.0, 20.0]}, 2) is None
    assert _eta(counts, {"train": [10.0, 20.0], "linear": [1.0]}, 2) == (4 * 15.0 + 4 * 1.0) / 2


def test_a_job_gone_from_the_queue_without_a_result_is_submitted_again(tmp_path, monkeypatch):
    """Without accounting submitit never sees a cancelled job end: squeue's silence, twice, is
    taken as the end, and the job goes back to Slurm (or fails once its retries are spent)."""
    from pathlib import Path
    from types import SimpleNamespace

    import engine.executors.slurm as slurm

    ex = _executor(tmp_path, CPU_ONLY, retries=1)
    monkeypatch.setattr(slurm, "_alive", lambda ids: set())
    again = []
    monkeypatch.setattr(ex, "_submit_array", lambda units: again.extend(units))
    task = _task("train", 1, "small_cnn")
    job = SimpleNamespace(job_id="4242", paths=SimpleNamespace(result_pickle=Path(tmp_path / "x")),
                          done=lambda force_check=False: False)
    ex._units.append(slurm._Unit([task], ("train", None, 0, 1), 0, 1, job=job))
    ex._attempts[task.job_id] = 1

    def check():
        ex._gone_checked_at = 0.0
        ex._check_gone()

    check()
    assert ex._units and not again  # missing once: maybe just finishing
    check()
    assert not ex._units and [u.tasks for u in again] == [[task]]
    ex._attempts[task.job_id] = 2
    ex._units.append(slurm._Unit([task], ("train", None, 0, 1), 0, 1, job=job))
    check()
    check()
    (failed,) = ex._ready
    assert not failed.ok and "gone from the queue" in failed.error and "1 time" not in failed.error
