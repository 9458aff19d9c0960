"""Leaders' instructions (批示) on alerts and cases, and their completions (rows only; who may give or
complete one is decided in citybrain.alerts.instructions).

Nothing here updates or deletes: an instruction is one row, its completion another, and every read
takes ``at`` (None: now) so a page can show the instructions as they stood at a past moment — given by
then, and open unless completed by then.
"""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

# one instruction with its completion (if any by ``at``) and whether it is open / overdue at ``at``
_LISTING = sql.SQL("""
SELECT i.id, i.alert_id, i.case_id, i.district, i.body, i.unit, i.deadline, i.created_by, i.created_at,
       c.done_by, c.done_at, c.note,
       c.instruction_id IS NULL AS open,
       c.instruction_id IS NULL AND i.deadline < coalesce(%(at)s, now()) AS overdue,
       coalesce(c.done_at > i.deadline, false) AS done_late
  FROM instructions i
  LEFT JOIN instruction_completions c ON c.instruction_id = i.id AND c.done_at <= coalesce(%(at)s, now())
 WHERE i.created_at <= coalesce(%(at)s, now()) {where}
 ORDER BY {order}
 LIMIT %(limit)s
""")

COUNTS_SQL = """
SELECT i.district, GROUPING(i.district) = 1 AS city, count(*) AS open,
       count(*) FILTER (WHERE i.deadline < coalesce(%(at)s, now())) AS overdue
  FROM instructions i
  LEFT JOIN instruction_completions c ON c.instruction_id = i.id AND c.done_at <= coalesce(%(at)s, now())
 WHERE i.created_at <= coalesce(%(at)s, now()) AND c.instruction_id IS NULL
 GROUP BY GROUPING SETS ((i.district), ())
"""


def _rows(conn, query, params: dict) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


def insert(
    cur,
    *,
    alert_id: int | None,
    case_id: str | None,
    district: str | None,
    body: str,
    unit: str,
    deadline: datetime,
    created_by: str,
) -> dict:
    return cur.execute(
        "INSERT INTO instructions (alert_id, case_id, district, body, unit, deadline, created_by)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING *",
        (alert_id, case_id, district, body, unit, deadline, created_by),
    ).fetchone()


def complete(cur, instruction_id: int, done_by: str, note: str) -> dict | None:
    """The completion row, or None when the instruction was already completed (by anyone)."""
    return cur.execute(
        "INSERT INTO instruction_completions (instruction_id, done_by, note) VALUES (%s, %s, %s)"
        " ON CONFLICT (instruction_id) DO NOTHING RETURNING *",
        (instruction_id, done_by, note),
    ).fetchone()


def one(conn_or_cur, instruction_id: int) -> dict | None:
    """An instruction with its completion, as it is now."""
    found = listing(conn_or_cur, None, open_only=False, instruction_id=instruction_id, limit=1)
    return found[0] if found else None


def listing(
    conn,
    at: datetime | None,
    *,
    open_only: bool = True,
    alert_id: int | None = None,
    case_id: str | None = None,
    instruction_id: int | None = None,
    limit: int = 500,
) -> list[dict]:
    """Instructions given by ``at``: open ones first by deadline (the most pressing on top), then the
    completed ones, newest first."""
    where = []
    if open_only:
        where.append(sql.SQL("AND c.instruction_id IS NULL"))
    for column, value in (("alert_id", alert_id), ("case_id", case_id), ("id", instruction_id)):
        if value is not None:
            where.append(sql.SQL("AND {} = {}").format(sql.Identifier("i", column), sql.Placeholder(column)))
    query = _LISTING.format(
        where=sql.SQL(" ").join(where),
        order=sql.SQL(
            "c.instruction_id IS NOT NULL, CASE WHEN c.instruction_id IS NULL THEN i.deadline END,"
            " c.done_at DESC, i.id"
        ),
    )
    params = {"at": at, "limit": limit, "alert_id": alert_id, "case_id": case_id, "id": instruction_id}
    if hasattr(conn, "cursor"):
        return _rows(conn, query, params)
    return conn.execute(query, params).fetchall()  # a dict_row cursor inside a transaction


def district_counts(conn: psycopg.Connection, at: datetime | None) -> dict[str | None, dict[str, int]]:
    """Open and overdue instructions at ``at`` per district, and (key None) for the whole city.

    Instructions on alerts without a district count for the city only; a district with none open is
    absent (readers take it as zero).
    """
    found: dict[str | None, dict[str, int]] = {None: {"open": 0, "overdue": 0}}
    for r in _rows(conn, COUNTS_SQL, {"at": at}):
        if r["city"] or r["district"] is not None:  # an alert without a district counts for the city only
            found[None if r["city"] else r["district"]] = {"open": r["open"], "overdue": r["overdue"]}
    return found
