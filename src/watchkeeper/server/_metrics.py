"""Prometheus text exposition of what teams already chart: built with prometheus_client's own
registry types, so the format is right by construction."""

from __future__ import annotations

import threading
from collections import Counter as Tally
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from watchkeeper.app import Watchkeeper

_refused: Tally[str] = Tally()
_refused_lock = threading.Lock()


def count_switch_refusal(reason: str) -> None:
    """A kill-switch poll or heartbeat refused (unauthenticated, forbidden, unknown_system).
    Kept in this process's memory: each replica counts what it refused since it started."""
    with _refused_lock:
        _refused[reason] += 1


def render_metrics(watchkeeper: Watchkeeper, now: datetime) -> str:
    registry = CollectorRegistry()
    refused = Counter(
        "watchkeeper_switch_refused",
        "Kill-switch polls and heartbeats this server process refused, by reason: "
        "unauthenticated (a revoked, expired or unknown token), forbidden, unknown_system",
        ["reason"],
        registry=registry,
    )
    with _refused_lock:
        for reason, n in _refused.items():
            refused.labels(reason).inc(n)
    signal = Gauge(
        "watchkeeper_signal_value",
        "Latest value of a runbook signal",
        ["system", "signal"],
        registry=registry,
    )
    incidents = Gauge(
        "watchkeeper_open_incidents",
        "Open incidents by severity",
        ["system", "severity"],
        registry=registry,
    )
    switch = Gauge(
        "watchkeeper_switch_enabled",
        "Kill switch state (1 enabled, 0 disabled)",
        ["system"],
        registry=registry,
    )
    vacuum = Gauge(
        "watchkeeper_vacuum_score",
        "Ownership vacuum score (100 = fully looked after)",
        ["system"],
        registry=registry,
    )
    failures = Gauge(
        "watchkeeper_notification_failures",
        "Delivery attempts that failed",
        ["system", "channel"],
        registry=registry,
    )
    taken = Counter(
        "watchkeeper_ingested_items",
        "Items this server process took in, by outcome: stored, duplicate, rejected (kept as "
        "a dead letter), unknown_system (e.g. OTLP spans naming no applied system)",
        ["system", "kind", "source", "outcome"],
        registry=registry,
    )
    for (name, kind, source, outcome), n in watchkeeper.ingest.tally().items():
        taken.labels(name, kind, source, outcome).inc(n)
    for report in watchkeeper.charter.vacuum(now):
        vacuum.labels(report.system).set(report.score)
    with watchkeeper.store.read() as unit:
        for record in unit.systems():
            for name in record.manifest["spec"]["runbook"]["signals"]:
                series = unit.monitoring.signal_series(record.name, name)
                values = [v for _, _, v, _ in series if v is not None]
                if values:
                    signal.labels(record.name, name).set(values[-1])
            state = watchkeeper.switch.state(record.name)
            switch.labels(record.name).set(1 if state.state == "enabled" else 0)
        for incident in unit.alerting.incidents(open_only=True, limit=10_000):
            incidents.labels(incident.system, incident.severity).inc()
        for delivery in unit.alerting.deliveries(limit=1_000_000):
            if delivery.status != "ok":
                failures.labels(delivery.system, delivery.channel).inc()
    return generate_latest(registry).decode()
