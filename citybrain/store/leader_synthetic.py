"""A year of what the leaders' pages read, at Chengdu's scale, written server-side for `citybrain bench
leader`: the case rollups per district and category and per handling unit (hourly and daily), the
hourly risk rollup, a day of one-minute indicator rows, a month of cases (the open ones among them) and
the last hour of raw case events (every period reads its last partial hour raw). Plain storage only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

import psycopg

CASES_PER_DAY = 8_400  # 3.068 million appeals a year
UNITS = 400  # grid handling units
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
    url: str, now: datetime, categories: list[str], days: int = DAYS, echo: Callable[[str], None] = print
) -> dict[str, int]:
    """Write the year server-side; returns rows per table."""
    params = {
        "now": now,
        "days": days,
        "categories": list(categories),
        # 8,400 a day over 20 districts, 10 categories and 24 hours: about 2 per cell and hour
        "per_cell": max(1, round(CASES_PER_DAY / 24 / 20 / len(categories))),
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
