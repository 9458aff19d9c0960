"""Reads behind the duty console: the alert queue, one alert's history, open citizen cases.

Each takes ``at`` (None: now) so a page can show the queue as it stood at a past moment:
alerts opened by then and not yet resolved by then (their other columns are
today's), and the alert log up to then.
"""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg.rows import dict_row

ALERT_QUEUE_SQL = """
SELECT id, rule_id, severity, district, title, labels, status, acknowledged, acked_by, acked_at, assignee,
       resolved, resolved_by, resolved_at, opened_at, last_seen, cleared_at, seen_count, value, peak,
       escalation_level, escalated_at, muted
  FROM alerts
 WHERE opened_at <= coalesce(%(at)s, now()) AND (resolved_at IS NULL OR resolved_at > coalesce(%(at)s, now()))
 ORDER BY opened_at
 LIMIT %(limit)s
"""

ALERT_HISTORY_SQL = """
SELECT l.id, l.at, l.actor, l.action, l.before, l.after, l.note
  FROM alert_log l
 WHERE l.alert_id = %(alert_id)s AND l.at <= coalesce(%(at)s, now())
 ORDER BY l.at, l.id
"""

OPEN_CASES_SQL = """
SELECT case_id, district, category, urgency, status, deadline, assignee, opened_at
  FROM cases
 WHERE status NOT IN ('resolved', 'closed') AND (opened_at IS NULL OR opened_at <= coalesce(%(at)s, now()))
 ORDER BY urgency = 'emergency' DESC, deadline NULLS LAST, opened_at
 LIMIT %(limit)s
"""

OPEN_CASE_COUNTS_SQL = """
SELECT count(*) AS open, count(*) FILTER (WHERE urgency = 'emergency') AS emergencies,
       count(*) FILTER (WHERE deadline < coalesce(%(at)s, now())) AS overdue
  FROM cases
 WHERE status NOT IN ('resolved', 'closed') AND (opened_at IS NULL OR opened_at <= coalesce(%(at)s, now()))
"""


def _rows(conn: psycopg.Connection, query: str, params: dict) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


def alert_queue(conn: psycopg.Connection, at: datetime | None, limit: int = 2000) -> list[dict]:
    """Alerts open (unresolved) at ``at``, oldest first; the console orders them by severity."""
    return _rows(conn, ALERT_QUEUE_SQL, {"at": at, "limit": limit})


def alert_history(conn: psycopg.Connection, alert_id: int, at: datetime | None) -> list[dict]:
    """Every entry of one alert's log up to ``at``, in order."""
    return _rows(conn, ALERT_HISTORY_SQL, {"alert_id": alert_id, "at": at})


def open_cases(conn: psycopg.Connection, at: datetime | None, limit: int = 200) -> dict:
    """Open citizen cases, emergencies first then by deadline, and how many there are in all."""
    counts = _rows(conn, OPEN_CASE_COUNTS_SQL, {"at": at})[0]
    return {"rows": _rows(conn, OPEN_CASES_SQL, {"at": at, "limit": limit}), **counts}


def alert_by_id(conn: psycopg.Connection, alert_id: int) -> dict | None:
    """One alert as it is now (for telling an officer who got there first)."""
    rows = _rows(
        conn,
        "SELECT id, acknowledged, acked_by, acked_at, resolved, resolved_by, resolved_at"
        " FROM alerts WHERE id = %(id)s",
        {"id": alert_id},
    )
    return rows[0] if rows else None
