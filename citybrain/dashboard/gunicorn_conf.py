"""gunicorn settings for several dashboard processes
(``gunicorn -c python:citybrain.dashboard.gunicorn_conf``).

Metrics across processes use prometheus-client's multiprocess mode: with
``PROMETHEUS_MULTIPROC_DIR`` set (an empty directory the processes may write), every dashboard
process writes its metric values there, and the gunicorn master serves their sum at
``http://CITYBRAIN_METRICS_HOST:CITYBRAIN_METRICS_PORT+1/metrics`` — one endpoint for the whole
dashboard, whichever process answered the request. Without that directory each process would keep its own
counts, so the master serves nothing and says why.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiproc_dir() -> Path | None:
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


def on_starting(server) -> None:
    """Start from an empty metrics directory: values of processes from a previous run must not add up."""
    directory = multiproc_dir()
    if directory is not None:
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True, exist_ok=True)


def when_ready(server) -> None:
    """The master serves every process's metrics, summed, on the dashboard's metrics port."""
    from prometheus_client import CollectorRegistry, multiprocess

    from citybrain import metrics
    from citybrain.settings import Settings

    settings = Settings()
    if settings.metrics_port is None:
        return
    if multiproc_dir() is None:
        server.log.warning(
            "CITYBRAIN_METRICS_PORT is set but %s is not: dashboard metrics are not served "
            "(each gunicorn process would count alone)",
            MULTIPROC_ENV,
        )
        return
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    endpoint = metrics.start_metrics_server(
        metrics.port_for(settings.metrics_port, "dashboard"), settings.metrics_host, registry
    )
    server.log.info("dashboard metrics of every process on %s", endpoint.url)


def child_exit(server, worker) -> None:
    """A process that exits takes its live gauges with it (its counters stay counted)."""
    if multiproc_dir() is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def post_fork(server, worker) -> None:
    """Each dashboard process logs as every citybrain process does (``citybrain/logs.py``); gunicorn's own
    access and error logs keep gunicorn's format."""
    from citybrain import logs
    from citybrain.settings import Settings

    logs.configure(Settings().log_level)
