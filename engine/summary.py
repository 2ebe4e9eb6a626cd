"""What one `dsl run` did (RunSummary), and the lines that say so at its end."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rich.console import Console


@dataclass
class RunSummary:
    """What one `run` did. `ok` is false when any job failed or was skipped for a failure."""

    run_ids: dict[str, str] = field(default_factory=dict)  # spec name -> run id
    total: int = 0  # jobs of the specs that ran
    ran: list[str] = field(default_factory=list)  # finished by this run
    cached: list[str] = field(default_factory=list)  # already finished before it started
    elsewhere: list[str] = field(default_factory=list)  # finished by another driver meanwhile
    failed: dict[str, str] = field(default_factory=dict)  # job id -> error's last line
    skipped: dict[str, str] = field(default_factory=dict)  # job id -> why (the failed input)
    skipped_specs: dict[str, str] = field(default_factory=dict)  # spec -> missing data message
    changed_data: dict[str, tuple[str, str]] = field(default_factory=dict)  # source -> (was, is)
    recomputed: dict[str, str] = field(default_factory=dict)  # job id -> what was damaged
    seconds: float = 0.0
    interrupted: bool = False
    declined: bool = False  # the `confirm` callback said no to the cost: nothing started

    @property
    def all_lacked_data(self) -> bool:
        """Every spec asked for was skipped for missing data: nothing was run or shown."""
        return bool(self.skipped_specs) and not self.run_ids

    @property
    def ok(self) -> bool:
        return not (self.failed or self.skipped or self.interrupted or self.declined
                    or self.all_lacked_data)


def print_summary(summary: RunSummary, console: Console) -> None:
    s = summary
    parts = [f"{len(s.ran)} ran", f"{len(s.cached)} cached"]  # the words of dsl.counts
    if s.elsewhere:
        parts.append(f"{len(s.elsewhere)} done by another run")
    if s.failed:
        parts.append(f"[red]{len(s.failed)} failed[/]")
    if s.skipped:
        parts.append(f"[red]{len(s.skipped)} skipped after a failure[/]")
    if s.skipped_specs:
        parts.append(f"{len(s.skipped_specs)} spec(s) skipped for missing data")
    console.print(f"{s.total} jobs: " + ", ".join(parts) + f" in {s.seconds:.1f}s")
    for jid, problem in s.recomputed.items():
        console.print(f"[yellow]ran again[/] {jid}: its artifact was damaged ({problem})")
    for jid, line in s.failed.items():
        console.print(f"[red]failed[/] {jid}: {line}")
    if s.skipped:
        by_cause = Counter(s.skipped.values())
        for reason, n in by_cause.items():
            console.print(f"[red]skipped[/] {n} job(s): {reason}")
