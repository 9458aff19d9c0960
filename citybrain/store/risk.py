"""Risk inputs counted in the database per window, and indicator rows written back.

One query per window gathers every district's raw figures (the video points
are read once a tick for all its windows); scoring itself is pure
(citybrain.risk.score). Indicator rows are upserted while the window is open
and never touched once final.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from psycopg.rows import dict_row

from citybrain.risk.config import RiskConfig
from citybrain.risk.score import Assessment, DistrictInputs
from citybrain.store.leader import roll_up_final

# Sensors heard and sensors over their threshold come from the writer's per-minute rows (sensor_minutes,
# migration 024) for a range's whole minutes and from raw readings only for its partial minutes at either
# end (see ``whole_minutes``): the same answer as reading every raw reading, at most one row per sensor and
# minute read.
INPUTS_SQL = """
WITH thresholds AS (
    SELECT * FROM unnest(%(kinds)s::text[], %(limits)s::float8[]) AS t(kind, threshold)
), heard AS (
    SELECT device_id FROM sensor_minutes
     WHERE bucket >= %(heard_from)s AND bucket < %(heard_to)s
    UNION
    SELECT device_id FROM readings
     WHERE event_time >= %(silent_since)s AND event_time < %(heard_from)s
        OR event_time >= %(heard_to)s AND event_time < %(end)s
), over AS (
    SELECT m.device_id FROM sensor_minutes m
      JOIN sensors s USING (device_id) JOIN thresholds t ON t.kind = s.kind
     WHERE m.bucket >= %(over_from)s AND m.bucket < %(over_to)s AND m.peak > t.threshold
    UNION
    SELECT r.device_id FROM readings r JOIN thresholds t ON t.kind = r.kind
     WHERE (r.event_time >= %(start)s AND r.event_time < %(over_from)s
            OR r.event_time >= %(over_to)s AND r.event_time < %(end)s)
       AND r.value > t.threshold
), sens AS (
    SELECT s.district, s.kind, count(*) AS total,
           count(*) FILTER (WHERE h.device_id IS NULL) AS silent,
           count(o.device_id) AS exceeding
      FROM sensors s
      LEFT JOIN heard h USING (device_id)
      LEFT JOIN over o USING (device_id)
     GROUP BY s.district, s.kind
), new_cases AS (
    SELECT district, count(*) AS n FROM case_events
     WHERE type = 'created' AND event_time >= %(start)s AND event_time < %(end)s GROUP BY district
), open_cases AS (
    SELECT district,
           count(*) FILTER (WHERE urgency = 'emergency') AS emergencies,
           count(*) FILTER (WHERE deadline < %(end)s) AS overdue
      FROM cases
     WHERE status NOT IN ('resolved', 'closed') AND coalesce(opened_at, last_event_time) < %(end)s
     GROUP BY district
), hot AS (
    SELECT district, count(*) AS n FROM hotspots
     WHERE opened_at < %(end)s AND (ended_at IS NULL OR ended_at > %(start)s) AND merged_into IS NULL
     GROUP BY district
), history AS (
    SELECT district, sum(created)::float8 AS created FROM case_events_1h
     WHERE bucket = ANY(%(history_buckets)s) GROUP BY district
)
SELECT d.adcode AS district,
       coalesce((SELECT jsonb_object_agg(kind, total) FROM sens WHERE sens.district = d.adcode), '{}')
           AS sensors,
       coalesce((SELECT sum(silent) FROM sens WHERE sens.district = d.adcode), 0)::bigint AS sensors_silent,
       coalesce((SELECT jsonb_object_agg(kind, exceeding) FROM sens WHERE sens.district = d.adcode), '{}')
           AS exceeding,
       coalesce(n.n, 0) AS new_cases,
       coalesce(o.emergencies, 0) AS open_emergencies, coalesce(o.overdue, 0) AS overdue,
       coalesce(h.created, 0) AS history_created, coalesce(hot.n, 0) AS hotspots
  FROM districts d
  LEFT JOIN new_cases n ON n.district = d.adcode
  LEFT JOIN open_cases o ON o.district = d.adcode
  LEFT JOIN history h ON h.district = d.adcode
  LEFT JOIN hot ON hot.district = d.adcode
 ORDER BY d.adcode
"""

HISTORY_WEEKS_SQL = """
SELECT count(DISTINCT bucket) FROM case_events_1h WHERE bucket = ANY(%(history_buckets)s)
"""


def history_buckets(end: datetime, weeks: int) -> list[datetime]:
    """The same hour of the week as ``end``'s hour, in each of the previous ``weeks`` weeks."""
    hour = end.replace(minute=0, second=0, microsecond=0)
    if hour == end:  # a window ending on the hour belongs to the hour before
        hour -= timedelta(hours=1)
    return [hour - timedelta(weeks=w) for w in range(1, weeks + 1)]


CAMERAS_SQL = """
SELECT district, count(*) AS total,
       coalesce(array_agg(status_since ORDER BY status_since)
                FILTER (WHERE status IN ('offline', 'fault') AND status_since IS NOT NULL), '{}')
           AS down_since
  FROM cameras GROUP BY district
"""


@dataclass(frozen=True)
class CameraCounts:
    """Each district's video points, and since when each of its down ones is down (sorted).

    Read once a tick (95,000 cameras) and counted for each window's end, instead of once a window."""

    total: dict[str, int]
    down_since: dict[str, list[datetime]]

    @classmethod
    def read(cls, conn: psycopg.Connection) -> CameraCounts:
        rows = conn.execute(CAMERAS_SQL).fetchall()
        return cls({d: n for d, n, _ in rows}, {d: since for d, _, since in rows})

    def down(self, district: str, end: datetime) -> int:
        """Video points of the district down since before ``end``."""
        return bisect_left(self.down_since.get(district, []), end)


def whole_minutes(lo: datetime, hi: datetime) -> tuple[datetime, datetime]:
    """The whole minutes [first, last) inside [lo, hi), read from per-minute rows; [lo, first) and [last, hi)
    are read from raw rows. With no whole minute inside, first = last = hi: all of it raw."""
    last = hi.replace(second=0, microsecond=0)
    first = lo.replace(second=0, microsecond=0)
    if first < lo:
        first += timedelta(minutes=1)
    return (first, last) if first < last else (hi, hi)


def gather(
    conn: psycopg.Connection,
    start: datetime,
    end: datetime,
    cfg: RiskConfig,
    cameras: CameraCounts | None = None,
) -> dict[str, DistrictInputs]:
    """Every district's raw figures for the window [start, end); ``cameras`` as read for this tick."""
    cameras = cameras or CameraCounts.read(conn)
    silent_since = end - timedelta(seconds=cfg.sensor_silent_after_s)
    heard_from, heard_to = whole_minutes(silent_since, end)
    over_from, over_to = whole_minutes(start, end)
    params = {
        "start": start,
        "end": end,
        "silent_since": silent_since,
        "heard_from": heard_from,
        "heard_to": heard_to,
        "over_from": over_from,
        "over_to": over_to,
        "kinds": [k.value for k in cfg.thresholds],
        "limits": [cfg.thresholds[k] for k in cfg.thresholds],
        "history_buckets": history_buckets(end, cfg.baseline.weeks),
    }
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(INPUTS_SQL, params).fetchall()
        weeks = cur.execute(HISTORY_WEEKS_SQL, params).fetchone()["count"]
    window_h = (end - start).total_seconds() / 3600
    total_cameras = sum(cameras.total.values()) or 1
    out = {}
    for r in rows:
        district = r["district"]
        n_cameras = cameras.total.get(district, 0)
        if weeks >= cfg.baseline.min_weeks:
            per_hour = r["history_created"] / weeks
        else:
            # cold start: the city's rate shared by the district's share of video points (a population proxy)
            per_hour = cfg.baseline.cold_start_city_cases_per_hour * n_cameras / total_cameras
        out[district] = DistrictInputs(
            cameras=n_cameras,
            cameras_down=cameras.down(district, end),
            sensors=dict(r["sensors"]),
            sensors_silent=r["sensors_silent"],
            sensors_exceeding={k: v for k, v in r["exceeding"].items() if v},
            new_cases=r["new_cases"],
            expected_cases=per_hour * window_h,
            open_emergencies=r["open_emergencies"],
            overdue_cases=r["overdue"],
            hotspots=r["hotspots"],
        )
    return out


UPSERT_SQL = """
INSERT INTO indicators (window_end, district, window_s, score, level, final, sub_values, contributions, floor)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (district, window_s, window_end) DO UPDATE
   SET score = EXCLUDED.score, level = EXCLUDED.level, final = EXCLUDED.final, floor = EXCLUDED.floor,
       sub_values = EXCLUDED.sub_values, contributions = EXCLUDED.contributions, computed_at = now()
 WHERE NOT indicators.final
RETURNING district
"""


def write_indicators(
    conn: psycopg.Connection, end: datetime, window_s: int, final: bool, assessments: dict[str, Assessment]
) -> set[str]:
    """Upsert one window's rows; returns the districts actually written (final rows are left alone).

    Rows written final here for the first time are added to ``indicators_1h`` in the same transaction."""
    written = set()
    with conn.transaction(), conn.cursor() as cur:
        for district, a in assessments.items():
            cur.execute(
                UPSERT_SQL,
                (
                    end,
                    district,
                    window_s,
                    a.score,
                    a.level.value,
                    final,
                    json.dumps(a.values),
                    json.dumps(a.contributions),
                    a.floor,
                ),
            )
            if cur.fetchone():
                written.add(district)
        if final and written:  # a final row is written once: add it to the hourly rollup now
            roll_up_final(conn, end, window_s, written)
    return written


def record_late(conn: psycopg.Connection, topic: str, bucket: datetime, districts: Iterable[str]) -> None:
    """Count events that arrived after their window was final."""
    counts: dict[str, int] = defaultdict(int)
    for d in districts:
        counts[d] += 1
    if not counts:
        return
    with conn.transaction():
        conn.cursor().executemany(
            "INSERT INTO late_events (bucket, topic, district, n) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (topic, district, bucket) DO UPDATE SET n = late_events.n + EXCLUDED.n",
            [(bucket, topic, d, n) for d, n in counts.items()],
        )
