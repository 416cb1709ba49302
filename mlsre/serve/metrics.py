"""What ``/metrics`` exposes (Prometheus exposition format, via prometheus_client)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ServeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.alerts = Counter(
            "mlsre_serve_alerts_received",
            "Alerts received in webhooks, by status",
            ["status"],
            registry=r,
        )
        self.notifications = Counter(
            "mlsre_serve_notifications",
            "Webhook notifications by outcome (accepted, rejected, unauthorized, busy)",
            ["outcome"],
            registry=r,
        )
        self.opened = Counter(
            "mlsre_serve_incidents_opened", "Incidents opened from alerts", registry=r
        )
        self.folded = Counter(
            "mlsre_serve_duplicates_folded",
            "Alert groups folded into an incident that was already open",
            registry=r,
        )
        self.diagnoses = Counter(
            "mlsre_serve_diagnoses",
            "Automatic diagnoses finished, by verdict (healthy, unhealthy, error, failed)",
            ["verdict"],
            registry=r,
        )
        self.auto_actions = Counter(
            "mlsre_serve_auto_mitigations",
            "Automatic mitigation decisions, by decision (allowed, blocked)",
            ["decision"],
            registry=r,
        )
        self.latency = Histogram(
            "mlsre_serve_request_duration_seconds",
            "HTTP request latency by route",
            ["route", "method"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )
        self.queue = Gauge(
            "mlsre_serve_diagnosis_queue",
            "Diagnosis jobs waiting or running, by state (queued, running)",
            ["state"],
            registry=r,
        )
        self.paused = Gauge(
            "mlsre_serve_automation_paused", "1 while the kill switch is on", registry=r
        )
