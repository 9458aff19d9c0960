"""Appeal hot spots in the database: the detector's input (new created cases by ingest time), its state
(hot spots, their cases, how far it has read), and the reads of the alert rule, the risk score and the
screens. Judgement lives in citybrain.hotspots; this module only moves rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from citybrain.hotspots.detect import Changes, Hotspot, NewCase, Point

# Rows of one batch share its transaction's ingested_at and may commit a few seconds after a later
# batch: each read goes back this far behind the watermark, and case ids already seen are skipped.
OVERLAP = timedelta(seconds=60)

COLUMNS = (
    "id",
    "category_group",
    "district",
    "districts",
    "categories",
    "lon",
    "lat",
    "radius_m",
    "case_count",
    "opened_at",
    "first_case_at",
    "nth_case_at",
    "last_case_at",
    "updated_at",
    "ended_at",
    "merged_into",
)
_HOTSPOT = sql.SQL(", ").join(sql.Identifier(c) for c in COLUMNS)

# a case's first "created" event is the case (a second one with another event id is a duplicate)
NEW_CASES_SQL = """
SELECT DISTINCT ON (case_id) case_id, category, district, lon, lat, event_time,
       max(ingested_at) OVER () AS newest  -- over every row read, duplicates included
  FROM case_events
 WHERE type = 'created' AND lon IS NOT NULL AND lat IS NOT NULL
   AND event_time >= %(horizon)s AND ingested_at > %(since)s AND ingested_at <= %(until)s
 ORDER BY case_id, event_time, ingested_at
"""


@dataclass(frozen=True)
class Progress:
    watermark: datetime | None
    ticked_at: datetime | None


def _rows(conn: psycopg.Connection, query, params: dict) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


def progress(conn: psycopg.Connection, lock: bool = False) -> Progress:
    """How far the detector has read; ``lock`` holds the row for the tick (one detector at a time)."""
    query = "SELECT watermark, ticked_at FROM hotspot_progress" + (" FOR UPDATE" if lock else "")
    row = conn.execute(query).fetchone()
    return Progress(*row) if row else Progress(None, None)


def new_cases(
    conn: psycopg.Connection, since: datetime | None, until: datetime, horizon: datetime
) -> tuple[list[NewCase], datetime | None]:
    """Created cases with a location ingested after ``since`` (less the overlap) up to ``until``, whose
    event time is after ``horizon``; and the newest ingest time among them."""
    rows = _rows(
        conn,
        NEW_CASES_SQL,
        {"since": (since - OVERLAP) if since else horizon - OVERLAP, "until": until, "horizon": horizon},
    )
    newest = rows[0]["newest"] if rows else None
    rows.sort(key=lambda r: (r["event_time"], r["case_id"]))
    return [
        NewCase(r["case_id"], r["category"], r["district"], r["lon"], r["lat"], r["event_time"]) for r in rows
    ], newest


RESTORE_POINTS_SQL = """
SELECT DISTINCT ON (e.case_id) e.case_id, e.category, e.district, e.lon, e.lat, e.event_time,
       m.hotspot_id, coalesce(m.core, false) AS core, (h.ended_at IS NOT NULL) AS spent
  FROM case_events e
  LEFT JOIN hotspot_cases m ON m.case_id = e.case_id
  LEFT JOIN hotspots h ON h.id = m.hotspot_id
 WHERE e.type = 'created' AND e.lon IS NOT NULL AND e.lat IS NOT NULL
   AND e.event_time >= %(horizon)s AND e.ingested_at <= %(watermark)s
 ORDER BY e.case_id, e.event_time, e.ingested_at
"""


# every case of an active hot spot, however old: it keeps its centroid and radius after a restart
ACTIVE_MEMBERS_SQL = """
SELECT m.case_id, m.category, m.district, m.lon, m.lat, m.created_at AS event_time, m.hotspot_id, m.core,
       false AS spent
  FROM hotspot_cases m JOIN hotspots h ON h.id = m.hotspot_id
 WHERE h.ended_at IS NULL
"""


def restore(
    conn: psycopg.Connection, watermark: datetime, horizon: datetime, to_utm
) -> tuple[list[Point], list[Hotspot]]:
    """The detector's state as it was saved: recent cases it had read, with their flags, and the active
    hot spots."""
    rows = _rows(conn, RESTORE_POINTS_SQL, {"watermark": watermark, "horizon": horizon})
    held = {r["case_id"] for r in rows}
    rows += [r for r in _rows(conn, ACTIVE_MEMBERS_SQL, {}) if r["case_id"] not in held]
    xs, ys = to_utm([r["lon"] for r in rows], [r["lat"] for r in rows]) if rows else ([], [])
    points = [
        Point(
            r["case_id"],
            r["category"],
            r["district"],
            r["lon"],
            r["lat"],
            float(x),
            float(y),
            r["event_time"].timestamp(),
            r["hotspot_id"],
            r["core"],
            r["spent"],
        )
        for r, x, y in zip(rows, xs, ys, strict=True)
    ]
    return points, [_hotspot(r) for r in active(conn)]


def _hotspot(r: dict) -> Hotspot:
    members = r.get("case_ids") or []
    return Hotspot(
        id=r["id"],
        group=r["category_group"],
        opened_at=r["opened_at"],
        case_ids=list(members),
        categories=list(r["categories"]),
        districts=list(r["districts"]),
        district=r["district"],
        lon=r["lon"],
        lat=r["lat"],
        radius_m=r["radius_m"],
        first_case_at=r["first_case_at"],
        last_case_at=r["last_case_at"],
        nth_case_at=r["nth_case_at"],
        updated_at=r["updated_at"],
        ended_at=r["ended_at"],
        merged_into=r["merged_into"],
    )


UPSERT_SQL = sql.SQL(
    "INSERT INTO hotspots ({cols}) VALUES ({values}) ON CONFLICT (id) DO UPDATE SET {updates}"
).format(
    cols=_HOTSPOT,
    values=sql.SQL(", ").join(sql.Placeholder() * len(COLUMNS)),
    updates=sql.SQL(", ").join(
        sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in COLUMNS if c != "id"
    ),
)


def save(conn: psycopg.Connection, changes: Changes, watermark: datetime | None, now: datetime) -> None:
    """One tick's changes and the new watermark, in the caller's transaction."""
    # targets first: a merged hot spot names the one it went into
    ordered = sorted(changes.hotspots.values(), key=lambda h: h.merged_into is not None)
    with conn.cursor() as cur:
        cur.executemany(UPSERT_SQL, [_row(h) for h in ordered])
        cur.executemany(
            "INSERT INTO hotspot_cases (case_id, hotspot_id, core, joined_at, category, district, lon, lat,"
            " created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (case_id) DO UPDATE SET hotspot_id = EXCLUDED.hotspot_id, core = EXCLUDED.core",
            [
                (m.case_id, m.hotspot, m.core, now, m.category, m.district, m.lon, m.lat, m.event_time)
                for m in changes.members
            ],
        )
        if watermark is not None:
            cur.execute(
                "INSERT INTO hotspot_progress (watermark, ticked_at) VALUES (%s, %s)"
                " ON CONFLICT (id) DO UPDATE SET watermark = greatest(hotspot_progress.watermark,"
                " EXCLUDED.watermark), ticked_at = EXCLUDED.ticked_at",
                (watermark, now),
            )


def _row(h: Hotspot) -> tuple:
    return (
        h.id,
        h.group,
        h.district,
        h.districts,
        h.categories,
        h.lon,
        h.lat,
        h.radius_m,
        h.count,
        h.opened_at,
        h.first_case_at,
        h.nth_case_at,
        h.last_case_at,
        h.updated_at,
        h.ended_at,
        h.merged_into,
    )


HOTSPOTS_AT_SQL = sql.SQL("""
SELECT {cols}, coalesce((SELECT array_agg(m.case_id ORDER BY m.created_at, m.case_id)
                           FROM hotspot_cases m WHERE m.hotspot_id = h.id), '{{}}') AS case_ids
  FROM hotspots h
 WHERE h.opened_at <= coalesce(%(at)s, now())
   AND (h.ended_at IS NULL OR h.ended_at > coalesce(%(at)s, now()) OR %(recent)s)
   AND h.merged_into IS NULL
   AND h.opened_at > coalesce(%(at)s, now()) - make_interval(secs => %(since_s)s)
   AND (%(district)s::text IS NULL OR h.district = %(district)s OR %(district)s = ANY(h.districts))
 ORDER BY h.ended_at IS NOT NULL, h.opened_at DESC
 LIMIT %(limit)s
""").format(cols=sql.SQL(", ").join(sql.SQL("h.{}").format(sql.Identifier(c)) for c in COLUMNS))


def active(
    conn: psycopg.Connection, at: datetime | None = None, district: str | None = None, limit: int = 200
) -> list[dict]:
    """Hot spots active at ``at`` (None: now), newest first, each with its case ids."""
    return _rows(
        conn,
        HOTSPOTS_AT_SQL,
        {"at": at, "recent": False, "since_s": 10 * 365 * 86400, "district": district, "limit": limit},
    )


def recent(
    conn: psycopg.Connection,
    at: datetime | None = None,
    district: str | None = None,
    hours: float = 24,
    limit: int = 50,
) -> list[dict]:
    """Hot spots opened in the ``hours`` before ``at``, active or ended, active first then newest first;
    ``district`` filters to those filed under it or with cases in it."""
    return _rows(
        conn,
        HOTSPOTS_AT_SQL,
        {"at": at, "recent": True, "since_s": hours * 3600, "district": district, "limit": limit},
    )


HOTSPOT_CASES_SQL = """
SELECT m.case_id, m.core, m.category, m.district, m.lon, m.lat, m.created_at, c.status, c.urgency
  FROM hotspot_cases m
  LEFT JOIN cases c ON c.case_id = m.case_id
 WHERE m.hotspot_id = %(id)s
 ORDER BY m.created_at, m.case_id
"""


def cases_of(conn: psycopg.Connection, hotspot_id: str) -> list[dict]:
    """A hot spot's cases, oldest first: id, category, district, status, when, where."""
    return _rows(conn, HOTSPOT_CASES_SQL, {"id": hotspot_id})
