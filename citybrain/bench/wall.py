"""What many wall screens cost over a month of the city's history (`citybrain bench wall`).

A scratch database gets the configured city (95,000 video points and 1,760 sensors by default) and a
month of history (store/synthetic.py), then a real `citybrain dashboard` serves ``screens`` wall screens
that poll it the way browsers do (bench/wall_load.py). Printed: the server time of a refresh (p50, p95),
the bytes of a refresh and of the first answer, and what each of the wall's datasets costs the database
once per interval (each read timed on its own, uncached), beside the size of the database it ran on.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from citybrain import accounts
from citybrain.bench.runner import scratch_database
from citybrain.bench.wall_load import wall_screens_cost
from citybrain.dashboard.sources import Sources
from citybrain.geo.city import City
from citybrain.geo.registry import build_registry
from citybrain.runtime.broker import free_port
from citybrain.runtime.supervisor import StartupError, Supervisor
from citybrain.settings import Settings
from citybrain.sim.city_sim import CASE_CATEGORIES
from citybrain.store.migrate import connect, storage_mode
from citybrain.store.registry import seed_city
from citybrain.store.synthetic import MonthShape, database_bytes, fill_month

WALL_USER = "bench-wall"
REFRESH_S = 2.0  # the wall's refresh interval (CITYBRAIN_DASHBOARD_REFRESH_S's default)


class BenchError(Exception):
    """The benchmark cannot run as asked; the message says why."""


def dataset_costs(url: str, rounds: int = 5) -> dict[str, float]:
    """Median milliseconds of one uncached read of each dataset the wall shows."""
    sources = Sources(url, ttl_s=0.0)
    readers = {
        "city": sources.city,
        "alerts": sources.alerts,
        "devices": sources.devices,
        "case_kpis": sources.case_kpis,
    }
    try:
        costs = {}
        for name, reader in readers.items():
            times = []
            for _ in range(rounds):
                reader.invalidate()
                started = time.perf_counter()
                reading = reader.read()
                times.append((time.perf_counter() - started) * 1000)
                if reading.error:
                    raise BenchError(f"reading {name} failed: {reading.error}")
            costs[name] = round(sorted(times)[len(times) // 2], 1)
        return costs
    finally:
        sources.pool.close()


def _wait_for(base: str, supervisor: Supervisor, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        supervisor.check()
        try:
            with urllib.request.urlopen(base + "/login", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise BenchError(f"the dashboard did not answer at {base} within {timeout_s:.0f} s")


def run(
    settings: Settings,
    screens: int,
    refreshes: int,
    shape: MonthShape,
    echo: Callable[[str], None] = print,
) -> dict:
    city = City.load(settings.config_dir)
    cameras, sensors = build_registry(city, settings.cameras, settings.sensors, settings.seed)
    with (
        tempfile.TemporaryDirectory(prefix="citybrain-bench-") as tmp,
        scratch_database(settings.database_url) as url,
    ):
        with connect(url, autocommit=True) as conn:
            if storage_mode(conn) != "plain":
                raise BenchError(
                    "bench wall writes a month of rollups directly, which only plain storage allows;"
                    " point CITYBRAIN_DATABASE_URL at a PostgreSQL without TimescaleDB (or leave it unset)"
                )
        seed_city(url, city, cameras, sensors)
        echo(f"  writing {shape.days} days of history ...")
        started = time.monotonic()
        with connect(url, autocommit=True) as conn:
            rows = fill_month(conn, datetime.now(UTC), CASE_CATEGORIES, shape, echo=echo)
            size = database_bytes(conn)
            password = secrets.token_urlsafe(12)
            accounts.add(conn, WALL_USER, accounts.Role.WALL, password)
        echo(f"  {size / 2**30:.1f} GiB written in {time.monotonic() - started:.0f} s")
        costs = dataset_costs(url)
        echo(
            "  one read of each wall dataset (uncached, ms): "
            + ", ".join(f"{k} {v}" for k, v in costs.items())
        )
        port = free_port()
        env = {
            **os.environ,
            "CITYBRAIN_DATABASE_URL": url,
            "CITYBRAIN_DASHBOARD_PORT": str(port),
            "CITYBRAIN_DASHBOARD_REFRESH_S": str(REFRESH_S),
        }
        env.pop("CITYBRAIN_APP_DATABASE_URL", None)
        supervisor = Supervisor(Path(tmp), env)
        try:
            supervisor.start("dashboard", [sys.executable, "-m", "citybrain", "dashboard"])
            base = f"http://127.0.0.1:{port}"
            _wait_for(base, supervisor)
            echo(f"  {screens} wall screens, {refreshes} refreshes each, every {REFRESH_S:g} s ...")
            cost = wall_screens_cost(base, WALL_USER, password, screens, refreshes, REFRESH_S)
            supervisor.check()
        except StartupError as exc:
            raise BenchError(str(exc)) from None
        finally:
            supervisor.stop_all()
    return {
        "benchmark": "wall",
        "month": {**asdict(shape), "rows": rows, "database_bytes": size},
        "dataset_read_ms": costs,
        "screens": asdict(cost),
    }
