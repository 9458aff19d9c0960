"""Prometheus metrics of every citybrain process, and the HTTP endpoint that exposes them.

One definition per metric, here; processes record through the small helpers
below and call ``start_metrics_server`` once at start-up when
``CITYBRAIN_METRICS_PORT`` is set. The worker listens on that port, the
dashboard on the next and the simulator on the one after (``port_for``), so
`citybrain up` can run all three on one host; run several workers on one host
with a port each.

Label values are bounded: topics, partitions, dead-letter reasons, tick
names, storage jobs, notification channels, dashboard sources — never
event, device or case ids.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server

ROLE_OFFSETS = {"worker": 0, "dashboard": 1, "simulator": 2}

# --- stream worker ---------------------------------------------------------
EVENTS_RECEIVED = Counter("citybrain_events_received", "Events taken from an input topic.", ["topic"])
EVENTS_STORED = Counter(
    "citybrain_events_stored",
    "Rows newly stored from an input topic (replayed duplicates are not counted).",
    ["topic"],
)
DEAD_LETTERS = Counter("citybrain_dead_letters", "Events sent to the dead-letter topic.", ["topic", "reason"])
LATE_EVENTS = Counter("citybrain_late_events", "Events stored after their risk window was final.", ["topic"])
BATCH_EVENTS = Histogram(
    "citybrain_batch_events",
    "Events per batch written.",
    ["topic"],
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000, 20000, 40000),
)
BATCH_WRITE_SECONDS = Histogram(
    "citybrain_batch_write_seconds",
    "Seconds to write one batch to the database (COPY, insert, rollups, fold, commit).",
    ["topic"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CONSUMER_LAG = Gauge(
    "citybrain_consumer_lag",
    "Messages between the consumer's position and the end of the partition.",
    ["topic", "partition"],
)
TICK_SECONDS = Histogram(
    "citybrain_tick_seconds",
    "Seconds taken by a periodic task of the worker.",
    ["tick"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
NOTIFICATIONS = Counter(
    "citybrain_notifications", "Alert notifications by channel and outcome.", ["channel", "outcome"]
)

# --- storage jobs (TimescaleDB background jobs and citybrain's own tasks; store/health.py) ------
_JOB_LABELS = ["source", "job", "kind", "relation"]
JOB_HEALTHY = Gauge(
    "citybrain_storage_job_healthy", "1 when the job's last run succeeded and it is not overdue.", _JOB_LABELS
)
JOB_FAILING = Gauge("citybrain_storage_job_failing", "1 when the job's last run failed.", _JOB_LABELS)
JOB_OVERDUE = Gauge(
    "citybrain_storage_job_overdue", "1 when the job has not succeeded for twice its schedule.", _JOB_LABELS
)
JOB_FAILURES = Gauge(
    "citybrain_storage_job_failures", "Failed runs of the job, as the database counts them.", _JOB_LABELS
)
JOB_SUCCESS_AGE = Gauge(
    "citybrain_storage_job_last_success_age_seconds",
    "Seconds since the job last succeeded (NaN: never).",
    _JOB_LABELS,
)
_JOB_GAUGES = (JOB_HEALTHY, JOB_FAILING, JOB_OVERDUE, JOB_FAILURES, JOB_SUCCESS_AGE)

# --- dashboard and simulator ---------------------------------------------------
DASHBOARD_QUERY_SECONDS = Histogram(
    "citybrain_dashboard_query_seconds",
    "Seconds a dashboard reader's database query took.",
    ["source"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
DASHBOARD_CACHE = Counter(
    "citybrain_dashboard_cache",
    "Dashboard reader lookups answered from the shared cache (hit), the database (miss), or the previous"
    " reading while another request queries (stale).",
    ["source", "result"],
)
SIM_EVENTS_SENT = Counter("citybrain_sim_events_sent", "Events the simulator published.", ["topic"])


def record_batch(topic: str, received: int, stored: int, write_seconds: float) -> None:
    """One batch of ``topic``: events taken, rows newly stored, and how long the write took."""
    EVENTS_RECEIVED.labels(topic).inc(received)
    EVENTS_STORED.labels(topic).inc(stored)
    BATCH_EVENTS.labels(topic).observe(received)
    BATCH_WRITE_SECONDS.labels(topic).observe(write_seconds)


def record_dead_letters(topic: str, reasons: Iterable[str]) -> None:
    for reason in reasons:
        DEAD_LETTERS.labels(topic, reason).inc()


def record_late(topic: str, n: int) -> None:
    if n:
        LATE_EVENTS.labels(topic).inc(n)


def set_consumer_lag(lags: Mapping[tuple[str, int], int]) -> None:
    """The lag of every partition this process consumes now; partitions no longer assigned disappear."""
    CONSUMER_LAG.clear()
    for (topic, partition), lag in lags.items():
        CONSUMER_LAG.labels(topic, str(partition)).set(max(lag, 0))


class _Job(Protocol):  # store.health.JobHealth, without importing the store here
    source: str
    job: str
    kind: str
    relation: str | None
    overdue: bool
    total_failures: int
    last_success_age_s: float | None

    @property
    def failing(self) -> bool: ...


def observe_job_health(jobs: Iterable[_Job]) -> None:
    """Replace the storage-job gauges with ``jobs`` (from ``store.health.job_health``)."""
    for gauge in _JOB_GAUGES:
        gauge.clear()
    for job in jobs:
        labels = (job.source, job.job, job.kind, job.relation or "")
        JOB_HEALTHY.labels(*labels).set(0 if job.failing or job.overdue else 1)
        JOB_FAILING.labels(*labels).set(1 if job.failing else 0)
        JOB_OVERDUE.labels(*labels).set(1 if job.overdue else 0)
        JOB_FAILURES.labels(*labels).set(job.total_failures)
        JOB_SUCCESS_AGE.labels(*labels).set(
            math.nan if job.last_success_age_s is None else job.last_success_age_s
        )


def time_tick(name: str):
    """Context manager timing one run of a periodic task: ``with time_tick("risk"): ...``."""
    return TICK_SECONDS.labels(name).time()


class MetricsError(Exception):
    """The metrics endpoint could not be started; the message names the address and the setting."""


@dataclass
class MetricsServer:
    host: str
    port: int
    _httpd: object
    _thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def port_for(base_port: int | None, role: str) -> int | None:
    """The port ``role`` (worker, dashboard, simulator) listens on, given CITYBRAIN_METRICS_PORT."""
    return None if base_port is None else base_port + ROLE_OFFSETS[role]


def start_metrics_server(port: int, host: str = "127.0.0.1", registry=REGISTRY) -> MetricsServer:
    """Serve ``/metrics`` (Prometheus text format) on host:port from a daemon thread; port 0 picks a free
    one."""
    try:
        httpd, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise MetricsError(
            f"metrics endpoint {host}:{port} could not start ({exc.strerror or exc}); "
            "set CITYBRAIN_METRICS_PORT to a free port"
        ) from None
    return MetricsServer(host, httpd.server_port, httpd, thread)
