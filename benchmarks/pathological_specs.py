"""Pathological specs: seconds from `dsl validate` to its one error, per case of issue 20.

Each case runs in-process (`dsl.cli.main`, imports already done), so the figure is the time
the spec costs, not Python's start-up. The target is 2 s per case. A second part measures the
duplicate-value check of a factor the way it was (a list: quadratic) and is now (a set), on the
same values in the same run, and prints the ratio.

    python benchmarks/pathological_specs.py
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dsl.cli import main  # noqa: E402

TARGET_S = 2.0
SPEC = (Path(__file__).resolve().parent.parent / "specs" / "quickstart.toml").read_text()


def cases(folder: Path) -> dict[str, list[str]]:
    """name -> argv, every file written into `folder`."""
    def write(name: str, text: str) -> str:
        (folder / name).write_text(text)
        return str(folder / name)

    def spec_with(old: str, new: str) -> str:
        assert old in SPEC
        return SPEC.replace(old, new)

    chain = folder / "chain"
    chain.mkdir()
    for i in range(2000):
        (chain / f"c{i}.toml").write_text(f'[spec]\nextends = "c{i + 1}.toml"\n' if i < 1999
                                          else "[spec]\n")
    os.symlink("b.toml", folder / "a.toml")
    os.symlink("a.toml", folder / "b.toml")
    (folder / "x.toml").mkdir()
    big = ", ".join(str(i) for i in range(140_000))  # just under 1 MiB of values
    return {
        "450 nested inline tables": [write("nested.toml", SPEC + "x = " + "{ a = " * 450 + "1"
                                           + " }" * 450 + "\n")],
        'extends = "."': [write("dot.toml", spec_with("seeds = 2", 'seeds = 2\nextends = "."'))],
        "extends link loop": [write("loop.toml", spec_with(
            "seeds = 2", 'seeds = 2\nextends = "a.toml"'))],
        "2,000-deep extends chain": [write("chain.toml", spec_with(
            "seeds = 2", 'seeds = 2\nextends = "chain/c0.toml"'))],
        "seeds = 10^12": [write("seeds.toml", spec_with("seeds = 2", "seeds = 1000000000000"))],
        "lr = inf": [write("inf.toml", spec_with("lr = 2e-3", "lr = inf"))],
        "factor of 140k values": [write("factor.toml", spec_with(
            'invariance = ["same", "other"]', f'invariance = ["same", "other"]\nbig = [{big}]'))],
        "80 MB spec of 4M keys": [write("huge.toml", SPEC + "[junk]\n" + "".join(
            f"key{i} = {i}\n" for i in range(4_000_000)))],
        "folder named x.toml": [str(folder / "x.toml")],
        "exclude removes every cell": [write("excl.toml", spec_with(
            'invariance = ["same", "other"]', 'invariance = ["same", "other"]\nexclude = '
            '[{ invariance = "same" }, { invariance = "other" }]'))],
    }


def run(argv: list[str]) -> tuple[float, int, str]:
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["validate", *argv])
    return time.perf_counter() - start, code, (err.getvalue().strip().splitlines() or [""])[-1]


def distinct_check(n: int) -> tuple[float, float]:
    """Seconds of the duplicate-value check on n distinct values: as a list, as a set."""
    rows = [(("int", v),) for v in range(n)]
    start = time.perf_counter()
    seen_list: list = []
    for row in rows:
        _ = row in seen_list
        seen_list.append(row)
    as_list = time.perf_counter() - start
    from dsl.checks import _Checker
    from dsl.load import Document

    checker = _Checker(Document(path=Path("m.toml"), data={"factors": {"f": list(range(n))}},
                                files=["m.toml"]))
    start = time.perf_counter()
    checker.check_distinct(("factors", "f"), [(v,) for v in range(n)], "repeats")
    return as_list, time.perf_counter() - start


def main_() -> None:
    run([str(Path(__file__).resolve().parent.parent / "specs" / "quickstart.toml")])  # imports
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for name, argv in cases(Path(tmp)).items():
            seconds, code, last = run(argv)
            worst = max(worst, seconds)
            print(f"{name:30s} {seconds:6.2f} s  exit {code}  {last[:110]}")
    print(f"slowest case {worst:.2f} s; target {TARGET_S:.0f} s: ratio {worst / TARGET_S:.2f} "
          "(below 1 is good)")
    for n in (4_000, 16_000):
        as_list, as_set = distinct_check(n)
        print(f"distinct check, {n:,} values: list {as_list:.2f} s, set {as_set:.4f} s, "
              f"{as_list / max(as_set, 1e-9):,.0f}x")


if __name__ == "__main__":
    main_()
