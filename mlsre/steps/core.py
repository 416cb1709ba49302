"""Built-in step kinds: ``shell``, ``http``, ``manual``, ``wait`` and ``note``.

This module holds what a runbook may write in their ``with:`` blocks (the ``Params`` models) and
the one-line ``describe`` used by dry runs and confirm prompts. Execution belongs to the engine.

A kind whose effect depends on its parameters (a shell command marked ``safe``, an HTTP GET)
offers ``mutates(params)``; the validator prefers it over the class-level ``mutating`` flag.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mlsre.steps.base import StepContext, StepResult


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
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
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
    verify_tls: bool = True
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


class NoteParams(_Params):
    text: str = Field(
        min_length=1, description="Recorded on the incident timeline (markdown, templated)."
    )


class Shell:
    """Run a program (argv list), capture exit code and output."""

    name: ClassVar[str] = "shell"
    Params: ClassVar[type[BaseModel]] = ShellParams
    mutating: ClassVar[bool] = True

    def mutates(self, params: ShellParams) -> bool:
        return not params.safe

    def describe(self, params: ShellParams) -> str:
        import shlex

        return f"run {shlex.join(params.argv)}"

    def run(self, params: ShellParams, ctx: StepContext) -> StepResult:
        raise NotImplementedError("shell steps run with the engine")


class Http:
    """Call an HTTP endpoint; check status, latency and JSON fields."""

    name: ClassVar[str] = "http"
    Params: ClassVar[type[BaseModel]] = HttpParams
    mutating: ClassVar[bool] = False

    def mutates(self, params: HttpParams) -> bool:
        return params.method not in ("GET", "HEAD") and not params.safe

    def describe(self, params: HttpParams) -> str:
        return f"{params.method} {params.url} (expect {', '.join(map(str, params.expect_status))})"

    def run(self, params: HttpParams, ctx: StepContext) -> StepResult:
        raise NotImplementedError("http steps run with the engine")


class Manual:
    """Ask the person a question (choices, free text, or a checklist) and record the answer."""

    name: ClassVar[str] = "manual"
    Params: ClassVar[type[BaseModel]] = ManualParams
    mutating: ClassVar[bool] = False

    def describe(self, params: ManualParams) -> str:
        return f"ask: {params.question.strip().splitlines()[0]}"

    def run(self, params: ManualParams, ctx: StepContext) -> StepResult:
        raise NotImplementedError("manual steps run with the engine")


class Wait:
    """Poll a check until it holds or the deadline passes (verify phases)."""

    name: ClassVar[str] = "wait"
    Params: ClassVar[type[BaseModel]] = WaitParams
    mutating: ClassVar[bool] = False

    def describe(self, params: WaitParams) -> str:
        cond = f" until {params.check.expect}" if params.check.expect else " until it passes"
        return f"poll {params.check.uses} every {params.interval}{cond} (at most {params.deadline})"

    def run(self, params: WaitParams, ctx: StepContext) -> StepResult:
        raise NotImplementedError("wait steps run with the engine")


class Note:
    """Record a note on the incident timeline."""

    name: ClassVar[str] = "note"
    Params: ClassVar[type[BaseModel]] = NoteParams
    mutating: ClassVar[bool] = False

    def describe(self, params: NoteParams) -> str:
        return f"note: {params.text.strip().splitlines()[0]}"

    def run(self, params: NoteParams, ctx: StepContext) -> StepResult:
        raise NotImplementedError("note steps run with the engine")


KINDS: list[type] = [Shell, Http, Manual, Wait, Note]
