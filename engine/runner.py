"""`dsl run`'s engine: skip what is finished, run what is ready, record everything, summarise.

The runner sets a run up (the specs whose data is here, the jobs to run, their cost, the
executor, the runs recorded in the store), hands the job graph to engine.scheduler (the only
place that decides what runs, claims, waits for other drivers, skips after a failure and runs a
damaged input again first) and ends the run. Ctrl-C (or SIGTERM, as Slurm sends before
preemption) stops the workers, gives the claims back and leaves the store consistent; a rerun
continues. The summary (engine.summary) says what happened, damaged inputs made again once.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

from rich.console import Console

from dsl.errors import DslError
from dsl.graph import Plan, SpecPlan
from dsl.only import restrict
from engine import provenance
from engine.environment import run_environment
from engine.rerun import select as select_rerun
from engine.executors import make as make_executor
from engine.executors.base import Executor
from engine.progress import Progress
from engine.scheduler import Scheduler, _task  # noqa: F401 - _task: tests build tasks with it
from engine.store import Store, resolve_root
from engine.summary import RunSummary, print_summary


def _missing_data(source: str, data_root: Path) -> str | None:
    """Why a local data source a spec needs is absent, or None."""
    from dsl.local_files import missing

    return missing(source, data_root)


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
                                                        if j in graph} for s in specs},
                rerun=force)
    bar = Progress(Console(stderr=True), live=progress and echo,
                   parallel=ex.capacity if ex else 1, lines=not verbose)
    scheduler = Scheduler(graph, store, ex, bar, summary, console, data_root=data_root,
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
