"""Where every file of the store lives, and the one way an artifact appears: staged, then renamed.

Nobody else builds store paths. A job writes into a private staging folder under `<store>/tmp/`
and the folder is renamed into `<store>/artifacts/<kind>/<job id>/` only when the job returned, so
a reader never sees a half-written artifact and a crash leaves debris only under `tmp/`. Publishing
adds a manifest of the files' sizes and content hashes (engine.integrity), so that an artifact
damaged later is told apart from a whole one: by size here (`problem`, a stat per file, in the
driver), by content in the worker before a job reads it.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

from dsl.user_cache import cache_dir  # noqa: F401 - engine modules import it from here
from engine.integrity import MANIFEST, write_manifest


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

    @property
    def previews(self) -> Path:
        """Where `dsl preview` writes its sheets unless told otherwise (never the working
        folder: a checkout would fill with stray PNGs)."""
        return self.root / "previews"

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
        self.clear_staging(job_id)
        path = self.tmp / f"{job_id}.{os.getpid()}"
        path.mkdir()
        return path

    def publish(self, staging: Path, job_id: str, job: dict | None = None,
                metrics: tuple = ()) -> Path:
        """Move a finished staging folder into place with one rename (atomic on one filesystem).

        If an artifact is already there (a finished job whose database row was lost to a crash,
        or a slow twin), the new one replaces it, again by renames only, so the path always holds
        a complete artifact. The manifest is written first: its files' sizes and content hashes,
        and the job that made them with its metrics (engine.integrity).
        """
        write_manifest(staging, job, metrics)
        final = self.artifact(job_id)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(staging, final)
        except OSError:
            if not final.exists():
                raise
            self.withdraw(job_id, "replaced")
            os.rename(staging, final)
        return final

    def withdraw(self, job_id: str, why: str = "damaged") -> None:
        """Remove a job's artifact: renamed out of place first (so a reader sees it whole or not
        at all), then deleted. Nothing happens when it is already gone."""
        trash = self.tmp / f"{job_id}.{why}-{uuid.uuid4().hex[:8]}"
        try:
            trash.parent.mkdir(parents=True, exist_ok=True)
            os.rename(self.artifact(job_id), trash)
        except OSError:
            return  # gone, or moved by another driver first
        shutil.rmtree(trash, ignore_errors=True)

    def problem(self, job_id: str) -> str | None:
        """What is wrong with a job's published artifact, or None when it is whole (or was
        published before manifests existed, so cannot be checked). Stats files; reads none."""
        folder = self.artifact(job_id)
        if not folder.is_dir():
            return f"its folder {folder} is missing"
        try:
            listed = json.loads((folder / MANIFEST).read_text())["files"]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as err:
            return f"its manifest {folder / MANIFEST} is unreadable ({err})"
        for rel, size in sorted(listed.items()):
            try:
                now = (folder / rel).stat().st_size
            except OSError:
                return f"{folder / rel} is missing"
            if now != size:
                return f"{folder / rel} has {now} bytes, {size} when it was written"
        return None

    def clear_staging(self, job_id: str) -> None:
        """Remove what attempts at a job left under tmp/ (a killed worker's staging folder)."""
        for old in self.tmp.glob(f"{job_id}.*"):
            shutil.rmtree(old, ignore_errors=True)

    def discard(self, staging: Path) -> None:
        shutil.rmtree(staging, ignore_errors=True)

