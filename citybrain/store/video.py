"""The video-point map's reads: every camera's status at a moment, summed the ways the map draws it.

Now (``at`` None) is the ``cameras`` current-state table, which the worker keeps from camera.status
events. A past moment is folded from the ``camera_status`` events up to it: a camera's status then is
its last event's, and it has been in that status since the first event of its last run of equal
statuses (looked for within ``lookback_s``; a run that began earlier reads as beginning at the window's
start, "down at least since"). A camera with no event in the window has no known status then.

The map needs three things and none of them is 95,000 rows: counts per district and status, the
online cameras summed on a grid of ``cell_deg`` degrees (drawn as density), and the cameras that are
down, one by one. Each is one aggregate over the same state, read in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

DOWN = ("offline", "fault")
LOOKBACK_S = 7 * 24 * 3600.0

CURRENT = sql.SQL(
    "SELECT camera_id, district, lon, lat, status, CASE WHEN status IS NULL THEN NULL ELSE status_since END"
    " AS since FROM cameras"
)
PAST = sql.SQL("""
SELECT c.camera_id, c.district, c.lon, c.lat, r.status, r.since
  FROM cameras c
  LEFT JOIN (
        SELECT DISTINCT ON (camera_id) camera_id, status, event_time AS since
          FROM (SELECT camera_id, status, event_time,
                       lag(status) OVER (PARTITION BY camera_id ORDER BY event_time) AS prev
                  FROM camera_status
                 WHERE event_time <= %(at)s AND event_time > %(at)s - make_interval(secs => %(lookback)s)) e
         WHERE prev IS DISTINCT FROM status
         ORDER BY camera_id, event_time DESC
  ) r USING (camera_id)
""")

COUNTS = sql.SQL("""
SELECT district, count(*) AS total,
       count(*) FILTER (WHERE status = 'online') AS online,
       count(*) FILTER (WHERE status = 'offline') AS offline,
       count(*) FILTER (WHERE status = 'fault') AS fault,
       count(*) FILTER (WHERE status IS NULL) AS unknown
  FROM {state} s GROUP BY district ORDER BY district
""")
GRID = sql.SQL("""
SELECT floor(lon / %(cell)s)::int AS gx, floor(lat / %(cell)s)::int AS gy, count(*) AS n
  FROM {state} s WHERE status = 'online' GROUP BY 1, 2
""")
DOWN_SQL = sql.SQL("""
SELECT camera_id, district, lon, lat, status, since
  FROM {state} s WHERE status IN ('offline', 'fault') {district}
 ORDER BY since NULLS FIRST, camera_id
 LIMIT %(limit)s
""")


@dataclass(frozen=True)
class VideoPicture:
    at: datetime | None
    counts: list[dict]  # per district: total, online, offline, fault, unknown
    cell_deg: float
    grid: list[tuple[float, float, int]]  # online cameras per cell: (centre lon, centre lat, n)
    down: list[dict]  # camera_id, district, lon, lat, status, since — longest down first
    down_total: int  # all cameras down (``down`` may be cut at ``limit``)


def _state(conn: psycopg.Connection, at: datetime | None, lookback_s: float) -> sql.Composable:
    if at is None:
        return sql.SQL("({})").format(CURRENT)
    conn.execute(
        sql.SQL("CREATE TEMP TABLE video_state ON COMMIT DROP AS {}").format(PAST),
        {"at": at, "lookback": lookback_s},
    )
    return sql.Identifier("video_state")


def picture(
    conn: psycopg.Connection,
    at: datetime | None,
    cell_deg: float = 0.02,
    limit: int = 20_000,
    lookback_s: float = LOOKBACK_S,
) -> VideoPicture:
    """What the video-point map draws at ``at`` (None: now)."""
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        state = _state(conn, at, lookback_s)
        counts = cur.execute(COUNTS.format(state=state)).fetchall()
        grid = [
            ((r["gx"] + 0.5) * cell_deg, (r["gy"] + 0.5) * cell_deg, r["n"])
            for r in cur.execute(GRID.format(state=state), {"cell": cell_deg})
        ]
        down = cur.execute(DOWN_SQL.format(state=state, district=sql.SQL("")), {"limit": limit}).fetchall()
    total = sum(r["offline"] + r["fault"] for r in counts)
    return VideoPicture(at, counts, cell_deg, grid, down, total)


def down_in(
    conn: psycopg.Connection,
    district: str,
    at: datetime | None,
    limit: int = 50_000,
    lookback_s: float = LOOKBACK_S,
) -> list[dict]:
    """One district's cameras that are offline or faulty at ``at``, longest down first, with since when."""
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        state = _state(conn, at, lookback_s)
        return cur.execute(
            DOWN_SQL.format(state=state, district=sql.SQL("AND district = %(district)s")),
            {"limit": limit, "district": district},
        ).fetchall()
