"""What the leaders' pages cost the database over a year of Chengdu's cases (`citybrain bench leader`).

A scratch database gets the city and a year of what the leaders' pages read, at Chengdu's scale (3.068
million appeals a year, about 8,400 a day), written server-side: the case rollups per district and
category (hourly and daily), per handling unit (400 grid units, hourly and daily), the hourly risk
indicators, a day of one-minute indicator rows, the last hour of raw case events (the partial hour every
period reads raw) and the open cases. Then each of the pages' reads runs uncached a few times and its
median time is printed — the year view of /cases is the one that must stay small.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg

from citybrain.dashboard.leader_sources import period_bounds
from citybrain.geo.city import City
from citybrain.geo.registry import build_registry
from citybrain.sim.city_sim import CASE_CATEGORIES
from citybrain.store import leader, queries
from citybrain.store.leader_synthetic import DAYS, fill_year
from citybrain.store.registry import seed_city


def read_costs(url: str, now: datetime, tz, rounds: int = 5) -> dict[str, float]:
    """Median milliseconds of each read of the leaders' pages, uncached."""
    district = "510104"

    def period(name):
        return period_bounds(name, now, tz)

    reads: dict[str, Callable[[psycopg.Connection], object]] = {
        "cases_today": lambda c: leader.case_period(c, *period("today")),
        "cases_month": lambda c: leader.case_period(c, *period("month")),
        "cases_year": lambda c: leader.case_period(c, *period("year")),
        "units_year": lambda c: leader.unit_period(c, *period("year")),
        "district_30d_baseline": lambda c: leader.case_period(
            c, now - timedelta(days=150), now - timedelta(days=30)
        ),
        "trend_year_daily": lambda c: leader.case_trend(c, *period("year"), "1d"),
        "open_cases_now": lambda c: leader.open_cases_at(c, now),
        "open_cases_a_month_ago": lambda c: leader.open_cases_at(c, now - timedelta(days=30)),
        "risk_map_now": lambda c: queries.latest_risk(c, 900, at=now),
        "risk_map_worst_7d": lambda c: leader.risk_over(c, 900, now - timedelta(days=7), now),
        "risk_series_24h_1m": lambda c: leader.risk_series_1m(c, district, 900, now - timedelta(days=1), now),
        "risk_series_30d_1h": lambda c: leader.risk_series_1h(
            c, district, 900, now - timedelta(days=30), now
        ),
    }
    costs = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for name, read in reads.items():
            times = []
            for _ in range(rounds):
                started = time.perf_counter()
                read(conn)
                times.append((time.perf_counter() - started) * 1000)
            costs[name] = round(statistics.median(times), 1)
    return costs


def run(settings, url: str, days: int = DAYS, echo: Callable[[str], None] = print) -> dict:
    city = City.load(settings.config_dir)
    cameras, sensors = build_registry(city, 1_000, 100, 1)
    seed_city(url, city, cameras, sensors)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    echo(f"writing {days} days of case and risk rollups at Chengdu's scale ...")
    rows = fill_year(url, now, list(CASE_CATEGORIES), days, echo)
    costs = read_costs(url, now, city.tz)
    return {"days": days, "rows": rows, "read_ms": costs}
