"""Building the service from settings and running it under uvicorn."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlsre.errors import ConfigError, MlsreError, UsageError

TOKEN_ENV = "MLSRE_SERVE_TOKEN"


@dataclass
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 9095
    dry_run: bool = False
    refresh_s: int = 3


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def token_from_env() -> str | None:
    token = os.environ.get(TOKEN_ENV, "").strip()
    return token or None


def check_bind(host: str, token: str | None) -> None:
    if token is None and not is_loopback(host):
        raise UsageError(
            f"refusing to listen on {host} without a token",
            hint=f"set {TOKEN_ENV} (Alertmanager sends it as http_config.authorization), "
            "or listen on 127.0.0.1",
        )


def trigger_map(settings: Any) -> dict[str, str]:
    """alertname -> runbook id, from ``triggers.alerts`` of the runbooks in force."""
    from mlsre.runbook.loader import discover

    out: dict[str, str] = {}
    for entry in discover(settings).in_force():
        rb = entry.runbook
        if rb is None:
            continue
        for name in rb.triggers.alerts:
            out.setdefault(name, rb.id)
    return out


def _check_store(url: str) -> None:
    """Fail at start, in one line, when the store cannot be opened or lacks serve's tables."""
    from mlsre.incident.store import open_store

    store = open_store(url)
    try:
        store.jobs(("running",))
    finally:
        store.close()


def _check_templates(index: int, route: Any) -> None:
    """A template that can never render is a config error at start, not a surprise at 03:00."""
    from jinja2 import TemplateSyntaxError

    from mlsre.runbook.sandbox import environment

    fields = {"title": route.title, **{f"inputs.{k}": v for k, v in route.inputs.items()}}
    for name, text in fields.items():
        try:
            environment().from_string(text)
        except TemplateSyntaxError as exc:
            raise ConfigError(
                f"alerts.routes[{index}] ({route.label(index)}).{name}: template syntax error:"
                f" {exc.message}",
                hint="templates see labels, annotations, group_labels and count",
            ) from None


def build(settings: Any, opts: ServeOptions) -> Any:
    """The ASGI app for these settings (checks the bind address and routes first)."""
    from mlsre.serve.app import ServeConfig, build_app
    from mlsre.serve.guard import Rails
    from mlsre.serve.intake import Planner
    from mlsre.serve.routing import Router
    from mlsre.timeutil import parse_duration

    token = token_from_env()
    check_bind(opts.host, token)
    alerts = settings.alerts
    triggers = trigger_map(settings)
    from mlsre.runbook.loader import discover

    ids = {e.id for e in discover(settings).in_force()}
    for i, route in enumerate(alerts.routes):
        if route.runbook and route.runbook not in ids:
            raise ConfigError(
                f"alerts.routes[{i}] ({route.label(i)}): no runbook '{route.runbook}'",
                hint="see `mlsre runbook list`",
            )
        _check_templates(i, route)
    _check_store(settings.store.url)
    planner = Planner(Router(alerts, triggers), parse_duration(alerts.still_firing_every), settings)
    rails = Rails(
        dry_run=opts.dry_run,
        max_per_model=alerts.auto_mitigation.max_per_model,
        per=parse_duration(alerts.auto_mitigation.per),
    )
    cfg = ServeConfig(
        settings=settings,
        store_url=settings.store.url,
        token=token,
        dry_run=opts.dry_run,
        planner=planner,
        rails=rails,
        workers=alerts.workers,
        max_body_bytes=alerts.max_body_bytes,
        busy_timeout_s=alerts.busy_timeout_s,
        refresh_s=opts.refresh_s,
    )
    return build_app(cfg)


def run(app: Any, opts: ServeOptions, on_ready: Callable[[], None] | None = None) -> None:
    """Serve until SIGTERM/SIGINT: in-flight requests finish, workers stop taking jobs.

    ``on_ready`` is called once the socket is bound (so nobody is told "listening" too early).
    """
    import uvicorn

    class _Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started and on_ready is not None:
                on_ready()

    config = uvicorn.Config(
        app,
        host=opts.host,
        port=opts.port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
        server_header=False,
    )
    server = _Server(config)
    try:
        server.run()
    except SystemExit:  # uvicorn exits 3 (our "bug" code) when it cannot start
        if server.started:
            raise
        server.started = False
    if not server.started:
        raise MlsreError(
            f"cannot listen on {opts.host}:{opts.port}: address in use or not allowed",
            hint="choose another --port, or stop what listens there",
        )
