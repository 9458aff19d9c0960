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
from citybrain.store.registry import seed_city

CASES_PER_DAY = 8_400
UNITS = 400
DAYS = 365

# :now, :days, :categories, :per_cell (appeals per district, category and hour) are bound as parameters
STATEMENTS = {
    "case_kpis_1h": """
        INSERT INTO case_kpis_1h
        SELECT b, d.adcode, c, %(per_cell)s, 0, %(per_cell)s, floor(%(per_cell)s * 0.9),
               floor(%(per_cell)s * 0.8), floor(%(per_cell)s * 0.72)
          FROM districts d, unnest(%(categories)s::text[]) c,
               generate_series(date_trunc('hour', %(now)s) - make_interval(days => %(days)s),
                               date_trunc('hour', %(now)s) - interval '1 hour', interval '1 hour') b""",
    "case_kpis_1d": """
        INSERT INTO case_kpis_1d
        SELECT date_bin('1 day', bucket, TIMESTAMPTZ '2000-01-01 00:00:00+00'), district, category,
               sum(received), sum(emergencies), sum(handled), sum(on_time), sum(rated), sum(satisfied)
          FROM case_kpis_1h GROUP BY 1, 2, 3""",
    "case_units_1h": """
        INSERT INTO case_units_1h
        SELECT b, ds.codes[1 + u %% cardinality(ds.codes)], 'grid-' || lpad(u::text, 3, '0'), 1, 1, 1, 1, 1
          FROM (SELECT array_agg(adcode ORDER BY adcode) AS codes FROM districts) ds,
               generate_series(1, %(units)s) u,
               generate_series(date_trunc('hour', %(now)s) - make_interval(days => %(days)s),
                               date_trunc('hour', %(now)s) - interval '1 hour', interval '1 hour') b""",
    "case_units_1d": """
        INSERT INTO case_units_1d
        SELECT date_bin('1 day', bucket, TIMESTAMPTZ '2000-01-01 00:00:00+00'), district, assignee,
               sum(assigned), sum(handled), sum(on_time), sum(rated), sum(satisfied)
          FROM case_units_1h GROUP BY 1, 2, 3""",
    "indicators_1h": """
        INSERT INTO indicators_1h
        SELECT b, d.adcode, w, 60, 600.0, 30.0, 1,
               '{"camera_offline_ratio": 120.0, "case_pressure": 300.0, "open_emergencies": 180.0}'::jsonb
          FROM districts d, unnest(ARRAY[60, 900]) w,
               generate_series(date_trunc('hour', %(now)s) - make_interval(days => %(days)s),
                               date_trunc('hour', %(now)s) - interval '1 hour', interval '1 hour') b""",
    "indicators": """
        INSERT INTO indicators (window_end, district, window_s, score, level, final, sub_values,
                                contributions)
        SELECT b, d.adcode, 900, 10.0, 'normal', true, '{}'::jsonb,
               '{"camera_offline_ratio": 2.0, "case_pressure": 5.0, "open_emergencies": 3.0}'::jsonb
          FROM districts d,
               generate_series(date_trunc('minute', %(now)s) - interval '1 day',
                               date_trunc('minute', %(now)s), interval '1 minute') b""",
    "cases": """
        INSERT INTO cases (case_id, district, category, urgency, status, deadline, assignee, opened_at,
                           resolved_at, last_event_time)
        SELECT 'case-' || g, ds.codes[1 + g %% cardinality(ds.codes)], (%(categories)s::text[])[1 + g %% 10],
               'normal', CASE WHEN g %% 10 = 0 THEN 'assigned' ELSE 'resolved' END,
               o + interval '5 days', 'grid-' || lpad((g %% %(units)s)::text, 3, '0'), o,
               CASE WHEN g %% 10 <> 0 THEN o + interval '2 days' END, o
          FROM (SELECT array_agg(adcode ORDER BY adcode) AS codes FROM districts) ds,
               generate_series(1, %(cases_in_month)s) g,
               LATERAL (SELECT %(now)s - make_interval(secs => g * 86400.0 * 30 / %(cases_in_month)s))
                   AS t(o)""",
    "case_events": """
        INSERT INTO case_events (event_id, event_time, case_id, district, type, category, urgency, deadline)
        SELECT gen_random_uuid(), %(now)s - make_interval(secs => g * 3600.0 / %(per_hour)s), 'live-' || g,
               ds.codes[1 + g %% cardinality(ds.codes)],
               'created', (%(categories)s::text[])[1 + g %% 10], 'normal', %(now)s + interval '1 day'
          FROM (SELECT array_agg(adcode ORDER BY adcode) AS codes FROM districts) ds,
               generate_series(1, %(per_hour)s) g""",
}


def fill_year(
    url: str, now: datetime, days: int = DAYS, echo: Callable[[str], None] = print
) -> dict[str, int]:
    """Write the year server-side; returns rows per table."""
    params = {
        "now": now,
        "days": days,
        "categories": list(CASE_CATEGORIES),
        # 8,400 a day over 20 districts, 10 categories and 24 hours: about 2 per cell and hour
        "per_cell": max(1, round(CASES_PER_DAY / 24 / 20 / len(CASE_CATEGORIES))),
        "units": UNITS,
        "cases_in_month": CASES_PER_DAY * 30,
        "per_hour": CASES_PER_DAY // 24,
    }
    rows = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for table, statement in STATEMENTS.items():
            started = time.perf_counter()
            rows[table] = conn.execute(statement, params).rowcount
            echo(f"  {table}: {rows[table]:,} rows in {time.perf_counter() - started:.1f} s")
        conn.execute("ANALYZE")
    return rows


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
    rows = fill_year(url, now, days, echo)
    costs = read_costs(url, now, city.tz)
    return {"days": days, "rows": rows, "read_ms": costs}
