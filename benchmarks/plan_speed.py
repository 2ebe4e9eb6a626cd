"""Planning speed: seconds to plan a generated spec of more than 10,000 unique jobs.

`dsl plan` and `dsl validate` are interactive, so planning a paper-sized sweep must take about as
long as reading it. The generated spec mixes every way jobs come about: a nested transforms
chain and per-transform factors, a linear probe whose target varies (features + linear + target
dataset per cell), a sensitivity probe per (model, transform), and an accuracy probe that ignores
a factor (deduplicated). It prints the job counts, the best of --repeat timings and the ratio to
the target (below 1 is good).

    python benchmarks/plan_speed.py               # target 2 s
    python benchmarks/plan_speed.py --seeds 10 --repeat 3
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dsl import catalog  # noqa: E402
from dsl.planner import plan  # noqa: E402

TARGET_S = 2.0


def spec_text(seeds: int) -> str:
    names = ", ".join(f'"{t}"' for t in catalog.TRANSFORMS)
    return f"""
[spec]
title = "Planner benchmark"
seeds = {seeds}

[draw]
source_objects = {{ objects = 30 }}
target_objects = {{ objects = 30, disjoint_from = ["source_objects"] }}

[task.source]
data = {{ kind = "transforms2d", objects = "source_objects", transforms = "{{train_tf}}" }}

[task.target]
data = {{ kind = "transforms2d", objects = "target_objects", transforms = "{{probed}}" }}

[factors]
train_tf = ["none", {names}]
probed = [{names}]
width = [0.5, 1.0]

[train]
task = "source"
arch = "resnet18"
width = "{{width}}"
epochs = 50

[[probe]]
kind = "linear"
task = "target"

[[probe]]
kind = "sensitivity"
vary = "{{probed}}"

[[probe]]
kind = "accuracy"
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.toml"
        path.write_text(spec_text(args.seeds))
        times, result = [], None
        for _ in range(args.repeat):
            start = time.perf_counter()
            result = plan([path])
            times.append(time.perf_counter() - start)
    spec = result.specs[0]
    kinds = collections.Counter(job.kind for job in result.jobs.values())
    print(f"cells: {len(spec.cells)}  unique jobs: {len(result.jobs)}  "
          + "  ".join(f"{k}: {n}" for k, n in sorted(kinds.items())))
    best = min(times)
    print(f"plan: {best:.3f} s (best of {len(times)}: "
          + ", ".join(f"{t:.3f}" for t in times) + ")")
    print(f"ratio to the {TARGET_S:.0f} s target: {best / TARGET_S:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
