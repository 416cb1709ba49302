"""Built-in step kinds: ``shell``, ``http``, ``manual``, ``wait`` and ``note``.

This module holds what a runbook may write in their ``with:`` blocks (the ``Params`` models), the
one-line ``describe`` used by dry runs and confirm prompts, and the kinds' hooks; what each does
when it runs is in :mod:`mlsre.steps.core.run`.

A kind whose effect depends on its parameters (a shell command marked ``safe``, an HTTP GET)
overrides ``mutates(params)``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mlsre.steps.base import ReadCheck, Refusal, StepContext, StepKind, StepResult, StepStatus

# The time a `wait` allows beyond its deadline and one interval, for the last poll to answer.
WAIT_SLACK_S = 30.0


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ShellParams(_Params):
    argv: list[str] = Field(
        min_length=1,
        description="Program and arguments, one per item. Never a shell string: nothing is "
        "interpreted by a shell, so templated values cannot inject commands.",
    )
    timeout_s: float = Field(60.0, gt=0, le=3600, description="Kill the program after this long.")
    safe: bool = Field(
        False,
        description="Read-only command (kubectl get, curl of a health page): runs without "
        "`confirm`. Anything else changes a system and needs `confirm`.",
    )
    cwd: str | None = Field(None, description="Working directory (default: the workspace).")
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment variables.")
    ok_exit_codes: list[int] = Field(
        default_factory=lambda: [0], description="Exit codes that mean passed."
    )


class JsonCheck(_Params):
    """One field of a JSON answer, by dotted path (``status``, ``models.0.version``)."""

    path: str = Field(min_length=1)
    equals: Any = Field(None, description="Expected value (omit to only require the field).")
    exists: bool = Field(True, description="false: the field must be absent.")


class HttpParams(_Params):
    url: str = Field(min_length=1, description="http(s) URL.")
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] = Field(
        "GET", description="HTTP method."
    )
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers.")
    json_body: Any = Field(None, alias="json", description="Request body, sent as JSON.")
    expect_status: list[int] = Field(
        default_factory=lambda: [200], description="Status codes that pass."
    )
    max_latency_ms: float | None = Field(
        None, gt=0, description="Fail when the answer takes longer."
    )
    json_checks: list[JsonCheck] = Field(
        default_factory=list, description="Fields the JSON answer must have."
    )
    timeout_s: float = Field(10.0, gt=0, le=600)
    verify_tls: bool = Field(True, description="Check the server's TLS certificate.")
    safe: bool = Field(
        False, description="A POST/PUT/PATCH/DELETE that changes nothing (no confirm needed)."
    )


class ManualParams(_Params):
    question: str = Field(min_length=1, description="What to ask the person (markdown).")
    choices: list[str] | None = Field(None, min_length=2, description="Pick one of these.")
    checklist: list[str] | None = Field(None, min_length=1, description="Tick the items that hold.")
    default: str | None = Field(None, description="Suggested answer.")
    fail_on: list[str] = Field(
        default_factory=list, description="Answers (choices) that mean the system is unhealthy."
    )

    @model_validator(mode="after")
    def _one_mode(self) -> ManualParams:
        if self.choices and self.checklist:
            raise ValueError("give either choices or checklist, not both")
        unknown = [a for a in self.fail_on if self.choices is not None and a not in self.choices]
        if unknown:
            raise ValueError(f"fail_on {unknown} are not among the choices {self.choices}")
        return self


class CheckSpec(_Params):
    """A check polled by ``wait``: a non-mutating step kind with its own ``with`` and ``expect``."""

    uses: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    expect: str | None = Field(
        None, description="Expression over each sample; the wait ends when it holds."
    )


class WaitParams(_Params):
    check: CheckSpec = Field(description="What to poll until it passes.")
    interval: str = Field(
        "30s", pattern=r"^(\d+(\.\d+)?(ms|s|m|h))+$", description="Time between polls."
    )
    deadline: str = Field(
        "15m",
        pattern=r"^(\d+(\.\d+)?(ms|s|m|h))+$",
        description="Give up (failed) after this long.",
    )
    error_limit: int = Field(
        4,
        ge=1,
        le=100,
        description="Give up (error) after this many polls in a row where the check could not "
        "run, e.g. Prometheus down (Argo Rollouts' consecutiveErrorLimit is 4 too).",
    )


class NoteParams(_Params):
    text: str = Field(
        min_length=1, description="Recorded on the incident timeline (markdown, templated)."
    )


class Shell(StepKind[ShellParams]):
    """Run a program (argv list), capture exit code and output."""

    name = "shell"
    mutating = True

    def mutates(self, params: ShellParams) -> bool:
        return not params.safe

    def refusal(self, raw_with: dict[str, Any]) -> Refusal | None:
        """A template run as code by an interpreter (``sh -c``, ``python -c``) is never run."""
        from mlsre.runbook.injection import script_argument_problem

        found = script_argument_problem(raw_with.get("argv"))
        return Refusal(found[1], ("argv", found[0])) if found else None

    def describe(self, params: ShellParams) -> str:
        import shlex

        return f"run {shlex.join(params.argv)}"

    def run(self, params: ShellParams, ctx: StepContext) -> StepResult:
        from mlsre.steps.core.run import run_shell

        return run_shell(params, ctx)


class Http(StepKind[HttpParams]):
    """Call an HTTP endpoint; check status, latency and JSON fields."""

    name = "http"

    def mutates(self, params: HttpParams) -> bool:
        return params.method not in ("GET", "HEAD") and not params.safe

    def describe(self, params: HttpParams) -> str:
        return f"{params.method} {params.url} (expect {', '.join(map(str, params.expect_status))})"

    def run(self, params: HttpParams, ctx: StepContext) -> StepResult:
        from mlsre.steps.core.run import run_http

        return run_http(params, ctx)


class Manual(StepKind[ManualParams]):
    """Ask the person a question (choices, free text, or a checklist) and record the answer."""

    name = "manual"
    person_in_loop = True
    preflight_skip = "asks a person"

    def describe(self, params: ManualParams) -> str:
        return f"ask: {params.question.strip().splitlines()[0]}"

    def run(self, params: ManualParams, ctx: StepContext) -> StepResult:
        from mlsre.steps.core.run import run_manual

        return run_manual(params, ctx)


class Wait(StepKind[WaitParams]):
    """Poll a check until it holds or the deadline passes (verify phases)."""

    name = "wait"
    person_in_loop = True
    nested_check = "check"

    def time_limit(self, params: WaitParams) -> float:
        """The deadline plus one poll, plus slack for the last poll to answer."""
        from mlsre.timeutil import parse_duration

        return (
            parse_duration(params.deadline) + parse_duration(params.interval)
        ).total_seconds() + WAIT_SLACK_S

    def preflight(self, raw_with: dict[str, Any], settings: Any) -> list[ReadCheck] | None:
        """One run of the polled check."""
        check = raw_with.get("check")
        check = check if isinstance(check, dict) else {}
        inner = check.get("with")
        return [
            ReadCheck(
                str(check.get("uses") or ""),
                dict(inner) if isinstance(inner, dict) else {},
                check.get("expect"),
            )
        ]

    def describe(self, params: WaitParams) -> str:
        cond = f" until {params.check.expect}" if params.check.expect else " until it passes"
        return f"poll {params.check.uses} every {params.interval}{cond} (at most {params.deadline})"

    def run(self, params: WaitParams, ctx: StepContext) -> StepResult:
        from mlsre.steps.core.run import run_wait

        return run_wait(params, ctx)


class Note(StepKind[NoteParams]):
    """Record a note on the incident timeline."""

    name = "note"
    person_in_loop = True
    preflight_skip = "only records a note"

    def describe(self, params: NoteParams) -> str:
        return f"note: {params.text.strip().splitlines()[0]}"

    def run(self, params: NoteParams, ctx: StepContext) -> StepResult:
        return StepResult(StepStatus.PASSED, params.text.strip(), output={"text": params.text})


KINDS: list[type[StepKind[Any]]] = [Shell, Http, Manual, Wait, Note]
