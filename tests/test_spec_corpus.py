"""Every malformed spec of the corpus (tests/spec_corpus.py: at least 500, mutated from the
shipped specs, plus parser-level damage) gives a non-zero exit, no traceback, and an error that
names the file and the line of the mistake. The cases run in-process through `dsl.cli.main`;
an alarm turns a hang into a failure. `-s` prints the count and the time they took."""

from __future__ import annotations

import contextlib
import io
import re
import signal
import time

import pytest

from dsl.cli import main
from tests.spec_corpus import cases, prepare_bases

CASES = cases()
HANG_S = 30  # a hang guard, not a speed check: a case takes milliseconds


def test_the_corpus_is_large_and_covers_every_shipped_spec():
    from tests.spec_corpus import SPECS

    assert len(CASES) >= 500
    assert len({c.id for c in CASES}) == len(CASES)
    for spec in SPECS.glob("[!_]*.toml"):
        assert sum(c.id.startswith(spec.stem + "-") for c in CASES) >= 20, spec.name


def _validate(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse
            code = exit_.code
    return code, out.getvalue() + err.getvalue()


def test_every_malformed_spec_gives_one_clear_error_at_its_line(tmp_path):
    prepare_bases(tmp_path)

    def hung(signum, frame):
        raise TimeoutError(f"no answer within {HANG_S} s")

    old = signal.signal(signal.SIGALRM, hung)
    failures, slowest = [], (0.0, "")
    start = time.perf_counter()
    try:
        for case in CASES:
            path = case.write(tmp_path)
            signal.alarm(HANG_S)
            began = time.perf_counter()
            try:
                code, text = _validate(["validate", str(path), *case.argv])
            except BaseException as err:  # noqa: BLE001 - an escape is what this test finds
                code, text = None, f"raised {type(err).__name__}: {err}"
            finally:
                signal.alarm(0)
            slowest = max(slowest, (time.perf_counter() - began, case.id))
            why = _judge(case, path.name, code, text)
            if why:
                failures.append(f"{case.id}: {why}\n    {text.strip()[:400]}")
    finally:
        signal.signal(signal.SIGALRM, old)
    total = time.perf_counter() - start
    print(f"\n{len(CASES)} malformed specs in {total:.1f} s; slowest {slowest[1]} "
          f"{slowest[0]:.2f} s")
    assert not failures, f"{len(failures)} of {len(CASES)} cases:\n" + "\n".join(failures[:40])


def _judge(case, name: str, code, text: str) -> str | None:
    if code in (None, 0):
        return f"exit code {code}"
    if "Traceback" in text or "internal error" in text:
        return "a traceback"
    if case.argv:  # a --set problem names the option
        return None if "--set" in text else "the --set option is not named"
    if case.line is None:
        return None if name in text else "the file is not named"
    if not re.search(re.escape(name) + f":{case.line}[ :]", text):
        return f"line {case.line} not named"
    return None


@pytest.mark.parametrize("family", ["inf", "open-array", "open-table", "parser-deep",
                                    "not-utf8", "twice", "misspelt-key", "too-large",
                                    "extends-fifo", "ft-"])
def test_each_family_is_in_the_corpus(family):
    assert any(family in c.id for c in CASES)
