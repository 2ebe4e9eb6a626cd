"""The words every command counts jobs with, each with one meaning.

`dsl plan`, `dsl run`, `dsl runs`, `dsl diff` and the HTML report all count in these words; their
--help and the report quote the definitions from here, so a number under one word means the same
thing wherever it is printed.
"""

from __future__ import annotations

from typing import Iterable

from dsl.kinds import rank

# Sort key for job kinds wherever counts or changes are shown by kind: the pipeline's order,
# each kind's `order` in its registry record (unknown kinds after it by name).
kind_rank = rank


WORDS: dict[str, str] = {
    "cells": "the (seed x factor levels) combinations of a spec; one row of results each",
    "jobs": "distinct jobs (dataset, train, features and probe jobs), each counted once however "
            "many cells or specs use it",
    "uses": "jobs as the cells need them, before sharing: a job three cells need counts three "
            "times (so uses >= jobs)",
    "shared": "jobs that more than one cell needs (across specs: more than one spec; in dsl "
              "diff: both versions), each counted once (so shared <= jobs)",
    "cached": "jobs already finished in the store when the command started (not run again)",
    "to run": "jobs not finished in the store yet",
    "ran": "jobs this run finished",
    "failed": "jobs that raised an error (their dependents are skipped)",
}


def glossary(words: Iterable[str] | None = None, indent: str = "  ") -> str:
    """'word: meaning' lines for --help and reports (all words, or those given)."""
    chosen = list(WORDS) if words is None else list(words)
    width = max(len(w) for w in chosen)
    return "\n".join(f"{indent}{w:<{width}}  {WORDS[w]}" for w in chosen)
