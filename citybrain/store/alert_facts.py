"""What each alert rule type looks at, counted in the database. Rows in, no judgement:
citybrain.alerts.observe turns them into observations."""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg.rows import dict_row

from citybrain.store import health


def _rows(conn: psycopg.Connection, query: str, params: dict) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


def district_levels(conn: psycopg.Connection, window_s: int, now: datetime) -> list[dict]:
    return _rows(
        conn,
        """
        SELECT DISTINCT ON (district) district, level, score FROM indicators
         WHERE window_s = %(w)s AND window_end > %(now)s - interval '10 minutes' AND window_end <= %(now)s
         ORDER BY district, window_end DESC""",
        {"w": window_s, "now": now},
    )


def latest_readings(
    conn: psycopg.Connection, kind: str, at_least: float, lookback_s: float, now: datetime
) -> list[dict]:
    """Each sensor of ``kind``'s newest recent reading, where it is at least ``at_least``."""
    return _rows(
        conn,
        """
        SELECT * FROM (
            SELECT DISTINCT ON (device_id) device_id, district, value FROM readings
             WHERE kind = %(kind)s AND event_time > %(now)s - make_interval(secs => %(lookback)s)
               AND event_time <= %(now)s
             ORDER BY device_id, event_time DESC) latest
         WHERE value >= %(at_least)s""",
        {"kind": kind, "at_least": at_least, "lookback": lookback_s, "now": now},
    )


def camera_down_shares(conn: psycopg.Connection) -> list[dict]:
    return _rows(
        conn,
        """
        SELECT district, count(*) FILTER (WHERE status IN ('offline', 'fault'))::float8 / count(*) AS share
          FROM cameras GROUP BY district""",
        {},
    )


def cameras_offline_since(conn: psycopg.Connection, offline_for_s: float, now: datetime) -> list[dict]:
    return _rows(
        conn,
        """
        SELECT camera_id, district, status, extract(epoch FROM %(now)s - status_since) AS seconds FROM cameras
         WHERE status IN ('offline', 'fault') AND status_since <= %(now)s - make_interval(secs => %(s)s)""",
        {"s": offline_for_s, "now": now},
    )


def cases_unassigned(conn: psycopg.Connection, urgency: str, within_s: float, now: datetime) -> list[dict]:
    return _rows(
        conn,
        """
        SELECT case_id, district, category, extract(epoch FROM %(now)s - opened_at) AS seconds FROM cases
         WHERE status = 'created' AND urgency = %(urgency)s
           AND opened_at <= %(now)s - make_interval(secs => %(s)s)""",
        {"urgency": urgency, "s": within_s, "now": now},
    )


def cases_overdue(conn: psycopg.Connection, now: datetime) -> list[dict]:
    return _rows(
        conn,
        """
        SELECT case_id, district, category, extract(epoch FROM %(now)s - deadline) AS seconds FROM cases
         WHERE status NOT IN ('resolved', 'closed') AND deadline < %(now)s""",
        {"now": now},
    )


def silent_sensors(conn: psycopg.Connection, silent_for_s: float, now: datetime) -> list[dict]:
    """Sensors that reported before but not for ``silent_for_s`` (never-heard sensors are not "silent")."""
    return _rows(
        conn,
        """
        SELECT device_id, district, kind, extract(epoch FROM %(now)s - last_seen) AS seconds FROM sensors
         WHERE last_seen < %(now)s - make_interval(secs => %(s)s)""",
        {"s": silent_for_s, "now": now},
    )


def silent_districts(conn: psycopg.Connection, silent_for_s: float, now: datetime) -> list[dict]:
    """Districts that sent events in the last day but none for ``silent_for_s``."""
    return _rows(
        conn,
        """
        SELECT district, extract(epoch FROM %(now)s - max(bucket) - interval '1 minute') AS seconds FROM (
            SELECT district, bucket FROM readings_1m WHERE bucket > %(now)s - interval '1 day'
            UNION ALL
            SELECT district, bucket FROM camera_status_1m WHERE bucket > %(now)s - interval '1 day'
        ) recent GROUP BY district
        HAVING max(bucket) + interval '1 minute' < %(now)s - make_interval(secs => %(s)s)""",
        {"s": silent_for_s, "now": now},
    )


def storage_jobs(conn: psycopg.Connection) -> list[health.JobHealth]:
    """Every storage job's health: TimescaleDB's policy jobs and the worker's own tasks
    (``maintenance_runs``)."""
    return health.job_health(conn)
