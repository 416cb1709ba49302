"""The ASGI app (Starlette): alert intake, JSON API, incident pages, health and metrics.

Blocking store work runs off the event loop: all intake writes on ONE writer thread (its own
connection, so writes queue in memory instead of fighting over the database lock), reads on a
small pool of threads with a connection each.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from mlsre.errors import MlsreError, NotFoundError, StoreError, UsageError
from mlsre.incident.store import JobState, Store, open_store
from mlsre.jsonutil import plain
from mlsre.serve import intake
from mlsre.serve.guard import Rails, Verdict, paused
from mlsre.serve.metrics import ServeMetrics
from mlsre.serve.payload import Notification, PayloadError, parse
from mlsre.serve.writer import IntakeWriter

T = TypeVar("T")
RETRY_AFTER_S = 5
DRAIN_TIMEOUT_S = 10.0


@dataclass
class ServeConfig:
    settings: Any
    store_url: str
    token: str | None
    dry_run: bool
    planner: intake.Planner
    rails: Rails
    workers: int
    max_body_bytes: int
    busy_timeout_s: float = 5.0  # a write waiting longer for the store answers 503
    refresh_s: int = 3


class _Stores:
    """One store connection per thread, opened on first use."""

    def __init__(self, url: str, lock_timeout_s: float | None) -> None:
        self.url = url
        self.lock_timeout_s = lock_timeout_s
        self.local = threading.local()
        self.opened: list[Store] = []
        self._lock = threading.Lock()

    def get(self) -> Store:
        store: Store | None = getattr(self.local, "store", None)
        if store is None:
            store = open_store(self.url)
            if self.lock_timeout_s is not None:
                store.set_lock_timeout(self.lock_timeout_s)
            self.local.store = store
            with self._lock:
                self.opened.append(store)
        return store

    def close(self) -> None:
        with self._lock:
            for s in self.opened:
                s.close()
            self.opened.clear()


class Service:
    def __init__(self, cfg: ServeConfig) -> None:
        from mlsre.serve.worker import WorkerPool

        self.cfg = cfg
        self.metrics = ServeMetrics()
        self.writer: IntakeWriter | None = None
        self.readers = ThreadPoolExecutor(4, thread_name_prefix="mlsre-read")
        self.read_stores = _Stores(cfg.store_url, cfg.busy_timeout_s)
        self.pool = WorkerPool(
            cfg.store_url,
            cfg.settings,
            cfg.rails,
            cfg.workers,
            on_done=self._diagnosis_done,
            on_decision=self._decided,
        )
        self.resumed = 0

    def _diagnosis_done(self, job: Any, note: str) -> None:
        verdict = note if note in ("healthy", "unhealthy", "error", "quit") else "failed"
        self.metrics.diagnoses.labels(verdict).inc()

    def _decided(self, verdict: Verdict) -> None:
        self.metrics.auto_actions.labels("allowed" if verdict.allowed else "blocked").inc()

    async def receive(self, note: Notification) -> intake.IntakeResult:
        assert self.writer is not None, "receive before startup"
        return await asyncio.wrap_future(self.writer.submit(note))

    async def read(self, fn: Callable[[Store], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.readers, lambda: fn(self.read_stores.get()))

    def startup(self) -> None:
        self.writer = IntakeWriter(self.cfg.store_url, self.cfg.planner, self.cfg.busy_timeout_s)
        self.resumed = self.pool.start()

    def shutdown(self) -> None:
        self.pool.stop(DRAIN_TIMEOUT_S)
        if self.writer is not None:
            self.writer.close()
        self.readers.shutdown(wait=True)
        self.read_stores.close()


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def _json(data: Any, status: int = 200) -> Response:
    body = json.dumps(plain(data), ensure_ascii=False, allow_nan=False)
    return Response(body, status_code=status, media_type="application/json")


COOKIE = "mlsre_token"


def _same(given: str, token: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode())


def authorized(request: Request, token: str | None, *, cookie: bool = False) -> bool:
    """The bearer token (constant-time compare); for reads also the login cookie."""
    if token is None:
        return True
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and _same(given.strip(), token):
        return True
    kept = request.cookies.get(COOKIE) if cookie else None
    return kept is not None and _same(kept, token)


def _safe_next(target: str) -> str:
    """Only a path on this server (no open redirect)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


async def read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None when it is larger than ``limit`` (read no further than that)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


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
            out = dict.fromkeys(
                (JobState.QUEUED, JobState.RUNNING, JobState.DONE, JobState.FAILED), 0
            )
            for j in s.jobs():
                out[j.state] = out.get(j.state, 0) + 1
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
        target = _safe_next(next_path or request.url.path)
        return HTMLResponse(pages.login(target, problem), status_code=401)

    async def login(request: Request) -> Response:
        from urllib.parse import parse_qs

        from starlette.responses import RedirectResponse

        body = await read_body(request, 8192)
        form = parse_qs((body or b"").decode("utf-8", "replace"))
        given = (form.get("token") or [""])[0]
        target = _safe_next((form.get("next") or ["/"])[0])
        if cfg.token is None or not _same(given, cfg.token):
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
