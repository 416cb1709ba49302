"""The ASGI app (Starlette): alert intake, JSON API, incident pages, health and metrics."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from mlsre.errors import MlsreError, NotFoundError, StoreError, UsageError
from mlsre.incident.store import JobState, Store
from mlsre.jsonutil import plain
from mlsre.serve import intake
from mlsre.serve.access import COOKIE, authorized, read_body, safe_next, same
from mlsre.serve.guard import paused
from mlsre.serve.payload import PayloadError, parse
from mlsre.serve.service import ServeConfig, Service

RETRY_AFTER_S = 5

__all__ = ["ServeConfig", "build_app"]


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def _json(data: Any, status: int = 200) -> Response:
    body = json.dumps(plain(data), ensure_ascii=False, allow_nan=False)
    return Response(body, status_code=status, media_type="application/json")


def build_app(cfg: ServeConfig) -> Starlette:
    svc = Service(cfg)
    m = svc.metrics

    async def alertmanager(request: Request) -> Response:
        if not authorized(request, cfg.token):
            m.notifications.labels("unauthorized").inc()
            return _error(
                401, "missing or wrong bearer token", **{"WWW-Authenticate": 'Bearer realm="mlsre"'}
            )
        body = await read_body(request, cfg.max_body_bytes)
        if body is None:
            m.notifications.labels("rejected").inc()
            return _error(413, f"body larger than {cfg.max_body_bytes} bytes")
        try:
            note = parse(body)
        except PayloadError as exc:
            m.notifications.labels("rejected").inc()
            return _error(400, str(exc))
        try:
            result = await svc.receive(note)
        except StoreError as exc:
            m.notifications.labels("busy").inc()
            return _error(
                503,
                f"incident store busy, retry: {exc.message}",
                **{"Retry-After": str(RETRY_AFTER_S)},
            )
        m.notifications.labels("accepted").inc()
        for alert in note.alerts:
            m.alerts.labels(alert.status).inc()
        m.opened.inc(result.opened)
        m.folded.inc(result.folded)
        if result.opened:
            svc.pool.wake.set()
        return _json({"status": "ok", "groups": intake.summary(result)})

    async def post_change(request: Request) -> Response:
        """A CI/CD pipeline records a deploy, a data refresh, a config flip (the change log)."""
        if not authorized(request, cfg.token):
            return _error(
                401, "missing or wrong bearer token", **{"WWW-Authenticate": 'Bearer realm="mlsre"'}
            )
        body = await read_body(request, 64 * 1024)
        if body is None:
            return _error(413, "body larger than 64 KiB")
        from mlsre.changes.service import change_from_json

        try:
            fields = change_from_json(body)
        except (UsageError, ValueError) as exc:
            return _error(400, str(getattr(exc, "message", exc)))
        from mlsre.changes.service import record_change

        try:
            row = await svc.read(lambda s: record_change(s, actor="mlsre serve", **fields))
        except StoreError as exc:
            return _error(503, f"incident store busy, retry: {exc.message}", **{"Retry-After": "5"})
        except UsageError as exc:
            return _error(400, exc.message)
        return _json(row, status=201)

    async def healthz(request: Request) -> Response:
        return _json({"status": "ok"})

    async def readyz(request: Request) -> Response:
        def probe(s: Store) -> dict[str, Any]:
            jobs = s.jobs((JobState.QUEUED, JobState.RUNNING))
            return {
                "status": "ready",
                "queued": sum(1 for j in jobs if j.state == JobState.QUEUED),
                "running": sum(1 for j in jobs if j.state == JobState.RUNNING),
                "automation": "paused" if paused(s) else ("dry-run" if cfg.dry_run else "on"),
            }

        try:
            return _json(await svc.read(probe))
        except MlsreError as exc:
            return _error(503, f"incident store unreachable: {exc.message}", **{"Retry-After": "5"})

    async def metrics(request: Request) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        def counts(s: Store) -> tuple[dict[str, int], bool]:
            # only what is pending: finished diagnoses are counted by mlsre_serve_diagnoses
            out = dict.fromkeys((JobState.QUEUED, JobState.RUNNING), 0)
            for j in s.jobs((JobState.QUEUED, JobState.RUNNING)):
                out[j.state] += 1
            return out, paused(s) is not None

        try:
            by_state, is_paused = await svc.read(counts)
            for state, n in by_state.items():
                m.queue.labels(state).set(n)
            m.paused.set(1 if is_paused else 0)
        except MlsreError:
            pass  # the counters still say what this process saw
        return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)

    def _read_denied(request: Request) -> Response | None:
        if authorized(request, cfg.token, cookie=True):
            return None
        return _error(
            401, "missing or wrong bearer token", **{"WWW-Authenticate": 'Bearer realm="mlsre"'}
        )

    def _page_denied(
        request: Request, problem: str | None = None, next_path: str | None = None
    ) -> Response | None:
        from mlsre.serve import pages

        if problem is None and authorized(request, cfg.token, cookie=True):
            return None
        target = safe_next(next_path or request.url.path)
        return HTMLResponse(pages.login(target, problem), status_code=401)

    async def login(request: Request) -> Response:
        from urllib.parse import parse_qs

        from starlette.responses import RedirectResponse

        body = await read_body(request, 8192)
        form = parse_qs((body or b"").decode("utf-8", "replace"))
        given = (form.get("token") or [""])[0]
        target = safe_next((form.get("next") or ["/"])[0])
        if cfg.token is None or not same(given, cfg.token):
            denied = _page_denied(request, "wrong token", target)
            assert denied is not None
            return denied
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE,
            cfg.token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    async def api_incidents(request: Request) -> Response:
        if denied := _read_denied(request):
            return denied
        from mlsre.incident.model import ACTIVE
        from mlsre.incident.store import IncidentFilter

        everything = request.query_params.get("all") in ("1", "true", "yes")
        rows = await svc.read(
            lambda s: s.rows(IncidentFilter(statuses=() if everything else ACTIVE, limit=500))
        )
        return _json(rows)

    async def api_incident(request: Request) -> Response:
        from mlsre.incident.model import parse_id
        from mlsre.incident.service import show_data

        if denied := _read_denied(request):
            return denied
        try:
            iid = parse_id(request.path_params["ref"])
            events = int(request.query_params.get("events", "10"))
        except (UsageError, ValueError):
            return _error(400, "not an incident id (use INC-12 or 12) or a bad events count")
        try:
            data = await svc.read(lambda s: show_data(s, iid, max(0, min(events, 100_000))))
        except NotFoundError as exc:
            return _error(404, exc.message)
        return _json(data)

    async def page_index(request: Request) -> Response:
        from mlsre.serve import pages

        if denied := _page_denied(request):
            return denied
        html = await svc.read(lambda s: pages.index(s, cfg))
        return HTMLResponse(html)

    async def page_incident(request: Request) -> Response:
        from mlsre.incident.model import parse_id
        from mlsre.serve import pages

        if denied := _page_denied(request):
            return denied
        try:
            iid = parse_id(request.path_params["ref"])
            html = await svc.read(lambda s: pages.incident(s, cfg, iid))
        except (UsageError, NotFoundError) as exc:
            return HTMLResponse(pages.not_found(exc.message), status_code=404)
        return HTMLResponse(html)

    routes: list[Route] = [
        Route("/api/v1/alerts/alertmanager", alertmanager, methods=["POST"]),
        Route("/api/v1/changes", post_change, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/api/v1/incidents", api_incidents, methods=["GET"]),
        Route("/api/v1/incidents/{ref}", api_incident, methods=["GET"]),
        Route("/", page_index, methods=["GET"]),
        Route("/incidents/{ref}", page_incident, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await asyncio.get_running_loop().run_in_executor(None, svc.startup)
        yield
        await asyncio.get_running_loop().run_in_executor(None, svc.shutdown)

    app = Starlette(routes=[timed(r) for r in routes], lifespan=lifespan)
    app.state.service = svc
    return app


def timed(route: Route) -> Route:
    """The same route, its latency observed in ``mlsre_serve_request_duration_seconds``."""
    inner = route.endpoint
    path = route.path

    async def endpoint(request: Request) -> Response:
        svc: Service = request.app.state.service
        start = time.perf_counter()
        try:
            response: Response = await inner(request)
        finally:
            svc.metrics.latency.labels(path, request.method).observe(time.perf_counter() - start)
        return response

    return Route(path, endpoint, methods=list(route.methods or ["GET"]))
