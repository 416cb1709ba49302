"""The runbook engine: runs steps in order, with a person or unattended, telling its listeners.

Flow per step: `when` -> render `with` in the sandbox -> validate against the kind's Params ->
(confirm) -> step started -> run (time limit, retries on error) -> judge with `expect` -> step
result -> what comes after it (:func:`mlsre.runbook.flow.after`). Consecutive independent
diagnose steps run concurrently when no person is being asked about each one. The run's state is
a :class:`Run`; the incident's record of it is one listener (:class:`journal.Journal`).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from mlsre.errors import MlsreError
from mlsre.incident.model import Incident
from mlsre.incident.store import Store
from mlsre.runbook import approval, flow, gates, journal, limits
from mlsre.runbook.batching import parallel_batch
from mlsre.runbook.context import coerce_edits, parse_inputs
from mlsre.runbook.findings import judge
from mlsre.runbook.model import Runbook, Step
from mlsre.runbook.prepare import Prepared, view_of
from mlsre.runbook.run_model import (
    MAX_PARALLEL,
    Awaiting,
    Decision,
    Operator,
    Run,
    RunListener,
    RunOptions,
    RunOutcome,
    RunReport,
    StepOutcome,
    StepView,
    Unattended,
)
from mlsre.steps.base import Phase, StepContext, StepResult, StepStatus

if TYPE_CHECKING:
    from mlsre.settings import Settings
    from mlsre.steps.catalog import KindCatalog

RUN_OR_SKIP = ["run it", "skip it"]  # what the person is asked when a `when` is undecided

__all__ = [
    "MAX_PARALLEL",
    "Decision",
    "Engine",
    "Operator",
    "RunListener",
    "RunOptions",
    "RunOutcome",
    "RunReport",
    "StepOutcome",
    "StepView",
    "Unattended",
    "parse_inputs",
]


class Engine:
    def __init__(
        self,
        store: Store | None,
        settings: Settings,
        operator: Operator,
        catalog: KindCatalog | None = None,
        listeners: list[RunListener] | None = None,
    ) -> None:
        from mlsre.steps.catalog import default_catalog

        self.store = store
        self.settings = settings
        self.operator = operator
        self.catalog = catalog or default_catalog()
        self.listeners = list(listeners or [])  # told about every run, besides the journal
        self.actor = "mlsre"
        self._lock = threading.Lock()  # steps finish on several threads; one writer at a time
        self._held: list[tuple[StepView, StepOutcome]] | None = None
        self._workers: ThreadPoolExecutor | None = None

    # ---- public entry points ----------------------------------------------------------------

    def run(
        self,
        runbook: Runbook,
        options: RunOptions,
        incident: Incident | None,
        *,
        actor: str = "mlsre",
    ) -> RunReport:
        self.actor = actor
        run_id = uuid.uuid4().hex[:12]
        inputs = parse_inputs(runbook, options.inputs)
        prior = journal.RunRecord(run_id, runbook.id, inputs, None, None)
        run = self._start(runbook, options, incident, prior)
        self._announce(run, lambda li: li.run_started(run))
        return self._walk(run)

    def resume(
        self,
        runbook: Runbook,
        record: journal.RunRecord,
        incident: Incident,
        options: RunOptions,
        *,
        actor: str = "mlsre",
    ) -> RunReport:
        """Continue an interrupted run: recorded outcomes are reused, never run again."""
        self.actor = actor
        options.phase = Phase(record.phase) if record.phase else options.phase
        return self._walk(self._start(runbook, options, incident, record))

    def _start(
        self,
        runbook: Runbook,
        options: RunOptions,
        incident: Incident | None,
        prior: journal.RunRecord,
    ) -> Run:
        listeners = list(self.listeners)
        if incident is not None and not options.dry_run and self.store is not None:
            listeners.insert(0, journal.Journal(self.store, incident.id, self.actor))
        return Run(
            runbook,
            options,
            incident,
            prior.run_id,
            prior,
            listeners=listeners,
            catalog=self.catalog,
        )

    def _announce(self, run: Run, tell: Callable[[RunListener], None]) -> None:
        """Tell every listener of ``run``, one call at a time."""
        with self._lock:
            for listener in run.listeners:
                tell(listener)

    # ---- the walk ---------------------------------------------------------------------------

    def _walk(self, run: Run) -> RunReport:
        try:
            with self._interruptible(run):
                i: int | None = 0
                while i is not None and i < len(run.steps):
                    i = self._advance(run, i)
            report = RunReport.of(run)
            self._announce(run, lambda li: li.run_finished(run, report))
            return report
        finally:
            if self._workers is not None:  # hung steps were abandoned at their limit: no wait
                self._workers.shutdown(wait=False)
                self._workers = None

    def _advance(self, run: Run, i: int) -> int | None:
        """Run (or reuse) the steps from ``i``: the index to go on from, None when the walk ends."""
        step = run.steps[i]
        if run.options.phase and step.phase != run.options.phase:
            return i + 1
        if step.id in run.prior.results:  # recorded by the interrupted run: reuse, do not redo
            batch, results = [step], [StepOutcome.resumed_from(step, run.prior.results[step.id])]
        else:
            batch = self._batch(run, i)
            results = self._run_batch(run, batch, i) if len(batch) > 1 else self._single(run, i)
        if not results:
            run.quit = True
            return None
        for out in results:
            run.keep(out)
        for here, out in enumerate(results, start=i):  # a batch is consecutive steps
            to = flow.after(here, out, run.steps)
            if to is None:
                run.stopped_at = out.step
                return None
            if to != here + 1:
                self._jump_over(run, here, to)
                return to
        return i + len(batch)

    def _batch(self, run: Run, i: int) -> list[Step]:
        if self.operator.interactive or run.options.dry_run:
            return [run.steps[i]]
        return parallel_batch(run.steps, i, run.options, run.prior, self.catalog)

    def _jump_over(self, run: Run, here: int, to: int) -> None:
        """The steps a `goto` passes are skipped, and say so (or reuse what was recorded)."""
        why = f"jumped over: {run.steps[here].id} failed, goto {run.steps[to].id}"
        for passed in run.steps[here + 1 : to]:
            if passed.id in run.outcomes:
                continue
            recorded = run.prior.results.get(passed.id)
            if recorded is not None:
                run.keep(StepOutcome.resumed_from(passed, recorded))
            else:
                run.keep(self._skip(run, passed, why))

    def _single(self, run: Run, i: int) -> list[StepOutcome]:
        """One step, asking the person when there is one; [] when they quit."""
        step = run.steps[i]
        why = None if run.options.dry_run else gates.verify_skip_reason(step, run)
        one = self._skip(run, step, why) if why else self._one(run, step, i)
        return [one] if one is not None else []

    def _interruptible(self, run: Run) -> AbstractContextManager[None]:
        """On Ctrl-C, listeners hear of it, with the steps still running."""
        from mlsre import interrupts

        if not run.listeners:
            return nullcontext()

        def record() -> None:
            # A step thread may hold the lock mid-write: wait a little, never hang.
            got = self._lock.acquire(timeout=limits.INTERRUPT_WRITE_WAIT_S)
            try:
                for listener in run.listeners:
                    listener.interrupted(run)
            finally:
                if got:
                    self._lock.release()

        return interrupts.recording(record)

    # ---- one step -----------------------------------------------------------------------------

    def _one(self, run: Run, step: Step, index: int) -> StepOutcome | None:
        """Run one step with the person's say; None when they quit."""
        if not run.options.dry_run and (gated := self._when(run, step)):
            return gated
        view, ready = view_of(self.catalog, step, index, len(run.steps), run.ctx)
        if run.options.dry_run:
            return StepOutcome.dry(step, view)
        decision = self.operator.before_step(view)
        while decision is Decision.EDIT:
            self._edit_inputs(run, step)
            view, ready = view_of(self.catalog, step, index, len(run.steps), run.ctx)
            decision = self.operator.before_step(view)
        if decision is Decision.QUIT:
            return None
        if decision is Decision.SKIP:
            return self._skip(run, step, "skipped by the person running the runbook")
        if ready is None:
            return self._error(run, view, view.problem or step.uses)
        return self._held_back(run, ready) or self._execute(run, ready)

    def _held_back(self, run: Run, ready: Prepared) -> StepOutcome | None:
        """A change the person does not approve, or one an interrupted run may have applied."""
        step, view, kind, params = ready
        if (
            step.id in run.prior.started_only
            and view.needs_confirm
            and not self.operator.interrupted_mitigation(view)
        ):
            return self._skip(run, step, approval.interrupted_mitigation(view), Awaiting.APPROVAL)
        if not (step.confirm or view.needs_confirm):
            return None
        view.change = approval.preview(kind, params, self.settings, run.ctx, run.options)
        if self.operator.confirm(view, approval.question(step, view, run.ctx)):
            return None
        why, awaiting = approval.refusal(view, self.operator.interactive)
        return self._skip(run, step, why, awaiting)

    def _edit_inputs(self, run: Run, step: Step) -> None:
        """The person edits inputs before a step; listeners hear what changed, old and new."""
        inputs = run.ctx["inputs"]
        new = coerce_edits(run.runbook, self.operator.edit_inputs(dict(inputs)))
        changes = {
            k: {"old": inputs.get(k), "new": v} for k, v in new.items() if inputs.get(k) != v
        }
        inputs.update(new)
        if changes:
            self._announce(run, lambda li: li.inputs_changed(run, step, changes))

    def _when(self, run: Run, step: Step) -> StepOutcome | None:
        """The outcome of a step its `when` keeps from running (None: it runs)."""
        verdict = gates.judge_when(step, run.ctx)
        if verdict.gate is gates.Gate.RUN:
            return None
        if verdict.gate is gates.Gate.ERROR:
            return self._error(run, StepView.bare(step), verdict.reason)
        if verdict.gate is gates.Gate.SKIP:
            return self._skip(run, step, verdict.reason)
        if self.operator.interactive:
            question = f"{verdict.reason}. Run {step.id} anyway?"
            answer = self.operator.ask(question, choices=RUN_OR_SKIP, default="skip it")
            if answer == RUN_OR_SKIP[0]:
                return None
        return self._skip(run, step, verdict.reason, Awaiting.DECISION)

    def _run_batch(self, run: Run, batch: list[Step], i: int) -> list[StepOutcome]:
        self._held = []  # shown in runbook order once the batch is done, not as each finishes
        try:
            return self._run_held(run, batch, i)
        finally:
            held, self._held = self._held or [], None
            order = {s.id: k for k, s in enumerate(batch)}
            for view, out in sorted(held, key=lambda pair: order.get(pair[1].step, 0)):
                self.operator.after_step(view, out)

    def _run_held(self, run: Run, batch: list[Step], i: int) -> list[StepOutcome]:
        prepared: list[Prepared | StepOutcome] = []
        for k, step in enumerate(batch):
            gated = self._when(run, step)
            if gated is not None:
                prepared.append(gated)
                continue
            view, ready = view_of(self.catalog, step, i + k, len(run.steps), run.ctx)
            prepared.append(ready or self._error(run, view, view.problem or step.uses))
        pool = ThreadPoolExecutor(max_workers=min(run.options.max_parallel, len(batch)))
        try:
            futures = {
                id(p): pool.submit(self._execute, run, p) for p in prepared if isinstance(p, tuple)
            }
            return [p if isinstance(p, StepOutcome) else futures[id(p)].result() for p in prepared]
        finally:
            # Not `with`: on Ctrl-C its exit would wait for every step still talking to a server.
            pool.shutdown(wait=False, cancel_futures=True)

    def _execute(self, run: Run, ready: Prepared) -> StepOutcome:
        step, view, kind, params = ready
        timeout = limits.step_timeout(step, kind, params)
        self._announce(run, lambda li: li.step_started(run, step, view))
        started = time.monotonic()
        attempts = 0
        result = StepResult(StepStatus.ERROR, "not run")
        exchanges: list[dict[str, Any]] = []
        run.running.append(step.id)
        with self.operator.running(view):
            while attempts <= step.retries and (attempts == 0 or result.status is StepStatus.ERROR):
                attempts += 1
                result = self._attempt(run, ready, timeout, exchanges)
        run.running.remove(step.id)
        result = judge(step, result, run.ctx)
        if exchanges:
            result.evidence = {**result.evidence, "exchanges": exchanges}
        return self._finish(run, view, result, time.monotonic() - started, attempts)

    def _attempt(
        self, run: Run, ready: Prepared, timeout: float, exchanges: list[dict[str, Any]]
    ) -> StepResult:
        """One try of a step, on a thread it may be abandoned on; what it sent goes to exchanges."""
        from mlsre.integrations.recording import RecordingTransport

        step, _, kind, params = ready
        recorder = RecordingTransport(run.options.transport)
        sctx = StepContext(
            settings=self.settings,
            inputs=run.inputs,
            incident=run.ctx["incident"] or None,
            at=run.options.at,
            timeout_s=timeout,
            dry_run=False,
            interaction=self.operator,
            transport=recorder,
        )
        future = self._pool().submit(kind.run, params, sctx)
        try:
            result = _checked(step, future.result(timeout=timeout + limits.GRACE_S))
        except FutureTimeout:
            result = StepResult(StepStatus.ERROR, f"timed out after {timeout:g}s")
        except Exception as exc:  # a step kind's bug is that step's error, not the run's end
            result = _crash(step, exc)
        exchanges.extend(recorder.take())
        return result

    # ---- outcomes -----------------------------------------------------------------------------

    def _error(self, run: Run, view: StepView, message: str) -> StepOutcome:
        """A step that could not even start (bad template, unknown kind, `when` error)."""
        return self._finish(run, view, StepResult(StepStatus.ERROR, message), 0.0, 0)

    def _skip(
        self, run: Run, step: Step, why: str, awaiting: Awaiting | None = None
    ) -> StepOutcome:
        if run.options.dry_run:
            return StepOutcome(
                step.id,
                step.title,
                step.phase,
                step.uses,
                StepStatus.SKIPPED,
                why,
                awaiting=awaiting,
            )
        result = StepResult(StepStatus.SKIPPED, why)
        return self._finish(run, StepView.bare(step), result, 0.0, 0, awaiting)

    def _finish(
        self,
        run: Run,
        view: StepView,
        result: StepResult,
        duration: float,
        attempts: int,
        awaiting: Awaiting | None = None,
    ) -> StepOutcome:
        out = StepOutcome.of(view, result, duration, attempts, awaiting)
        with self._lock:
            for listener in run.listeners:
                listener.step_result(run, out)
            if self._held is not None:
                self._held.append((view, out))
            else:
                self.operator.after_step(view, out)
        return out

    def _pool(self) -> ThreadPoolExecutor:
        """Where step kinds run, so a hung one can be abandoned at its time limit."""
        with self._lock:
            if self._workers is None:
                self._workers = ThreadPoolExecutor(
                    max_workers=2 * MAX_PARALLEL, thread_name_prefix="step"
                )
            return self._workers


def _checked(step: Step, result: Any) -> StepResult:
    if isinstance(result, StepResult):
        return result
    return StepResult(
        StepStatus.ERROR, f"{step.uses} returned {type(result).__name__}, not a StepResult"
    )


def _crash(step: Step, exc: Exception) -> StepResult:
    """A step kind that raised: its error, said as the person needs it."""
    if isinstance(exc, MlsreError):
        return StepResult(
            StepStatus.ERROR, exc.message, evidence={"hint": exc.hint} if exc.hint else {}
        )
    if isinstance(exc, NotImplementedError):
        return StepResult(StepStatus.ERROR, f"{step.uses} cannot run here: {exc}")
    return StepResult(StepStatus.ERROR, f"{step.uses} crashed: {type(exc).__name__}: {exc}")
