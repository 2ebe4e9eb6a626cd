"""When `dsl run` compiles a training by default (`--compile auto`): the rule, in one place.

torch.compile with CUDA graphs made ResNet-18 train at ~78k images/s on an H200 vs ~50k eager,
about 7 us saved per image, after ~20 s of compilation in a fresh worker: it pays from about
2.5M training images (epochs x training-set size; a full-scale 50-epoch x 50k training is
exactly that). On a CPU, inductor's first compile takes minutes and nothing is gained for these
small models, so auto never compiles there. The engine applies the rule per training
(engine/compiled.py); `dsl plan` counts the trainings it selects.
"""

from __future__ import annotations

from typing import Any, Mapping

AUTO_MIN_IMAGES = 2_500_000
RULE = ("--compile auto (the default): torch.compile with CUDA graphs for trainings of >= 2.5M "
        "images (epochs x training images) on a GPU, never on a CPU; --compile always, "
        "--no-compile never")


def images(job, jobs: Mapping[str, Any]) -> int:
    """Training images a train or finetune job processes (epochs x its training set)."""
    from dsl.estimate import split_sizes

    c = job.config
    n = split_sizes(jobs[job.inputs["data"]].config)["train"]
    if job.kind == "finetune" and c.get("n_train"):
        n = min(n, int(c["n_train"]))
    return int(c.get("epochs", 0)) * n


def count(jobs: Mapping[str, Any], only) -> tuple[int, int]:
    """(trainings the rule would compile on a GPU, trainings) among the jobs in `only`."""
    picked = total = 0
    for jid in only:
        job = jobs[jid]
        if job.kind in ("train", "finetune") and "data" in job.inputs:
            total += 1
            picked += images(job, jobs) >= AUTO_MIN_IMAGES
    return picked, total
