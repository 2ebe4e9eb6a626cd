"""The driver's loop over one job graph: claim ready jobs, submit them, record their results.

A job starts once every input is finished, after it has been claimed in the store (so two
drivers on one store never run it twice; a job another live driver holds is waited for). A failed
job fails alone: its dependents are recorded as skipped and everything else goes on. Before a job
starts, the artifacts it reads are checked against their manifests: sizes here (engine.paths),
content hashes in the worker (engine.integrity); a finished input found damaged runs again first,
then the job. Which job is in which state lives in engine.schedule_state; engine.runner sets up
a run around this loop and cleans up after it.
"""

from __future__ import annotations

import time
from collections import Counter

from rich.console import Console

from dsl import data_kinds
from dsl.graph import Job
from engine import kinds as kinds_mod
from engine import provenance
from engine.executors.base import Executor
from engine.progress import Progress
from engine.schedule_state import DONE, ELSEWHERE, PENDING, RUNNING, ScheduleState
from engine.store import Store, hostname, owner_id
from engine.summary import RunSummary
from engine.worker import Result, Task, TaskInput

HEARTBEAT_EVERY_S = 10.0
POLL_OTHERS_EVERY_S = 1.0


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
                compile=compile, verbose=verbose, version=job.version,
                data_kinds=data_kinds.plugins())


class Scheduler:
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
        self.state = ScheduleState({})  # built by `run`, once the store says what is finished
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
