"""How often a 95% interval of a mean over n seeds contains the true mean: percentile bootstrap
(scipy, as dsl.stats computes it) vs t, for normal per-seed values. Prints coverage and mean
width (in standard deviations) per n; docs/claims.md quotes the figures.

    python3 benchmarks/seed_coverage.py [--samples 2000] [--seeds 2 3 5 10]
"""

from __future__ import annotations

import argparse

import numpy as np

from dsl import stats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=2000, help="simulated experiments per n")
    ap.add_argument("--seeds", type=int, nargs="+", default=[2, 3, 5, 10])
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    print("seeds  bootstrap coverage  width   t coverage  width")
    for n in args.seeds:
        data = rng.normal(0.0, 1.0, (args.samples, n)).tolist()
        boot = stats.bootstrap_intervals(data)
        t = [stats.t_interval(row) for row in data]
        cover = [np.mean([lo <= 0.0 <= hi for lo, hi in ivs]) for ivs in (boot, t)]
        width = [np.mean([hi - lo for lo, hi in ivs]) for ivs in (boot, t)]
        print(f"{n:5d}  {cover[0]:18.1%}  {width[0]:5.2f}   {cover[1]:10.1%}  {width[1]:5.2f}")


if __name__ == "__main__":
    main()
