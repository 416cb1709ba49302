"""The runbook engine: runs steps in order, with a person or unattended, recording every step.

Flow per step: `when` -> render `with` in the sandbox -> validate against the kind's Params ->
(confirm) -> STEP_STARTED event -> run (timeout, retries on error) -> judge with `expect` ->
STEP_RESULT event -> `on_fail`. Consecutive independent diagnose steps run concurrently when no
person is being asked about each one.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from mlsre.errors import MlsreError
from mlsre.incident.model import EventKind, Incident
from mlsre.incident.store import Store
from mlsre.runbook import approval, gates, journal
from mlsre.runbook.batching import parallel_batch
from mlsre.runbook.context import coerce_edits, incident_context, parse_inputs, step_namespace
from mlsre.runbook.findings import judge
from mlsre.runbook.model import Runbook, Step
from mlsre.runbook.run_model import (
    DEFAULT_TIMEOUT_S,
    MAX_PARALLEL,
    Decision,
    Operator,
    RunOptions,
    RunOutcome,
    RunReport,
    StepOutcome,
    StepView,
    Unattended,
)
from mlsre.runbook.sandbox import render_value
from mlsre.steps.base import Phase, StepContext, StepResult, StepStatus
from mlsre.timeutil import iso, utcnow

RUN_OR_SKIP = ["run it", "skip it"]  # what the person is asked when a `when` is undecided

__all__ = [
    "MAX_PARALLEL",
    "Decision",
    "Engine",
    "Operator",
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
        self, store: Store | None, settings: Any, operator: Operator, registry: Any = None
    ) -> None:
        from mlsre.steps.catalog import default_catalog as default_registry

        self.store = store
        self.settings = settings
        self.operator = operator
        self.registry = registry or default_registry()
        self.actor = "mlsre"
        self._lock = threading.Lock()
        self._held: list[tuple[StepView, StepOutcome]] | None = None
        self._runbook: Runbook | None = None  # the runbook being walked
        self._workers: ThreadPoolExecutor | None = (
            None  # steps finish on several threads; one writer at a time
        )
        self._running: list[str] = []  # step ids between STEP_STARTED and their result

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
        inputs = parse_inputs(runbook, options.inputs)
        run_id = uuid.uuid4().hex[:12]
        if incident is not None and not options.dry_run:
            self._record(
                incident.id,
                EventKind.RUNBOOK_STARTED,
                {
                    "run": run_id,
                    "runbook": runbook.id,
                    "title": runbook.title,
                    "inputs": inputs,
                    "at": iso(options.at) if options.at else None,
                    "phase": options.phase.value if options.phase else None,
                },
            )
        with self._interruptible(incident, run_id, runbook.id, options):
            return self._walk(
                runbook,
                options,
                incident,
                run_id,
                inputs,
                journal.RunRecord(run_id, runbook.id, inputs, None, None),
            )

    def resume(
        self,
        runbook: Runbook,
        record: journal.RunRecord,
        incident: Incident,
        options: RunOptions,
        *,
        actor: str = "mlsre",
    ) -> RunReport:
        self.actor = actor
        options.phase = Phase(record.phase) if record.phase else options.phase
        with self._interruptible(incident, record.run_id, runbook.id, options):
            return self._walk(
                runbook, options, incident, record.run_id, dict(record.inputs), record
            )

    def _interruptible(
        self, incident: Incident | None, run_id: str, runbook_id: str, options: RunOptions
    ) -> Any:
        """On Ctrl-C, an "interrupted" event names the run and the steps still running."""
        from contextlib import nullcontext

        from mlsre import interrupts

        if incident is None or options.dry_run or self.store is None:
            return nullcontext()
        store, actor, incident_id = self.store, self.actor, incident.id

        def record() -> None:
            got = self._lock.acquire(timeout=1.0)  # a worker may hold it mid-write; never hang
            try:
                store.append(
                    incident_id,
                    EventKind.INTERRUPTED,
                    {"run": run_id, "runbook": runbook_id, "step": ", ".join(self._running)},
                    actor,
                    utcnow(),
                )
            finally:
                if got:
                    self._lock.release()

        return interrupts.recording(record)

    # ---- the walk ---------------------------------------------------------------------------

    def _walk(
        self,
        runbook: Runbook,
        options: RunOptions,
        incident: Incident | None,
        run_id: str,
        inputs: dict[str, Any],
        prior: journal.RunRecord,
    ) -> RunReport:
        self._runbook = runbook
        ctx_base: dict[str, Any] = {
            "inputs": inputs,
            "incident": incident_context(incident),
            "runbook": {"id": runbook.id, "title": runbook.title},
            "now": utcnow(),
            "at": options.at or utcnow(),
            "steps": {s.id: step_namespace(None) for s in runbook.steps},
        }
        outcomes: dict[str, StepOutcome] = {}
        stopped_at: str | None = None
        quit_ = False
        steps = runbook.steps
        i = 0
        while i < len(steps):
            step = steps[i]
            if options.phase and step.phase != options.phase:
                i += 1
                continue
            if step.id in prior.results:  # recorded by the interrupted run: reuse, do not redo
                out = StepOutcome.resumed_from(step, prior.results[step.id])
                outcomes[step.id] = out
                ctx_base["steps"][step.id] = step_namespace(
                    out.status, out.output, out.summary, out.samples
                )
                jump = self._flow(step, out, steps)
                if jump == "stop":
                    stopped_at = step.id
                    break
                i = jump if isinstance(jump, int) else i + 1
                continue
            parallel = not self.operator.interactive and not options.dry_run
            batch = parallel_batch(steps, i, options, prior) if parallel else [step]
            if len(batch) > 1:
                results = self._run_batch(batch, i, len(steps), ctx_base, options, incident, run_id)
            else:
                why = (
                    None
                    if options.dry_run
                    else self._no_verify(runbook, step, outcomes, options, incident, prior)
                )
                one = (
                    self._skip(step, why, incident, run_id, options)
                    if why
                    else self._one(step, i, len(steps), ctx_base, options, incident, run_id, prior)
                )
                if one is None:
                    quit_ = True
                    break
                results = [one]
            next_i = i + len(batch)
            stop = False
            for out in results:
                outcomes[out.step] = out
                ctx_base["steps"][out.step] = step_namespace(
                    out.status, out.output, out.summary, out.samples
                )
            for st, out in zip(batch, results, strict=True):
                jump = self._flow(st, out, steps)
                if jump == "stop":
                    stopped_at = st.id
                    stop = True
                    break
                if isinstance(jump, int):
                    next_i = jump
                    for skipped in steps[steps.index(st) + 1 : jump]:
                        if skipped.id not in outcomes:
                            outcomes[skipped.id] = self._skip(
                                skipped,
                                f"jumped over: {st.id} failed, goto {steps[jump].id}",
                                incident,
                                run_id,
                                options,
                            )
                    break
            if stop:
                break
            i = next_i
        ordered = [outcomes[s.id] for s in steps if s.id in outcomes]
        report = RunReport(
            run_id=run_id,
            runbook=runbook.id,
            incident=incident.ref if incident else None,
            outcome=RunOutcome.of([o.status for o in ordered], quit_),
            steps=ordered,
            needs_attention=[
                f"{o.step}: {o.summary}"
                for o in ordered
                if o.status is StepStatus.PENDING
                or (
                    o.status is StepStatus.SKIPPED
                    and o.summary.startswith((gates.AWAITING, gates.UNDECIDED))
                )
            ],
            stopped_at=stopped_at,
            dry_run=options.dry_run,
            evaluated_at=iso(ctx_base["at"]),
        )
        if incident is not None and not options.dry_run and not quit_:
            self._record(
                incident.id,
                EventKind.RUNBOOK_FINISHED,
                {
                    "run": run_id,
                    "runbook": runbook.id,
                    "outcome": report.outcome.value,
                    "counts": {
                        s.value: sum(1 for o in ordered if o.status is s) for s in StepStatus
                    },
                },
            )
        if self._workers is not None:  # hung steps were abandoned at their timeout; do not wait
            self._workers.shutdown(wait=False)
            self._workers = None
        return report

    def _no_verify(
        self,
        runbook: Runbook,
        step: Step,
        outcomes: dict[str, StepOutcome],
        options: RunOptions,
        incident: Incident | None,
        prior: journal.RunRecord,
    ) -> str | None:
        """Why a verify step must not run now (no mitigation ran; --at after a real one)."""
        hint = f"mlsre runbook run {runbook.id} --phase verify" + (
            f" --incident {incident.ref}" if incident else ""
        )
        return gates.verify_skip_reason(
            step,
            runbook.steps,
            outcomes,
            phase_only=options.phase,
            at=options.at,
            verify_hint=hint,
            maybe_ran=prior.started_only,
        )

    def _flow(self, step: Step, out: StepOutcome, steps: list[Step]) -> str | int | None:
        """What happens after a step: None (next), 'stop', or the index to go to."""
        if out.status not in (StepStatus.FAILED, StepStatus.ERROR):
            return None
        target = step.goto
        if target:
            idx = next((k for k, s in enumerate(steps) if s.id == target), None)
            here = steps.index(step)
            if idx is None or idx <= here:
                return "stop"  # the validator refuses these; never loop at run time
            return idx
        from mlsre.runbook.model import OnFail

        return "stop" if step.on_fail_action is OnFail.STOP else None

    # ---- one step -----------------------------------------------------------------------------

    def _view(
        self, step: Step, index: int, total: int, ctx: dict[str, Any]
    ) -> tuple[StepView, Any, Any]:
        from mlsre.steps.catalog import needs_confirm

        try:
            cls: Any = self.registry.get(step.uses)
        except MlsreError as exc:
            return (
                StepView(step, index, total, step.uses, None, True, problem=exc.message),
                None,
                None,
            )
        refused = _code_injection(step)
        if refused:
            return StepView(step, index, total, step.uses, None, True, problem=refused), cls, None
        try:
            rendered = render_value(step.with_, ctx)
            params = cls.Params.model_validate(rendered)
        except MlsreError as exc:
            return (
                StepView(
                    step,
                    index,
                    total,
                    step.uses,
                    None,
                    bool(getattr(cls, "mutating", True)),
                    problem=exc.message,
                ),
                cls,
                None,
            )
        except Exception as exc:  # pydantic ValidationError: parameters wrong after rendering
            first = str(exc).splitlines()
            detail = " ".join(first[1:3]).strip() or first[0]
            msg = f"with: invalid parameters for {step.uses}: {detail}"
            return StepView(step, index, total, step.uses, None, True, problem=msg), cls, None
        kind = cls()
        try:
            description = kind.describe(params)
        except Exception:  # a plugin's describe() must never stop a run
            description = step.uses
        view = StepView(
            step,
            index,
            total,
            description,
            rendered,
            needs_confirm(cls, params, step.phase.value),
        )
        return view, kind, params

    def _one(
        self,
        step: Step,
        index: int,
        total: int,
        ctx: dict[str, Any],
        options: RunOptions,
        incident: Incident | None,
        run_id: str,
        prior: journal.RunRecord,
    ) -> StepOutcome | None:
        """Run one step with the person's say; None when they quit."""
        if not options.dry_run and (gated := self._when(step, ctx, incident, run_id, options)):
            return gated
        while True:
            view, kind, params = self._view(step, index, total, ctx)
            if options.dry_run:
                return StepOutcome(
                    step.id,
                    step.title,
                    step.phase,
                    step.uses,
                    StepStatus.SKIPPED,
                    view.problem or "dry run: not executed",
                    description=view.description,
                    output=view.params,
                )
            decision = self.operator.before_step(view)
            if decision is Decision.EDIT:
                self._edit_inputs(step, ctx, incident, run_id)
                continue
            break
        if decision is Decision.QUIT:
            return None
        if decision is Decision.SKIP:
            return self._skip(
                step, "skipped by the person running the runbook", incident, run_id, options
            )
        if view.problem:
            return self._error(step, view, view.problem, incident, run_id)
        if (
            step.id in prior.started_only
            and view.mutating
            and not self.operator.interrupted_mitigation(view)
        ):
            return self._skip(
                step,
                f"awaiting approval: {view.description} was started by an interrupted run and"
                " may have been applied; check, then run it again by hand",
                incident,
                run_id,
                options,
            )
        if step.confirm or view.mutating:
            view.change = approval.preview(kind, params, self.settings, ctx, options)
            if not self.operator.confirm(view, approval.question(step, view, ctx)):
                why = approval.refusal(view, self.operator.interactive)
                return self._skip(step, why, incident, run_id, options)
        return self._execute(step, view, kind, params, ctx, options, incident, run_id)

    def _edit_inputs(
        self, step: Step, ctx: dict[str, Any], incident: Incident | None, run_id: str
    ) -> None:
        """The person edits inputs before a step; the change goes on the timeline, old and new."""
        assert self._runbook is not None
        edited = self.operator.edit_inputs(dict(ctx["inputs"]))
        new = coerce_edits(self._runbook, edited)
        changes = {
            k: {"old": ctx["inputs"].get(k), "new": v}
            for k, v in new.items()
            if ctx["inputs"].get(k) != v
        }
        ctx["inputs"].update(new)
        if changes and incident is not None:
            data = {"run": run_id, "runbook": self._runbook.id, "step": step.id, "changes": changes}
            self._record(incident.id, EventKind.INPUTS_CHANGED, journal.redact_data(data))

    def _when(
        self,
        step: Step,
        ctx: dict[str, Any],
        incident: Incident | None,
        run_id: str,
        options: RunOptions,
    ) -> StepOutcome | None:
        """The recorded outcome of a step its `when` keeps from running (None: it runs)."""
        verdict = gates.judge_when(step, ctx)
        if verdict.gate is gates.Gate.RUN:
            return None
        if verdict.gate is gates.Gate.ERROR:
            view = StepView(step, 0, 0, step.uses, None, False)
            return self._error(step, view, verdict.reason, incident, run_id)
        if verdict.gate is gates.Gate.UNDECIDED and self.operator.interactive:
            answer = self.operator.ask(
                f"{verdict.reason}. Run {step.id} anyway?", choices=RUN_OR_SKIP, default="skip it"
            )
            if answer == RUN_OR_SKIP[0]:
                return None
        return self._skip(step, verdict.reason, incident, run_id, options)

    def _error(
        self, step: Step, view: StepView, message: str, incident: Incident | None, run_id: str
    ) -> StepOutcome:
        """A step that could not even start (bad template, unknown kind, `when` error)."""
        return self._finish(
            step, view, StepResult(StepStatus.ERROR, message), 0.0, 0, incident, run_id
        )

    def _run_batch(
        self,
        batch: list[Step],
        i: int,
        total: int,
        ctx: dict[str, Any],
        options: RunOptions,
        incident: Incident | None,
        run_id: str,
    ) -> list[StepOutcome]:
        self._held = []  # shown in runbook order once the batch is done, not as each finishes
        try:
            return self._run_held(batch, i, total, ctx, options, incident, run_id)
        finally:
            held, self._held = self._held or [], None
            order = {s.id: k for k, s in enumerate(batch)}
            for view, out in sorted(held, key=lambda pair: order.get(pair[1].step, 0)):
                self.operator.after_step(view, out)

    def _run_held(
        self,
        batch: list[Step],
        i: int,
        total: int,
        ctx: dict[str, Any],
        options: RunOptions,
        incident: Incident | None,
        run_id: str,
    ) -> list[StepOutcome]:
        prepared: list[tuple[Step, StepView, Any, Any] | StepOutcome] = []
        for k, step in enumerate(batch):
            gated = self._when(step, ctx, incident, run_id, options)
            if gated is not None:
                prepared.append(gated)
                continue
            view, kind, params = self._view(step, i + k, total, ctx)
            if view.problem:
                prepared.append(self._error(step, view, view.problem, incident, run_id))
            else:
                prepared.append((step, view, kind, params))
        pool = ThreadPoolExecutor(max_workers=min(options.max_parallel, len(batch)))
        try:
            futures = {
                id(p): pool.submit(
                    self._execute, p[0], p[1], p[2], p[3], ctx, options, incident, run_id
                )
                for p in prepared
                if isinstance(p, tuple)
            }
            return [p if isinstance(p, StepOutcome) else futures[id(p)].result() for p in prepared]
        finally:
            # Not `with`: on Ctrl-C its exit would wait for every step still talking to a server.
            pool.shutdown(wait=False, cancel_futures=True)

    def _execute(
        self,
        step: Step,
        view: StepView,
        kind: Any,
        params: Any,
        ctx: dict[str, Any],
        options: RunOptions,
        incident: Incident | None,
        run_id: str,
    ) -> StepOutcome:
        timeout = step.timeout_s or _default_timeout(kind, params)
        if incident is not None:
            self._record(
                incident.id,
                EventKind.STEP_STARTED,
                {
                    "run": run_id,
                    "step": step.id,
                    "kind": step.uses,
                    "phase": step.phase.value,
                    "description": view.description,
                },
            )
        started = time.monotonic()
        attempts = 0
        result = StepResult(StepStatus.ERROR, "not run")
        evidence_log: list[dict[str, Any]] = []
        self._running.append(step.id)
        with self.operator.running(view):
            for attempt in range(step.retries + 1):
                attempts = attempt + 1
                result, exchanges = self._attempt(
                    kind, params, step, ctx, options, incident, timeout
                )
                evidence_log.extend(exchanges)
                if result.status is not StepStatus.ERROR:
                    break
        self._running.remove(step.id)
        result = judge(step, result, ctx)
        if evidence_log:
            result.evidence = {**result.evidence, "exchanges": evidence_log}
        return self._finish(
            step, view, result, time.monotonic() - started, attempts, incident, run_id
        )

    def _attempt(
        self,
        kind: Any,
        params: Any,
        step: Step,
        ctx: dict[str, Any],
        options: RunOptions,
        incident: Incident | None,
        timeout: float,
    ) -> tuple[StepResult, list[dict[str, Any]]]:
        from mlsre.integrations.recording import RecordingTransport

        recorder = RecordingTransport(options.transport)
        sctx = StepContext(
            settings=self.settings,
            inputs=dict(ctx["inputs"]),
            incident=ctx["incident"] or None,
            at=options.at,
            timeout_s=timeout,
            dry_run=False,
            interaction=self.operator,
            transport=recorder,
        )
        future = self._pool().submit(kind.run, params, sctx)
        try:
            result = future.result(timeout=timeout + 5)
        except FutureTimeout:
            result = StepResult(StepStatus.ERROR, f"timed out after {timeout:g}s")
        except MlsreError as exc:
            result = StepResult(
                StepStatus.ERROR, exc.message, evidence={"hint": exc.hint} if exc.hint else {}
            )
        except NotImplementedError as exc:
            result = StepResult(StepStatus.ERROR, f"{step.uses} cannot run here: {exc}")
        except Exception as exc:  # a step kind's bug is that step's error, not the run's end
            result = StepResult(
                StepStatus.ERROR, f"{step.uses} crashed: {type(exc).__name__}: {exc}"
            )
        if not isinstance(result, StepResult):
            result = StepResult(
                StepStatus.ERROR, f"{step.uses} returned {type(result).__name__}, not a StepResult"
            )
        return result, recorder.take()

    # ---- recording ----------------------------------------------------------------------------

    def _skip(
        self, step: Step, why: str, incident: Incident | None, run_id: str, options: RunOptions
    ) -> StepOutcome:
        view = StepView(step, 0, 0, step.uses, None, False)
        if options.dry_run:
            return StepOutcome(step.id, step.title, step.phase, step.uses, StepStatus.SKIPPED, why)
        return self._finish(
            step, view, StepResult(StepStatus.SKIPPED, why), 0.0, 0, incident, run_id
        )

    def _finish(
        self,
        step: Step,
        view: StepView,
        result: StepResult,
        duration: float,
        attempts: int,
        incident: Incident | None,
        run_id: str,
    ) -> StepOutcome:
        out = StepOutcome(
            step=step.id,
            title=step.title,
            phase=step.phase,
            kind=step.uses,
            status=result.status or StepStatus.PASSED,
            summary=result.summary,
            description=view.description,
            output=result.output,
            samples=result.samples,
            evidence=result.evidence,
            changes=result.changes,
            duration_s=round(duration, 4),
            attempts=attempts,
        )
        if incident is not None:
            data = journal.redact_data(
                {
                    "run": run_id,
                    "step": step.id,
                    "kind": step.uses,
                    "phase": step.phase.value,
                    "status": out.status.value,
                    "summary": out.summary,
                    "duration_s": out.duration_s,
                    "attempts": attempts,
                    "output": out.output,
                    "samples": out.samples[:200],
                    "changes": out.changes,
                    "evidence": journal.bounded_evidence(out.evidence),
                }
            )
            self._record(incident.id, EventKind.STEP_RESULT, data)
            for change in out.changes:
                if change.get("kind") == "alias" or {"alias", "from_version", "to_version"} <= set(
                    change
                ):
                    self._record(
                        incident.id,
                        EventKind.MODEL_CHANGED,
                        journal.redact_data({"run": run_id, "step": step.id, **change}),
                    )
        with self._lock:
            if self._held is not None:
                self._held.append((view, out))
            else:
                self.operator.after_step(view, out)
        return out

    def _pool(self) -> ThreadPoolExecutor:
        """Where step kinds run, so a hung one can be abandoned at its timeout."""
        with self._lock:
            if self._workers is None:
                self._workers = ThreadPoolExecutor(
                    max_workers=2 * MAX_PARALLEL, thread_name_prefix="step"
                )
            return self._workers

    def _record(self, incident_id: int, kind: EventKind, data: dict[str, Any]) -> None:
        if self.store is None:
            return
        from mlsre.jsonutil import plain

        with self._lock:
            self.store.append(incident_id, kind, plain(data), self.actor, utcnow())


def _code_injection(step: Step) -> str | None:
    """A shell step templating into an interpreter's code (``sh -c``) is never run."""
    from mlsre.runbook.injection import script_argument_problem

    if step.uses != "shell" or not isinstance(step.with_, dict):
        return None
    found = script_argument_problem(step.with_.get("argv"))
    return f"refused: {found[1]}" if found else None


def _default_timeout(kind: Any, params: Any) -> float:
    """A kind may say how long it needs (wait: its deadline); else its timeout_s; else 60 s."""
    own = getattr(kind, "timeout_s", None)
    if callable(own):
        return float(own(params))
    return float(getattr(params, "timeout_s", None) or DEFAULT_TIMEOUT_S)
