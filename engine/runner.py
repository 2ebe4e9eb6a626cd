"""`dsl run`'s engine: skip what is finished, run what is ready, record everything, summarise.

The runner is the only place that decides what runs: a job starts once every input is finished,
after it has been claimed in the store (so two drivers on one store never run it twice; a job
another live driver holds is waited for). A failed job fails alone: its dependents are recorded
as skipped and everything else goes on. Ctrl-C (or SIGTERM, as Slurm sends before preemption)
stops the workers, gives the claims back and leaves the store consistent; a rerun continues.
Before a job starts, the artifacts it reads are checked against their manifests: sizes here
(engine.paths), content hashes in the worker (engine.integrity); a finished input found damaged
runs again first, then the job, and the summary says so once.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from rich.console import Console

from dsl.errors import DslError
from dsl.graph import Job, Plan, SpecPlan
from engine import kinds as kinds_mod
from dsl.only import restrict
from engine import provenance
from engine.environment import run_environment
from engine.rerun import select as select_rerun
from engine.executors import make as make_executor
from engine.executors.base import Executor
from engine.progress import Progress
from engine.schedule_state import DONE, ELSEWHERE, PENDING, RUNNING, ScheduleState
from engine.store import Store, hostname, owner_id, resolve_root
from engine.worker import Result, Task, TaskInput

HEARTBEAT_EVERY_S = 10.0
POLL_OTHERS_EVERY_S = 1.0


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


def _missing_data(source: str, data_root: Path) -> str | None:
    """Why a local data source a spec needs is absent, or None."""
    from dsl.local_files import missing

    return missing(source, data_root)


def _task(job: Job, plan_jobs, store: Store, *, data_root, compile: bool | str,
          verbose: bool) -> Task:
    kind = kinds_mod.KINDS[job.kind]
    inputs = {}
    for role, dep in job.inputs.items():
        dep_job = plan_jobs.get(dep)
        rec = dep_job if dep_job is not None else store.job(dep)  # an input finished earlier
        inputs[role] = TaskInput(str(dep), rec.kind, dict(rec.config),
                                 str(store.paths.artifact(dep)))
    return Task(str(job.id), job.kind, kind.impl, dict(job.config), inputs, str(store.root),
                gpu=kind.gpu, data_root=str(data_root) if data_root else None,
                compile=compile, verbose=verbose, version=job.version)


class _Scheduler:
    """The driver's loop over one job graph: claim ready jobs, submit, record results. What each
    job's state is lives in an engine.schedule_state.ScheduleState."""

    def __init__(self, jobs: dict[str, Job], store: Store, executor: Executor,
                 progress: Progress, summary: RunSummary, console: Console, *, data_root,
                 compile: bool | str, verbose: bool):
        self.jobs, self.store, self.executor = jobs, store, executor
        self.progress, self.summary, self.console = progress, summary, console
        self.opts = dict(data_root=data_root, compile=compile, verbose=verbose)
        self.verbose = verbose
        self.owner = owner_id()
        self.state = ScheduleState({j: job.inputs.values() for j, job in jobs.items()})
        self.claimed: set[str] = set()  # claimed by us, possibly not submitted yet
        self.verified: set[str] = set()  # finished inputs whose artifacts were checked whole
        self.rerun: set[str] = set()  # finished jobs to compute again (--rerun; engine.rerun)
        self.code = provenance.code_snapshot(j.kind for j in jobs.values())  # recorded per job

    @property
    def done(self) -> set[str]:
        return self.state.ids(DONE)

    def run(self) -> None:
        finished = self.store.finished(self.jobs) - self.rerun
        self.state = ScheduleState({j: job.inputs.values() for j, job in self.jobs.items()},
                                   done=finished)
        self.summary.cached = [j for j in self.jobs if j in finished]
        self.progress.start(Counter(j.kind for j in self.jobs.values()),
                            Counter(self.jobs[j].kind for j in finished))
        running, elsewhere = self.state.ids(RUNNING), self.state.ids(ELSEWHERE)
        last_beat = last_poll = time.time()
        while self.state.unsettled:
            self._launch()
            if running:
                busy_wait = 0.25 if elsewhere else 1.0
                for result in self.executor.wait(timeout=busy_wait):
                    self._record(result)
            elif elsewhere:
                time.sleep(0.2)
            elif not self.state.has_ready:
                # Nothing runs, nothing is awaited and nothing can start: inputs outside the plan.
                for jid in [j for j in self.jobs if j in self.state.ids(PENDING)]:
                    self._skip(jid, "an input is not finished and not part of this plan")
            now = time.time()
            if elsewhere and now - last_poll >= POLL_OTHERS_EVERY_S:
                self._poll_others()
                last_poll = now
            if now - last_beat >= HEARTBEAT_EVERY_S:  # our claims, and our runs: alive
                self.store.heartbeat(self.owner, list(running),
                                     runs=self.summary.run_ids.values())
                last_beat = now

    def interrupt(self) -> None:
        """Stop our workers and hand our claims back so a rerun (or another driver) continues."""
        self.executor.cancel()
        # Every claim this driver holds, not only the submitted ones: a signal can land between
        # a claim and its bookkeeping (inside `_launch`), and that claim must go back too.
        held = set(self.state.ids(RUNNING)) | self.claimed
        self.store.release(self.owner)
        for jid in held:
            self.store.paths.clear_staging(jid)
            self.state.requeue(jid)
        self.claimed.clear()

    # -- steps -------------------------------------------------------------------------------

    def _launch(self) -> None:
        again = []  # claims given back by a driver that died: tried on the next step
        while self.executor.in_flight < self.executor.capacity:
            jid = self.state.pop_ready()
            if jid is None:
                break
            if not self._inputs_intact(jid):
                continue  # it waits for an input made again first, or was skipped
            job = self.jobs[jid]
            self.claimed.add(jid)  # before the claim: a signal may land right after it
            if self.store.claim(job, self.owner, force=jid in self.rerun):
                if jid not in self.rerun and self._adopt(jid):
                    continue
                task = _task(job, self.jobs, self.store, **self.opts)
                self.executor.submit(task)
                self.state.start(jid)
                self.progress.job_started(jid, job.kind)
                if self.verbose:
                    self.console.log(f"start {jid}")
            else:
                self.claimed.discard(jid)
                if not self._settle_other(self.store.job(jid)):
                    again.append(jid)
        for jid in again:
            self.state.requeue(jid)

    def _adopt(self, jid: str) -> bool:
        """Record, instead of running, a claimed job whose intact artifact is already published
        (a driver stopped between publish and record: a full disk, a kill)."""
        from engine.jobs import Metric
        from engine.repair import published_metrics

        metrics = published_metrics(self.store.paths, jid)
        if metrics is None:
            return False
        self.store.complete(jid, [Metric(*m) for m in metrics], 0.0, "re-adopted")
        self.claimed.discard(jid)
        self.state.finish(jid)
        self.summary.cached.append(jid)
        self.progress.job_finished(jid, self.jobs[jid].kind, None, True)
        if self.verbose:
            self.console.log(f"adopt {jid}: published by a run that did not record it")
        return True

    def _inputs_intact(self, jid: str) -> bool:
        """Check the artifacts a job is about to read against their manifests (a stat per file).
        A damaged one in this plan is run again first; the job waits for it."""
        ok = True
        for dep in self.jobs[jid].inputs.values():
            if dep in self.verified:
                continue
            problem = self.store.paths.problem(dep)
            if problem is None:
                self.verified.add(dep)
                continue
            ok = False
            if not self._reopen(jid, dep, problem):
                return False
        return ok

    def _reopen(self, jid: str, dep: str, problem: str) -> bool:
        """Input `dep` of `jid` is damaged: run it again first (False: it cannot be, `jid` is
        skipped)."""
        if dep not in self.jobs:
            self._skip(jid, f"input {dep} is damaged ({problem}) and not part of this plan: "
                            "run the spec that makes it")
            return False
        self.store.reopen(dep, problem)
        self.summary.recomputed[dep] = problem
        self.verified.discard(dep)
        if dep in self.summary.cached:
            self.summary.cached.remove(dep)
        if dep in self.summary.elsewhere:
            self.summary.elsewhere.remove(dep)
        self.progress.job_reopened(self.jobs[dep].kind)
        if self.state.state(dep) != PENDING:
            self.state.requeue(dep)  # its readers (`jid` too) wait for it again
        if self.verbose:
            self.console.log(f"again {dep}: {problem}")
        return True

    def _input_damaged(self, jid: str, damaged: dict[str, str]) -> None:
        """A worker found an input's content unlike its manifest's hashes (engine.integrity):
        the claim goes back, the input runs again, then the job."""
        from engine.integrity import check

        self.store.release(self.owner, [jid])
        self.store.paths.clear_staging(jid)
        self.progress.job_finished(jid, self.jobs[jid].kind, None, True)
        self.progress.job_reopened(self.jobs[jid].kind)  # (not finished after all)
        self.state.requeue(jid, first=False)
        for dep, problem in damaged.items():
            # Another job may have reported it first and it was made again meanwhile.
            if dep in self.done and check(self.store.paths.artifact(dep)).damaged:
                if dep in self.summary.recomputed:  # made again this run, and damaged again
                    line = (f"input {dep} is damaged again after it was made again in this run "
                            f"({problem}): is the disk failing?")
                    self.store.fail(jid, line, host=hostname())
                    self._failed(jid, line)
                    return
                if not self._reopen(jid, dep, problem):
                    return

    def _settle_other(self, rec) -> bool:
        """A job we could not claim: finished, failed, or in the hands of a live other driver.
        False: none of these (given back, or its owner died), so it is to be claimed again."""
        jid = rec.job_id
        if rec.status == "done" and self.store.paths.artifact(jid).is_dir():
            self.state.finish(jid)
            self.summary.elsewhere.append(jid)
            self.progress.job_finished(jid, rec.kind, rec.seconds, True)
        elif rec.status == "failed":
            self._failed(jid, f"{rec.error_line} (in the run of {rec.owner})")
        elif rec.status == "running" and not self.store.abandoned(rec.owner, rec.heartbeat):
            if self.state.state(jid) != ELSEWHERE and self.verbose:
                self.console.log(f"wait  {jid}: running in {rec.owner}")
            self.state.elsewhere(jid)
        else:
            return False
        return True

    def _poll_others(self) -> None:
        for rec in self.store.jobs(list(self.state.ids(ELSEWHERE))).values():
            if not self._settle_other(rec):
                self.state.requeue(rec.job_id)

    def _record(self, result: Result) -> None:
        jid = result.job_id
        if self.state.state(jid) != RUNNING:
            return  # a result we stopped waiting for
        self.claimed.discard(jid)
        job = self.jobs[jid]
        if not result.ok and result.extra.get("damaged"):
            self._input_damaged(jid, dict(result.extra["damaged"]))
        elif result.ok:
            self.store.complete(jid, result.metric_objects(), result.seconds, result.host)
            provenance.record_job(self.store, jid, self.code.get(job.kind),
                                  result.extra.get("environment"))
            self.state.finish(jid)
            self.summary.ran.append(jid)
            self.progress.job_finished(jid, job.kind, result.seconds, True)
            if self.verbose:
                where = f" on {result.host}" if result.host else ""
                self.console.log(f"done  {jid}{where} ({result.seconds:.1f}s)")
        else:
            self.store.fail(jid, result.error or "unknown error", result.seconds,
                            result.host or hostname(), owner=self.owner)
            # A worker that died under the job left its staging folder behind: nobody writes it.
            self.store.paths.clear_staging(jid)
            self.progress.job_finished(jid, job.kind, result.seconds, False)
            self._failed(jid, result.error_line or "unknown error")

    def _failed(self, jid: str, line: str) -> None:
        self.summary.failed[jid] = line
        if self.verbose:
            self.console.log(f"FAIL  {jid}: {line}")
        for reader in self.state.fail(jid):
            self._skip(reader, f"input {jid} failed")

    def _skip(self, jid: str, reason: str) -> None:
        self.state.skip(jid)
        self.summary.skipped[jid] = reason
        self.store.skip(self.jobs[jid], reason)
        self.progress.job_skipped(self.jobs[jid].kind)


def _plan(plan_or_paths, data_root: Path,
          planner: Callable[[list[str]], Plan] | None = None) -> Plan:
    """The plan to run: the one given, or the specs at the given paths planned by `planner`,
    which the layer above hands in (the engine does not plan)."""
    if isinstance(plan_or_paths, Plan):
        _check_files(plan_or_paths, data_root)
        return plan_or_paths
    if planner is None:
        raise TypeError("engine.runner.run needs a Plan, or a planner for spec paths "
                        "(dsl.run passes one)")
    paths = [plan_or_paths] if isinstance(plan_or_paths, (str, os.PathLike)) else plan_or_paths
    return planner([str(p) for p in paths])


def _check_files(plan: Plan, data_root: Path) -> None:
    """A plan made before (or elsewhere) names local data by fingerprint: running it against
    other files would store their results under the wrong identity."""
    from dsl.local_files import fingerprint, folder_of, label

    for source, planned in plan.files.items():
        now = fingerprint(source, data_root)
        if now is not None and now != planned:
            where = label(source) if folder_of(source) else f"{source} under {data_root}"
            raise DslError(f"the plan was made for other files than {where} holds now "
                           f"({planned}, now {now}): plan again with the same data root "
                           "(dsl.plan(..., data_root=...)) and run that plan")


def _runnable(plan: Plan, data_root: Path, store: Store, summary: RunSummary,
              console: Console, echo: bool) -> list[SpecPlan]:
    """The specs that can run: those whose local data is here, or whose jobs all finished
    already (their results are shown without the data)."""
    specs = []
    for spec in plan.specs:
        reasons = [m for m in (_missing_data(r, data_root) for r in sorted(spec.requires)) if m]
        if reasons and store.finished(spec.jobs) != set(spec.jobs):
            summary.skipped_specs[spec.name] = reasons[0]
            if echo:
                console.print(f"[yellow]skip[/] {spec.name}: {reasons[0]}", highlight=False)
        else:
            specs.append(spec)
    return specs


def _changed_data(plan: Plan, store: Store, summary: RunSummary, console: Console,
                  echo: bool) -> None:
    """Say so when local files differ from those the store last ran with: their jobs are new."""
    for source, now in sorted(plan.files.items()):
        if plan.files_origin.get(source) != "files":
            continue
        was = store.recorded_files(source)
        if was is not None and was != now:
            summary.changed_data[source] = (was, now)
            if echo:
                from dsl.local_files import label

                console.print(f"[yellow]changed[/] {label(source)}: the files differ from those this "
                              f"store last ran with ({was}, now {now}); the jobs that read them "
                              "run again, and the earlier results are kept", highlight=False)


def _spec_status(spec: SpecPlan, summary: RunSummary, finished: set[str]) -> str:
    ids = set(spec.jobs)
    if summary.interrupted:
        return "interrupted"
    if ids & (set(summary.failed) | set(summary.skipped)):
        return "failed"
    return "done" if ids <= finished else "incomplete"


class _TermAsInterrupt:
    """Turn SIGTERM into KeyboardInterrupt while running, so a preempted job cleans up too."""

    def __enter__(self):
        self.old = None
        if threading.current_thread() is threading.main_thread():
            def handler(signum, frame):
                raise KeyboardInterrupt
            self.old = signal.signal(signal.SIGTERM, handler)
        return self

    def __exit__(self, *exc):
        if self.old is not None:
            signal.signal(signal.SIGTERM, self.old)


class _Shielded:
    """Ignore further Ctrl-C and SIGTERM while cleaning up after the first: an impatient second
    Ctrl-C must not leave claims held and the run recorded as still running. The cleanup is
    bounded (workers get a few seconds before they are killed)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __enter__(self):
        self.old = {}
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self.old[sig] = signal.signal(sig, signal.SIG_IGN)
        return self

    def __exit__(self, *exc):
        for sig, handler in self.old.items():
            signal.signal(sig, handler)


def run(plan_or_paths: Plan | str | os.PathLike | Sequence[str | os.PathLike], *,
        store: Store | str | os.PathLike | None = None, executor: str | Executor = "local",
        jobs: int = 1, per_gpu: int = 1, profile: str | None = None,
        overrides: Iterable[str] = (), data_root: str | os.PathLike | None = None,
        address: str | None = None, verbose: bool = False, progress: bool = True,
        compile: bool | str = "auto", echo: bool = True, console: Console | None = None,
        executor_options: dict | None = None, rerun: Sequence[str] = (),
        only: Sequence[str] = (), confirm=None,
        tables: Callable[[SpecPlan, Store], None] | None = None,
        planner: Callable[[list[str]], Plan] | None = None) -> RunSummary:
    """Run every unfinished job of the plan (or of the specs at the given paths, planned by
    `planner`: dsl.run hands one in).

    `only` restricts the plan to matching cells (dsl.only); `rerun` runs exactly the selected
    jobs and what reads them, finished or not, instead of every unfinished one (engine.rerun).

    Returns a RunSummary; prints missing-data skips, each spec's report tables (through
    `tables`, which the layer above passes: the engine does not tabulate) and a summary unless
    `echo` is false. Raises KeyboardInterrupt after a clean stop on Ctrl-C.
    `executor_options` go to `engine.executors.make` (e.g. `resources`, `retries`).
    Before anything starts, the cost of the jobs to run is printed (engine.cost) and passed to
    `confirm` (when given); if it returns false nothing runs and the summary is `declined`.
    """
    t0 = time.time()
    console = console or Console(highlight=False, log_path=False)
    store = store if isinstance(store, Store) else Store(resolve_root(store))
    data_root = Path(data_root or os.environ.get("DSL_DATA", "data"))
    plan = restrict(_plan(plan_or_paths, data_root, planner), only)
    selection = select_rerun(plan, store, rerun)
    summary = RunSummary()
    specs = _runnable(plan, data_root, store, summary, console, echo)
    _changed_data(plan, store, summary, console, echo)
    wanted = {jid for s in specs for jid in s.jobs}
    if selection is not None:
        wanted &= selection.wanted
        if echo:
            console.print(selection.describe(), highlight=False)
    # Keep the plan's dependency order; only jobs of specs that can run.
    graph = {job.id: job for job in plan.topological() if job.id in wanted}
    summary.total = len(graph)
    # No executor (no Ray start-up) when everything is already finished.
    force = set(selection.force & set(graph)) if selection is not None else set()
    to_run = (set(graph) - store.finished(graph)) | force
    needed = bool(to_run)
    if needed and (echo or confirm is not None):
        from engine.cost import cost

        price = cost(to_run, plan.jobs)
        if echo:
            console.print(price.line(here=not isinstance(executor, Executor)
                                     and executor == "local"), highlight=False)
        if confirm is not None and not confirm(price):
            summary.declined = True
            return summary
    ex = executor if isinstance(executor, Executor) else make_executor(
        executor, jobs=jobs, per_gpu=per_gpu, address=address,
        **{"store_root": store.root, **(executor_options or {})}) if needed else None
    for spec in specs:
        summary.run_ids[spec.name] = store.record_run(spec, plan.profile or profile,
                                                     plan.overrides or tuple(overrides))
        provenance.record_run(store, summary.run_ids[spec.name], run_environment())
    # Who drives these runs, for `dsl status`, `dsl cancel` and `dsl resume` (engine.runfiles).
    from engine.runfiles import note_driver

    note_driver(store.root, {summary.run_ids[s.name]: {j: graph[j].kind for j in s.jobs
                                                        if j in graph} for s in specs})
    bar = Progress(Console(stderr=True), live=progress and echo,
                   parallel=ex.capacity if ex else 1, lines=not verbose)
    scheduler = _Scheduler(graph, store, ex, bar, summary, console, data_root=data_root,
                           compile=compile, verbose=verbose) if ex else None
    if scheduler is not None:
        scheduler.rerun = force
    try:
        with _TermAsInterrupt():
            if scheduler is not None:
                if verbose and echo:
                    console.log(ex.describe())
                scheduler.run()
            else:
                summary.cached = list(graph)
    except BaseException as exc:
        # Ctrl-C, SIGTERM, or a bug: stop workers, give claims back, say how the run ended.
        summary.interrupted = isinstance(exc, KeyboardInterrupt)
        with _Shielded():
            bar.stop()
            if scheduler is not None:
                scheduler.interrupt()
            elif ex is not None:
                ex.cancel()
            for spec in specs:
                store.finish_run(summary.run_ids[spec.name],
                                 "interrupted" if summary.interrupted else "error")
            summary.seconds = time.time() - t0
            if echo and summary.interrupted:
                console.print(f"interrupted: {len(summary.ran)} job(s) finished and kept; "
                              "run again to continue")
                exc.reported = True  # type: ignore[attr-defined]  # the CLI adds no line of its own
        raise
    else:
        if ex is not None:
            ex.shutdown()
    finally:
        bar.stop()

    finished = scheduler.done if scheduler is not None else set(graph)
    for spec in specs:
        store.finish_run(summary.run_ids[spec.name], _spec_status(spec, summary, finished))
    summary.seconds = time.time() - t0
    if echo and tables is not None:
        _print_tables(specs, store, console, tables)
    if echo:
        print_summary(summary, console)
    return summary


def _print_tables(specs: list[SpecPlan], store: Store, console: Console,
                  print_spec_tables: Callable[[SpecPlan, Store], None]) -> None:
    for spec in specs:
        if not spec.reports and not (spec.resolved or {}).get("claim"):
            continue
        try:
            print_spec_tables(spec, store)
        except Exception as err:  # noqa: BLE001 - results are stored; a table bug must not hide them
            last = (str(err).strip().splitlines() or [""])[-1]
            console.print(f"[yellow]could not tabulate {spec.name}:[/] {type(err).__name__}: {last}")


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
