"""Queries for the alert queue, silences and the notification outbox (the service and the dispatcher
decide; this module only reads and writes rows)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

import psycopg
from psycopg.rows import dict_row

# An alert is in the duty queue while it is unresolved and either still active or cleared without
# anyone having acknowledged it (ThingsBoard's CLEARED_UNACK): nothing critical vanishes unseen.
IN_QUEUE = "NOT resolved AND (status = 'active' OR NOT acknowledged)"


def _dicts(conn: psycopg.Connection, sql: str, params: Sequence | dict = ()) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, params).fetchall()


def queue(conn: psycopg.Connection, everything: bool = False, limit: int = 50) -> list[dict]:
    """The duty queue, newest first; ``state`` reads like "cleared, not acknowledged"."""
    return _dicts(
        conn,
        f"""
        SELECT *, status || CASE WHEN acknowledged THEN ', acknowledged' ELSE ', not acknowledged' END
                         || CASE WHEN resolved THEN ', resolved' ELSE '' END AS state
          FROM alerts {"" if everything else "WHERE " + IN_QUEUE}
         ORDER BY opened_at DESC LIMIT %s""",
        (limit,),
    )


# --- silences ---------------------------------------------------------------------------------------------


def silences(
    conn: psycopg.Connection, now: datetime, include_expired: bool = False, limit: int = 100
) -> list[dict]:
    return _dicts(
        conn,
        f"""
        SELECT *, CASE WHEN ends_at <= %(now)s THEN 'expired' WHEN starts_at > %(now)s THEN 'pending'
                       ELSE 'active' END AS state
          FROM silences {"" if include_expired else "WHERE ends_at > %(now)s"}
         ORDER BY ends_at DESC, id DESC LIMIT %(limit)s""",
        {"now": now, "limit": limit},
    )


def active_silences(cur, now: datetime) -> list[dict]:
    return cur.execute(
        "SELECT id, matchers, starts_at, ends_at FROM silences WHERE ends_at > %s", (now,)
    ).fetchall()


def silence_for_update(cur, silence_id: int) -> dict | None:
    return cur.execute("SELECT * FROM silences WHERE id = %s FOR UPDATE", (silence_id,)).fetchone()


def update_silence(
    cur,
    silence_id: int,
    matchers: list[dict],
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    actor: str,
    now: datetime,
) -> dict:
    return cur.execute(
        "UPDATE silences SET matchers = %s, starts_at = %s, ends_at = %s, reason = %s, updated_by = %s,"
        " updated_at = %s WHERE id = %s RETURNING *",
        (json.dumps(matchers), starts_at, ends_at, reason, actor, now, silence_id),
    ).fetchone()


# --- notification outbox ----------------------------------------------------------------------------------


def enqueue(cur, rows: Iterable[tuple]) -> None:
    """Rows of (alert_id, action, severity, group_key, event JSON, created_at)."""
    cur.executemany(
        "INSERT INTO alert_notifications (alert_id, action, severity, group_key, event, created_at)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        list(rows),
    )


def pending(cur) -> list[dict]:
    """Unsent notifications, locked so two dispatchers never send one twice."""
    return cur.execute(
        "SELECT id, group_key, created_at, event FROM alert_notifications WHERE sent_at IS NULL"
        " ORDER BY id FOR UPDATE SKIP LOCKED"
    ).fetchall()


def last_sent(cur, group_keys: Sequence[str]) -> dict[str, datetime]:
    rows = cur.execute(
        "SELECT group_key, max(at) AS at FROM alert_deliveries WHERE group_key = ANY(%s) GROUP BY group_key",
        (list(group_keys),),
    ).fetchall()
    return {r["group_key"]: r["at"] for r in rows}


def mark_sent(cur, ids: Sequence[int], at: datetime) -> None:
    cur.execute("UPDATE alert_notifications SET sent_at = %s WHERE id = ANY(%s)", (at, list(ids)))


def prune_sent(cur, before: datetime) -> None:
    """Sent notifications are kept a while for inspection; what was delivered stays in alert_deliveries."""
    cur.execute("DELETE FROM alert_notifications WHERE sent_at < %s", (before,))


def record_delivery(
    cur,
    at: datetime,
    group_key: str,
    receiver: str,
    alert_ids: Sequence[int],
    ok: bool,
    attempts: int,
    error: str | None,
) -> None:
    cur.execute(
        "INSERT INTO alert_deliveries (at, group_key, receiver, alert_ids, ok, attempts, error)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (at, group_key, receiver, list(alert_ids), ok, attempts, error),
    )


def deliveries(conn: psycopg.Connection, failed_only: bool = False, limit: int = 50) -> list[dict]:
    return _dicts(
        conn,
        f"SELECT * FROM alert_deliveries {'WHERE NOT ok' if failed_only else ''}"
        " ORDER BY at DESC, id DESC LIMIT %s",
        (limit,),
    )


def district_names(conn: psycopg.Connection) -> dict[str, str]:
    return {r["adcode"]: r["name_zh"] for r in _dicts(conn, "SELECT adcode, name_zh FROM districts")}
