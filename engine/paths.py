"""Where every file of the store lives, and the one way an artifact appears: staged, then renamed.

Nobody else builds store paths. A job writes into a private staging folder under `<store>/tmp/`
and the folder is renamed into `<store>/artifacts/<kind>/<job id>/` only when the job returned, so
a reader never sees a half-written artifact and a crash leaves debris only under `tmp/`.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path


def cache_dir() -> Path:
    """The per-user cache outside every store (rendered objects, local files' hashes): things
    that can always be made again. $DSL_CACHE, else ~/.cache/dsl."""
    return Path(os.environ.get("DSL_CACHE") or Path.home() / ".cache" / "dsl")


class ArtifactPaths:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).absolute()

    @property
    def db(self) -> Path:
        return self.root / "dsl.sqlite"

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    def artifact(self, job_id: str) -> Path:
        """The finished artifact folder of a job (it exists only once the job has finished)."""
        kind = str(job_id).rsplit("-", 1)[0]
        return self.artifacts / kind / str(job_id)

    def staging(self, job_id: str) -> Path:
        """A fresh, empty, private folder to write a job's artifact into.

        Leftovers of earlier attempts at the same job (a killed worker) are removed first: the
        caller holds the job's claim, so no live process is still writing them.
        """
        self.tmp.mkdir(parents=True, exist_ok=True)
        for old in self.tmp.glob(f"{job_id}.*"):
            shutil.rmtree(old, ignore_errors=True)
        path = self.tmp / f"{job_id}.{os.getpid()}"
        path.mkdir()
        return path

    def publish(self, staging: Path, job_id: str) -> Path:
        """Move a finished staging folder into place with one rename (atomic on one filesystem).

        If an artifact is already there (a finished job whose database row was lost to a crash,
        or a slow twin), the new one replaces it, again by renames only, so the path always holds
        a complete artifact.
        """
        final = self.artifact(job_id)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(staging, final)
        except OSError:
            if not final.exists():
                raise
            trash = self.tmp / f"{job_id}.replaced-{uuid.uuid4().hex[:8]}"
            os.rename(final, trash)
            os.rename(staging, final)
            shutil.rmtree(trash, ignore_errors=True)
        return final

    def discard(self, staging: Path) -> None:
        shutil.rmtree(staging, ignore_errors=True)
