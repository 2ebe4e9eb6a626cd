"""What content hashes cost: hashing an artifact vs loading it the way a job does.

Writes a realistic dataset artifact (CIFAR-size uint8 images, 50,000 train by default, ~150 MB,
as the `dataset` job writes it) and a features artifact (float32 [N, 512], what a linear probe
reads), then times, best of --rounds, with the files in the page cache (as right after publish,
or on a second read):

- checking it against its manifest (engine.integrity.check: SHA-256 of every file, what a job
  pays before it reads its inputs), in MB/s; BLAKE2b-128 and zlib's CRC-32 of the same files for
  comparison (the manifest uses SHA-256: hardware SHA instructions make it the faster of the
  two cryptographic ones on current CPUs; CRC-32 is faster still but only 32 bits);
- loading it as a job does (engine.data.artifact.load, then one copy of the train split, as
  `engine.train.labelled` makes): the baseline the ratio is taken against.

    python benchmarks/hash_cost.py                 # 50,000 images, 3 rounds
    python benchmarks/hash_cost.py --n 10000 --rounds 5
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

from engine import integrity
from engine.data import artifact


def best(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file()) / 1e6


def write(folder: Path, n: int, kind: str) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    sizes = {"train": n, "val": n // 10, "test": n // 5}
    if kind == "dataset":
        splits = {s: artifact.Split(rng.integers(0, 256, (k, 3, 32, 32), dtype=np.uint8),
                                    {"class": rng.integers(0, 10, k)}) for s, k in sizes.items()}
        artifact.save(folder, splits, {"class": {"num_classes": 10}})
    else:
        splits = {s: artifact.Split(rng.normal(size=(k, 512)).astype(np.float32),
                                    {"class": rng.integers(0, 10, k)}) for s, k in sizes.items()}
        artifact.save(folder, splits, {"class": {"num_classes": 10}}, array_name="features")
    integrity.write_manifest(folder)
    return folder


def load_like_a_job(folder: Path) -> None:
    data = artifact.load(folder)
    np.array(data.splits["train"].x)  # the one real copy a job makes of its training split
    for split in data.splits.values():
        np.array(split.labels["class"])


def blake2b_all(folder: Path) -> None:
    for p in sorted(folder.iterdir()):
        if p.is_file():
            with open(p, "rb") as fh:
                hashlib.file_digest(fh, lambda: hashlib.blake2b(digest_size=16))


def crc32_all(folder: Path) -> None:
    for p in sorted(folder.iterdir()):
        if p.is_file():
            crc, view = 0, memoryview(p.read_bytes())
            for i in range(0, len(view), 1 << 24):
                crc = zlib.crc32(view[i:i + (1 << 24)], crc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=50000, help="training samples (val n/10, test n/5)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("dataset", "features"):
            folder = write(Path(tmp) / kind, args.n, kind)
            mb = size_mb(folder)
            load_like_a_job(folder)  # warm the page cache for every contender alike
            t_load = best(lambda: load_like_a_job(folder), args.rounds)
            t_check = best(lambda: integrity.check(folder), args.rounds)
            t_blake = best(lambda: blake2b_all(folder), args.rounds)
            t_crc = best(lambda: crc32_all(folder), args.rounds)
            assert integrity.check(folder).status == "intact"
            print(f"{kind}: {mb:.0f} MB; load as a job does {t_load:.3f} s; "
                  f"check ({integrity.ALGORITHM}) {t_check:.3f} s = {mb / t_check:.0f} MB/s, "
                  f"{t_check / t_load:.2f}x the load; blake2b-128 {mb / t_blake:.0f} MB/s; "
                  f"crc32 {mb / t_crc:.0f} MB/s")


if __name__ == "__main__":
    main()
