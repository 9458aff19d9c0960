"""Read queries behind the dashboard. Each takes a connection and returns plain rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import dict_row

ACTIVITY_SQL = """
SELECT d.adcode, d.name_zh, d.name_en, coalesce(e.events, 0) AS events
  FROM districts d
  LEFT JOIN (
        SELECT district, count(*) AS events FROM (
            SELECT district FROM readings WHERE event_time > now() - make_interval(secs => %(window)s)
            UNION ALL
            SELECT district FROM camera_status WHERE event_time > now() - make_interval(secs => %(window)s)
            UNION ALL
            SELECT district FROM case_events WHERE event_time > now() - make_interval(secs => %(window)s)
        ) recent GROUP BY district
  ) e ON e.district = d.adcode
 ORDER BY d.adcode
"""

TOTALS_SQL = """
SELECT
  (SELECT count(*) FROM cameras)                                             AS cameras,
  (SELECT count(*) FROM cameras WHERE status IN ('offline', 'fault'))         AS cameras_down,
  (SELECT count(*) FROM sensors)                                             AS sensors,
  (SELECT count(*) FROM cases WHERE status NOT IN ('resolved', 'closed'))     AS open_cases,
  (SELECT count(*) FROM cases WHERE status NOT IN ('resolved', 'closed')
                                AND urgency = 'emergency')                   AS open_emergencies,
  (SELECT greatest((SELECT max(ingested_at) FROM readings),
                   (SELECT max(ingested_at) FROM camera_status),
                   (SELECT max(ingested_at) FROM case_events)))             AS last_ingested
"""


@dataclass(frozen=True)
class CityTotals:
    cameras: int
    cameras_down: int
    sensors: int
    open_cases: int
    open_emergencies: int
    last_ingested: datetime | None
    events_per_min: float


def district_activity(conn: psycopg.Connection, window_s: float = 60.0) -> list[dict]:
    """Events per district in the last ``window_s`` seconds, every district listed."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(ACTIVITY_SQL, {"window": window_s}).fetchall()


def city_totals(conn: psycopg.Connection, activity: list[dict], window_s: float = 60.0) -> CityTotals:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(TOTALS_SQL).fetchone()
    events = sum(r["events"] for r in activity)
    return CityTotals(**row, events_per_min=events * 60.0 / window_s)
