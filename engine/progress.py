"""What a person watching `dsl run` sees: jobs k of N by kind, what runs now, and an ETA.

The ETA uses the mean duration of each kind's jobs finished in this run (a train job and a linear
probe differ by orders of magnitude, so one global mean would mislead), divided by the number of
jobs that run at once. Without a terminal (a log file, a batch job, `| tee`) nothing live is
drawn: one plain line per finished job is printed instead ("[k/N] kind id done in 3.2s, ETA ..."),
so a long run is never silent; `--verbose` prints its own line per job event instead of those.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text


def _fmt_seconds(s: float) -> str:
    s = int(round(s))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


class Progress:
    """Counts per kind, the jobs in flight and an ETA; drawn live when `live` is true."""

    def __init__(self, console: Console | None = None, live: bool = True, parallel: int = 1,
                 lines: bool = True):
        self.console = console or Console(stderr=True)
        self.parallel = max(1, parallel)
        self.total: Counter[str] = Counter()
        self.finished: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.running: dict[str, tuple[str, float]] = {}  # job id -> (kind, started)
        self.durations: dict[str, list[float]] = defaultdict(list)
        self.started_at = time.time()
        self._lock = threading.Lock()
        self._live = Live(self, console=self.console, refresh_per_second=4, transient=True) \
            if live and self.console.is_terminal else None
        # No terminal to draw on: a line per finished job instead (`lines` false: the caller logs).
        self._lines = live and lines and not self.console.is_terminal

    # -- events ------------------------------------------------------------------------------

    def start(self, total_by_kind: Counter[str], cached_by_kind: Counter[str]) -> None:
        with self._lock:
            self.total = Counter(total_by_kind)
            self.finished = Counter(cached_by_kind)
        if self._live is not None:
            self._live.start()

    def job_started(self, job_id: str, kind: str) -> None:
        with self._lock:
            self.running[job_id] = (kind, time.time())

    def job_finished(self, job_id: str, kind: str, seconds: float | None, ok: bool) -> None:
        with self._lock:
            self.running.pop(job_id, None)
            self.finished[kind] += 1
            if not ok:
                self.failed[kind] += 1
            elif seconds is not None:
                self.durations[kind].append(seconds)
            done, total = sum(self.finished.values()), sum(self.total.values())
        if self._lines:
            took = f" in {_fmt_seconds(seconds)}" if seconds is not None else ""
            eta = self.eta()
            self.console.print(f"[{done}/{total}] {kind} {job_id} {'done' if ok else 'FAILED'}"
                               f"{took}" + (f", ETA {_fmt_seconds(eta)}" if eta is not None
                                            else ""), highlight=False, markup=False)

    def job_reopened(self, kind: str) -> None:
        """A job counted as finished must run again (its artifact was found damaged)."""
        with self._lock:
            if self.finished[kind] > 0:
                self.finished[kind] -= 1

    def job_skipped(self, kind: str) -> None:
        with self._lock:
            self.finished[kind] += 1
            self.failed[kind] += 1

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    # -- estimate ----------------------------------------------------------------------------

    def eta(self) -> float | None:
        """Seconds left, from per-kind mean durations; None until some job has finished."""
        with self._lock:
            all_d = [d for ds in self.durations.values() for d in ds]
            if not all_d:
                return None
            overall = sum(all_d) / len(all_d)
            work = 0.0
            for kind, n in self.total.items():
                left = n - self.finished[kind]
                ds = self.durations.get(kind)
                mean = sum(ds) / len(ds) if ds else overall
                work += max(left, 0) * mean
            now = time.time()
            # Jobs in flight have already done part of their work.
            for kind, started in self.running.values():
                ds = self.durations.get(kind)
                mean = sum(ds) / len(ds) if ds else overall
                work -= min(now - started, mean)
        return max(work, 0.0) / self.parallel

    # -- drawing -----------------------------------------------------------------------------

    def __rich__(self) -> Group:
        with self._lock:
            done, total = sum(self.finished.values()), sum(self.total.values())
            kinds = [k for k in self.total if self.total[k]]
            running = sorted(self.running.items(), key=lambda kv: kv[1][1])
            counts = {k: (self.finished[k], self.total[k], self.failed[k]) for k in kinds}
        eta = self.eta()
        head = Text.assemble(("jobs ", "bold"), f"{done} of {total}",
                             f"   elapsed {_fmt_seconds(time.time() - self.started_at)}",
                             f"   ETA {_fmt_seconds(eta)}" if eta is not None else "")
        top = Table.grid(padding=(0, 1))
        top.add_row(ProgressBar(total=max(total, 1), completed=done, width=40), head)
        table = Table.grid(padding=(0, 2))
        for kind in kinds:
            k, n, bad = counts[kind]
            table.add_row(kind, f"{k}/{n}", Text(f"{bad} failed/skipped", "red") if bad else "")
        now = time.time()
        lines = [Text(f"  running {jid} ({_fmt_seconds(now - t0)})", "cyan")
                 for jid, (_, t0) in running[:8]]
        if len(running) > 8:
            lines.append(Text(f"  ... and {len(running) - 8} more", "cyan"))
        return Group(top, table, *lines)
