"""The read API behind the dashboard: each query takes a connection and returns plain data.

They read the same tables and rollup names in TimescaleDB and plain mode.
Freshness (``last_ingested``) comes from ``ingest_progress``, which the batch
writer keeps in each batch's transaction: a read of three rows, not a scan of
every chunk's ``ingested_at``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from citybrain.store.writer import RESOLUTIONS

ACTIVITY_SQL = """
SELECT d.adcode, d.name_zh, d.name_en, coalesce(e.events, 0) AS events
  FROM districts d
  LEFT JOIN (
        SELECT district, count(*) AS events FROM (
            SELECT district FROM readings
             WHERE event_time > coalesce(%(at)s, now()) - make_interval(secs => %(window)s)
              AND event_time <= coalesce(%(at)s, now())
            UNION ALL
            SELECT district FROM camera_status
             WHERE event_time > coalesce(%(at)s, now()) - make_interval(secs => %(window)s)
              AND event_time <= coalesce(%(at)s, now())
            UNION ALL
            SELECT district FROM case_events
             WHERE event_time > coalesce(%(at)s, now()) - make_interval(secs => %(window)s)
              AND event_time <= coalesce(%(at)s, now())
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
  (SELECT count(*) FROM alerts WHERE status = 'active' AND NOT resolved)     AS active_alerts,
  (SELECT count(*) FROM alerts WHERE NOT resolved AND NOT acknowledged
                                 AND severity = 'critical' AND muted IS NULL) AS critical_unacked,
  (SELECT count(*) FROM alerts WHERE status = 'cleared' AND NOT resolved
                                 AND NOT acknowledged)                       AS cleared_unacked,
  (SELECT max(last_ingested_at) FROM ingest_progress)                        AS last_ingested
"""


@dataclass(frozen=True)
class CityTotals:
    cameras: int
    cameras_down: int
    sensors: int
    open_cases: int
    open_emergencies: int
    active_alerts: int
    critical_unacked: int
    last_ingested: datetime | None
    events_per_min: float
    # cleared by themselves but not yet acknowledged: still in the queue, and critical ones keep the
    # wall's alert figure red (critical_unacked counts them) until an officer has seen them
    cleared_unacked: int = 0


def district_activity(
    conn: psycopg.Connection, window_s: float = 60.0, at: datetime | None = None
) -> list[dict]:
    """Events per district in the ``window_s`` seconds up to ``at`` (default now), every district listed."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(ACTIVITY_SQL, {"window": window_s, "at": at}).fetchall()


def city_totals(conn: psycopg.Connection, activity: list[dict], window_s: float = 60.0) -> CityTotals:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(TOTALS_SQL).fetchone()
    events = sum(r["events"] for r in activity)
    return CityTotals(**row, events_per_min=events * 60.0 / window_s)


# sensors reporting, live: the writer keeps each sensor's newest reading time in sensors.last_seen (in the
# batch's transaction), so the wall's every-interval read is an index scan of 1,760 rows, not a scan of the
# last 15 minutes of readings (about a million rows at Chengdu's live rate)
SENSORS_REPORTING_LIVE = """
SELECT district, count(*) AS total,
       count(*) FILTER (WHERE last_seen > now() - make_interval(secs => %(silent_after)s)) AS reporting
  FROM sensors GROUP BY district"""
# ... and as of a past moment (replay), from the readings stored up to then
SENSORS_REPORTING_AT = """
SELECT s.district, count(*) AS total, count(r.device_id) AS reporting
  FROM sensors s
  LEFT JOIN (SELECT DISTINCT device_id FROM readings
              WHERE event_time > %(at)s - make_interval(secs => %(silent_after)s)
                AND event_time <= %(at)s) r USING (device_id)
 GROUP BY s.district"""
DEVICE_STATUS_SQL = """
SELECT d.adcode AS district,
       coalesce(c.online, 0) AS cameras_online, coalesce(c.offline, 0) AS cameras_offline,
       coalesce(c.fault, 0) AS cameras_fault, coalesce(c.unknown, 0) AS cameras_unknown,
       coalesce(s.total, 0) AS sensors, coalesce(s.reporting, 0) AS sensors_reporting,
       coalesce(s.total, 0) - coalesce(s.reporting, 0) AS sensors_silent
  FROM districts d
  LEFT JOIN (SELECT district,
                    count(*) FILTER (WHERE status = 'online') AS online,
                    count(*) FILTER (WHERE status = 'offline') AS offline,
                    count(*) FILTER (WHERE status = 'fault') AS fault,
                    count(*) FILTER (WHERE status IS NULL) AS unknown
               FROM cameras GROUP BY district) c ON c.district = d.adcode
  LEFT JOIN ({sensors}) s ON s.district = d.adcode
 ORDER BY d.adcode
"""


CASE_KPIS_SQL = """
WITH c AS (
    SELECT *, status NOT IN ('resolved', 'closed') AS open,
           coalesce(resolved_at, closed_at) AS done_at
      FROM cases_sound  -- impossible lifecycles are findings, not KPIs
     -- only the period's cases and the open ones count: both predicates are indexed (migration 020), so
     -- "today" stays a small read however many months of cases the table holds
     WHERE opened_at >= %(since)s OR status NOT IN ('resolved', 'closed')
)
SELECT district,
       count(*) FILTER (WHERE opened_at >= %(since)s) AS opened,
       count(*) FILTER (WHERE opened_at >= %(since)s AND done_at IS NOT NULL) AS handled,
       count(*) FILTER (WHERE opened_at >= %(since)s AND done_at <= deadline) AS on_time,
       count(*) FILTER (WHERE opened_at >= %(since)s AND satisfaction IS NOT NULL) AS rated,
       count(*) FILTER (WHERE opened_at >= %(since)s AND satisfaction >= 4) AS satisfied,
       count(*) FILTER (WHERE open) AS open_cases,
       count(*) FILTER (WHERE open AND deadline < %(now)s) AS overdue,
       count(*) FILTER (WHERE open AND urgency = 'emergency') AS open_emergencies
  FROM c
 GROUP BY GROUPING SETS ((district), ())
"""

SERIES_MEASURES = {
    "readings": "sum(n)::bigint AS n, sum(value_sum) / nullif(sum(n), 0) AS value_avg,"
    " min(value_min) AS value_min, max(value_max) AS value_max",
    "camera_status": "sum(reports)::bigint AS reports, sum(down)::bigint AS down",
    "case_events": "sum(created)::bigint AS created, sum(emergencies)::bigint AS emergencies,"
    " sum(resolved)::bigint AS resolved, sum(closed)::bigint AS closed",
}


@dataclass(frozen=True)
class CaseKpis:
    district: str | None  # None: the whole city
    opened: int
    resolution_rate: float | None  # handled (resolved or closed) / opened
    on_time_rate: float | None  # handled by the deadline / handled
    satisfaction_rate: float | None  # satisfied (4-5) / rated
    open_cases: int
    overdue: int
    open_emergencies: int


def device_status(
    conn: psycopg.Connection, at: datetime | None = None, silent_after_s: float = 900.0
) -> list[dict]:
    """Cameras by status and sensors reporting vs silent (no reading for ``silent_after_s``), per district,
    now (``at`` None) or as the stored readings say at ``at``."""
    sensors = sql.SQL(SENSORS_REPORTING_LIVE if at is None else SENSORS_REPORTING_AT)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            sql.SQL(DEVICE_STATUS_SQL).format(sensors=sensors), {"at": at, "silent_after": silent_after_s}
        ).fetchall()


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def case_kpis(conn: psycopg.Connection, since: datetime, now: datetime) -> dict[str | None, CaseKpis]:
    """Case-handling KPIs for cases opened since ``since``, per district and (key None) for the city.

    Open, overdue and emergency counts are as of ``now`` whenever the case was opened.
    """
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(CASE_KPIS_SQL, {"since": since, "now": now}).fetchall()
    return {
        r["district"]: CaseKpis(
            district=r["district"],
            opened=r["opened"],
            resolution_rate=_rate(r["handled"], r["opened"]),
            on_time_rate=_rate(r["on_time"], r["handled"]),
            satisfaction_rate=_rate(r["satisfied"], r["rated"]),
            open_cases=r["open_cases"],
            overdue=r["overdue"],
            open_emergencies=r["open_emergencies"],
        )
        for r in rows
    }


def district_series(
    conn: psycopg.Connection,
    table: str,
    district: str,
    start: datetime,
    end: datetime,
    resolution: str = "1m",
    kind: str | None = None,
) -> list[dict]:
    """One district's rollup of ``table`` (readings, camera_status, case_events) per bucket in [start, end).

    Readings are summed over all kinds unless ``kind`` is given.
    """
    if table not in SERIES_MEASURES:
        raise ValueError(f"no rollup for {table!r}; choose one of {sorted(SERIES_MEASURES)}")
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {tuple(RESOLUTIONS)}, not {resolution!r}")
    if kind is not None and table != "readings":
        raise ValueError("kind applies to readings only")
    query = sql.SQL(
        "SELECT bucket, {measures} FROM {view} WHERE district = %(district)s"
        " AND bucket >= %(start)s AND bucket < %(end)s {kind} GROUP BY bucket ORDER BY bucket"
    ).format(
        measures=sql.SQL(SERIES_MEASURES[table]),
        view=sql.Identifier(f"{table}_{resolution}"),
        kind=sql.SQL("AND kind = %(kind)s" if kind else ""),
    )
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, {"district": district, "start": start, "end": end, "kind": kind}).fetchall()


LATEST_RISK_SQL = """
SELECT DISTINCT ON (i.district) i.district, d.name_zh, d.name_en, i.window_end, i.score, i.level,
       i.final, i.floor, i.sub_values, i.contributions
  FROM indicators i JOIN districts d ON d.adcode = i.district
 WHERE i.window_s = %(window_s)s
   AND i.window_end > coalesce(%(at)s, now()) - make_interval(secs => %(max_age)s)
   AND i.window_end <= coalesce(%(at)s, now()) + interval '1 minute'
 ORDER BY i.district, i.window_end DESC
"""


def latest_risk(
    conn: psycopg.Connection, window_s: int, max_age_s: float = 600.0, at: datetime | None = None
) -> list[dict]:
    """Each district's newest indicator row for ``window_s`` (provisional or final) at ``at`` (default now),
    if recent then."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(LATEST_RISK_SQL, {"window_s": window_s, "max_age": max_age_s, "at": at}).fetchall()


def risk_series(
    conn: psycopg.Connection, district: str, window_s: int, start: datetime, end: datetime
) -> list[dict]:
    """A district's final scores, levels and contributions over [start, end)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT window_end, score, level, contributions FROM indicators"
            " WHERE district = %s AND window_s = %s AND final AND window_end >= %s AND window_end < %s"
            " ORDER BY window_end",
            (district, window_s, start, end),
        ).fetchall()


def late_event_counts(conn: psycopg.Connection, since: datetime) -> dict[str, int]:
    """Events per topic that arrived after their window was final, since ``since``."""
    rows = conn.execute(
        "SELECT topic, sum(n)::bigint FROM late_events WHERE bucket >= %s GROUP BY topic", (since,)
    ).fetchall()
    return dict(rows)
