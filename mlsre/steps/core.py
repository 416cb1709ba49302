"""Built-in step kinds: ``shell``, ``http``, ``manual``, ``wait`` and ``note``.

This module holds what a runbook may write in their ``with:`` blocks (the ``Params`` models) and
the one-line ``describe`` used by dry runs and confirm prompts, and how each runs.

A kind whose effect depends on its parameters (a shell command marked ``safe``, an HTTP GET)
offers ``mutates(params)``; the validator prefers it over the class-level ``mutating`` flag.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mlsre.steps.base import StepContext, StepResult, StepStatus


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
        import os
        import subprocess

        env = {**os.environ, **params.env}
        try:
            proc = subprocess.run(  # argv list, shell=False: templated values are never parsed
                params.argv,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=min(params.timeout_s, ctx.timeout_s),
                cwd=params.cwd,
                env=env,
                check=False,
            )
        except FileNotFoundError:
            return StepResult(StepStatus.ERROR, f"program not found: {params.argv[0]}")
        except PermissionError:
            return StepResult(StepStatus.ERROR, f"not allowed to run {params.argv[0]}")
        except subprocess.TimeoutExpired:
            return StepResult(
                StepStatus.ERROR, f"{params.argv[0]} killed after {params.timeout_s:g}s"
            )
        out = {
            "exit_code": proc.returncode,
            "stdout": proc.stdout[-4000:],
            "stderr": proc.stderr[-4000:],
        }
        ok = proc.returncode in params.ok_exit_codes
        last = (proc.stdout.strip() or proc.stderr.strip()).splitlines()[-1:] or [""]
        return StepResult(
            status=StepStatus.PASSED if ok else StepStatus.FAILED,
            summary=f"exit {proc.returncode}" + (f": {last[0][:160]}" if last[0] else ""),
            output=out,
            samples=[{"value": proc.returncode, **out}],
            evidence={"argv": params.argv, **out},
        )


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
        import json

        from mlsre.integrations.http import Request
        from mlsre.integrations.http_live import LiveTransport

        transport = LiveTransport()
        request = Request(
            method=params.method,
            url=params.url,
            json_body=params.json_body,
            headers=params.headers,
            timeout_s=min(params.timeout_s, ctx.timeout_s),
            retries=0,
            verify=params.verify_tls,
            service="endpoint",
        )
        resp = transport.send(request)  # HttpFailure (unreachable, timeout) -> step error
        latency_ms = resp.elapsed_s * 1000
        problems: list[str] = []
        if resp.status not in params.expect_status:
            problems.append(
                f"status {resp.status} (expected {', '.join(map(str, params.expect_status))})"
            )
        if params.max_latency_ms is not None and latency_ms > params.max_latency_ms:
            problems.append(f"took {latency_ms:.0f} ms (limit {params.max_latency_ms:g} ms)")
        body: Any = None
        if params.json_checks:
            try:
                body = json.loads(resp.body)
            except ValueError:
                return StepResult(
                    StepStatus.ERROR, f"{params.url} did not answer JSON: {resp.snippet()}"
                )
            problems += [p for c in params.json_checks if (p := _json_problem(body, c))]
        output = {"status": resp.status, "latency_ms": round(latency_ms, 1), "json": body}
        return StepResult(
            status=StepStatus.FAILED if problems else StepStatus.PASSED,
            summary="; ".join(problems) or f"{resp.status} in {latency_ms:.0f} ms",
            output=output,
            samples=[{"value": resp.status, "latency_ms": latency_ms}],
            evidence={"url": params.url, "status": resp.status, "body": resp.snippet(2000)},
        )


class Manual:
    """Ask the person a question (choices, free text, or a checklist) and record the answer."""

    name: ClassVar[str] = "manual"
    # a person is in the loop already (or nothing changes): no `confirm`, even as a mitigation
    confirm_free: ClassVar[bool] = True
    Params: ClassVar[type[BaseModel]] = ManualParams
    mutating: ClassVar[bool] = False

    def describe(self, params: ManualParams) -> str:
        return f"ask: {params.question.strip().splitlines()[0]}"

    def run(self, params: ManualParams, ctx: StepContext) -> StepResult:
        who = ctx.interaction
        question = params.question.strip()
        if params.checklist:
            ticked = who.checklist(question, params.checklist) if who else None
            if ticked is None:
                return StepResult(StepStatus.PENDING, f"needs a person: {question.splitlines()[0]}")
            missing = [item for item in params.checklist if item not in ticked]
            return StepResult(
                StepStatus.FAILED if missing else StepStatus.PASSED,
                f"not done: {'; '.join(missing)}" if missing else f"all {len(ticked)} items done",
                output={"ticked": ticked, "missing": missing},
            )
        answer = who.ask(question, choices=params.choices, default=params.default) if who else None
        if answer is None:
            return StepResult(StepStatus.PENDING, f"needs a person: {question.splitlines()[0]}")
        failed = answer in params.fail_on
        return StepResult(
            StepStatus.FAILED if failed else StepStatus.PASSED,
            f"answer: {answer}",
            output={"answer": answer},
            samples=[{"value": answer}],
        )


class Wait:
    """Poll a check until it holds or the deadline passes (verify phases)."""

    name: ClassVar[str] = "wait"
    # a person is in the loop already (or nothing changes): no `confirm`, even as a mitigation
    confirm_free: ClassVar[bool] = True
    Params: ClassVar[type[BaseModel]] = WaitParams
    mutating: ClassVar[bool] = False

    def timeout_s(self, params: WaitParams) -> float:
        """The engine's default time limit for this step: the deadline plus one poll."""
        from mlsre.timeutil import parse_duration

        return (
            parse_duration(params.deadline) + parse_duration(params.interval)
        ).total_seconds() + 30

    def describe(self, params: WaitParams) -> str:
        cond = f" until {params.check.expect}" if params.check.expect else " until it passes"
        return f"poll {params.check.uses} every {params.interval}{cond} (at most {params.deadline})"

    def run(self, params: WaitParams, ctx: StepContext) -> StepResult:
        import time

        from mlsre.runbook.sandbox import check_samples
        from mlsre.steps.registry import default_registry
        from mlsre.timeutil import parse_duration

        cls: Any = default_registry().get(params.check.uses)
        inner = cls.Params.model_validate(params.check.with_)
        interval = parse_duration(params.interval).total_seconds()
        deadline = time.monotonic() + min(
            parse_duration(params.deadline).total_seconds(), ctx.timeout_s
        )
        polls = errors_in_a_row = 0
        namespace = {"inputs": ctx.inputs, "incident": ctx.incident or {}}
        while True:
            polls += 1
            result = cls().run(inner, ctx)
            errors_in_a_row = errors_in_a_row + 1 if result.status is StepStatus.ERROR else 0
            if errors_in_a_row >= params.error_limit:  # the check cannot run: waiting is pointless
                return StepResult(
                    StepStatus.ERROR,
                    f"could not check: {errors_in_a_row} polls in a row failed to run "
                    f"(error_limit {params.error_limit}): {result.summary}",
                    output=result.output,
                    samples=result.samples,
                )
            # Could the check run at all? An error or no data is "unknown", never "unhealthy".
            unknown = result.status in (StepStatus.ERROR, StepStatus.PENDING, StepStatus.SKIPPED)
            if unknown:
                verdict = f"{result.status.value if result.status else ''}: {result.summary}"
            elif result.status is StepStatus.FAILED:
                verdict = result.summary
            elif params.check.expect and not result.samples:
                unknown, verdict = True, "no data"
            elif params.check.expect and check_samples(
                params.check.expect, result.samples, namespace, result.output
            ):
                verdict = f"`{params.check.expect}` does not hold yet (last: {result.summary})"
            else:
                return StepResult(
                    StepStatus.PASSED,
                    f"held after {polls} poll(s)",
                    output=result.output,
                    samples=result.samples,
                )
            # A run evaluated at a fixed past time (--at, replay) sees the same data every poll.
            if ctx.at is not None or time.monotonic() + interval > deadline:
                return StepResult(
                    StepStatus.ERROR if unknown else StepStatus.FAILED,
                    f"{'could not check' if unknown else 'still not holding'} after {polls}"
                    f" poll(s): {verdict}",
                    output=result.output,
                    samples=result.samples,
                )
            time.sleep(interval)


class Note:
    """Record a note on the incident timeline."""

    name: ClassVar[str] = "note"
    # a person is in the loop already (or nothing changes): no `confirm`, even as a mitigation
    confirm_free: ClassVar[bool] = True
    Params: ClassVar[type[BaseModel]] = NoteParams
    mutating: ClassVar[bool] = False

    def describe(self, params: NoteParams) -> str:
        return f"note: {params.text.strip().splitlines()[0]}"

    def run(self, params: NoteParams, ctx: StepContext) -> StepResult:
        return StepResult(StepStatus.PASSED, params.text.strip(), output={"text": params.text})


def _json_problem(body: Any, check: JsonCheck) -> str | None:
    node: Any = body
    for part in check.path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return f"JSON field {check.path} is missing" if check.exists else None
    if not check.exists:
        return f"JSON field {check.path} is present"
    if check.equals is not None and node != check.equals:
        return f"JSON field {check.path} is {node!r}, expected {check.equals!r}"
    return None


KINDS: list[type] = [Shell, Http, Manual, Wait, Note]
