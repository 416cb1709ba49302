"""What the core step kinds do: ``shell``, ``http``, ``manual`` and ``wait`` (``note`` only
records its text). Imported only when such a step runs."""

from __future__ import annotations

from typing import Any

from mlsre.steps.base import StepContext, StepResult, StepStatus
from mlsre.steps.core.kinds import HttpParams, JsonCheck, ManualParams, ShellParams, WaitParams


def run_shell(params: ShellParams, ctx: StepContext) -> StepResult:
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
        return StepResult(StepStatus.ERROR, f"{params.argv[0]} killed after {params.timeout_s:g}s")
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


def run_http(params: HttpParams, ctx: StepContext) -> StepResult:
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


def run_manual(params: ManualParams, ctx: StepContext) -> StepResult:
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


def run_wait(params: WaitParams, ctx: StepContext) -> StepResult:
    import time

    from mlsre.runbook.sandbox import check_samples
    from mlsre.steps.catalog import default_catalog
    from mlsre.timeutil import parse_duration

    kind = default_catalog().instance(params.check.uses)
    inner = kind.parse(params.check.with_)
    interval = parse_duration(params.interval).total_seconds()
    deadline = time.monotonic() + min(
        parse_duration(params.deadline).total_seconds(), ctx.timeout_s
    )
    polls = errors_in_a_row = 0
    namespace = {"inputs": ctx.inputs, "incident": ctx.incident or {}}
    while True:
        polls += 1
        result = kind.run(inner, ctx)
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
