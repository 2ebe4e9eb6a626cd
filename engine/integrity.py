"""Content hashes of artifacts: written into the manifest at publish, checked before a job reads.

The manifest (`.manifest.json` in every artifact folder) lists each file's size and its SHA-256
digest (standard library; CPUs with SHA instructions, x86 since ~2017 and ARMv8, make it faster
than BLAKE2b: `benchmarks/hash_cost.py` measures both against loading the artifact), and
says which job made the artifact (kind, version, config, inputs) and the metrics it returned, so
that `dsl store repair` can put a job whose database row was lost back into the store.

Three verdicts (`check`): intact; damaged (a file missing, of another size or content: the job
that reads it has it recomputed first); unverified, for artifacts published before manifests had
hashes. Those are used as before (their sizes are still checked) and `dsl verify` counts them: a
hash taken now could only bless whatever they hold today, so none is added behind the user's back.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

MANIFEST = ".manifest.json"
ALGORITHM = "sha256"


def digest(path: str | os.PathLike) -> str:
    """The hex SHA-256 digest of a file's bytes."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _files(folder: Path) -> list[str]:
    """Paths relative to `folder` of every file under it but the manifest, sorted."""
    out = []
    for top, _dirs, files in os.walk(folder):
        for name in files:
            rel = (Path(top) / name).relative_to(folder).as_posix()
            if rel != MANIFEST:
                out.append(rel)
    return sorted(out)


def write_manifest(folder: Path, job: Mapping[str, Any] | None = None,
                   metrics: Iterable[tuple[str, str | None, float]] = ()) -> dict:
    """Write `folder`'s manifest: sizes and digests of its files, the job that made them and
    its metrics (what `dsl store repair` needs to re-adopt the artifact)."""
    folder = Path(folder)
    names = _files(folder)
    manifest: dict[str, Any] = {
        "files": {rel: (folder / rel).stat().st_size for rel in names},
        "hash": ALGORITHM,
        "digests": {rel: digest(folder / rel) for rel in names},
    }
    if job is not None:
        manifest["job"] = dict(job)
        manifest["metrics"] = [[n, s, float(v)] for n, s, v in metrics]
    (folder / MANIFEST).write_text(json.dumps(manifest, sort_keys=True))
    return manifest


def read_manifest(folder: Path) -> dict | None:
    """The manifest of an artifact folder; None when it has none (published before manifests).
    Raises OSError or ValueError when it exists but cannot be read."""
    try:
        text = (Path(folder) / MANIFEST).read_text()
    except FileNotFoundError:
        return None
    data = json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise ValueError("it lists no files")
    return data


@dataclass(frozen=True)
class Verdict:
    status: str  # intact | unverified | damaged
    problem: str | None = None

    @property
    def damaged(self) -> bool:
        return self.status == "damaged"


def check(folder: str | os.PathLike) -> Verdict:
    """Read every file of an artifact folder and compare it with its manifest."""
    folder = Path(folder)
    if not folder.is_dir():
        return Verdict("damaged", f"its folder {folder} is missing")
    try:
        manifest = read_manifest(folder)
    except (OSError, ValueError) as err:
        return Verdict("damaged", f"its manifest {folder / MANIFEST} is unreadable ({err})")
    if manifest is None:
        return Verdict("unverified", "published before manifests")
    sizes, digests = manifest["files"], manifest.get("digests")
    for rel, size in sorted(sizes.items()):
        path = folder / rel
        try:
            now = path.stat().st_size
        except OSError:
            return Verdict("damaged", f"{path} is missing")
        if now != size:
            return Verdict("damaged", f"{path} has {now} bytes, {size} when it was written")
    if not isinstance(digests, dict) or manifest.get("hash") != ALGORITHM:
        return Verdict("unverified", "published before content hashes")
    for rel in sorted(sizes):
        expected = digests.get(rel)
        if expected is None:
            return Verdict("unverified", f"{rel} has no content hash")
        try:
            now = digest(folder / rel)
        except OSError as err:
            return Verdict("damaged", f"{folder / rel} cannot be read ({err.strerror})")
        if now != expected:
            return Verdict("damaged", f"{folder / rel} changed since it was written (its "
                                      f"{ALGORITHM} hash differs, same size)")
    return Verdict("intact")


class DamagedInput(Exception):
    """A job's input artifact does not match its manifest; the driver has it recomputed."""

    def __init__(self, damaged: Mapping[str, str]):
        self.damaged = dict(damaged)  # input job id -> problem
        super().__init__("; ".join(f"input {j} is damaged: {p}" for j, p in self.damaged.items()))


def check_inputs(inputs: Mapping[str, Any]) -> None:
    """Raise DamagedInput when any input artifact (objects with `.id` and `.path`) is damaged."""
    damaged = {}
    for inp in inputs.values():
        verdict = check(inp.path)
        if verdict.damaged:
            damaged[str(inp.id)] = verdict.problem
    if damaged:
        raise DamagedInput(damaged)
