"""The dead-letter table: written in the batch's transaction, read by `citybrain dlq`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import dict_row

COLUMNS = (
    "source_topic",
    "source_partition",
    "source_offset",
    "key",
    "reason",
    "detail",
    "payload",
    "payload_size",
    "payload_sha256",
    "truncated",
)
INSERT = (
    f"INSERT INTO dead_letters ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
    " ON CONFLICT DO NOTHING"
)


@dataclass(frozen=True)
class DeadLetterRow:
    """One refused message as stored: where it came from, why, and its (possibly cut) bytes."""

    source_topic: str
    source_partition: int
    source_offset: int
    key: bytes | None
    reason: str
    detail: str
    payload: bytes | None
    payload_size: int
    payload_sha256: str
    truncated: bool

    def values(self) -> tuple:
        return tuple(getattr(self, c) for c in COLUMNS)


def insert(conn: psycopg.Connection, rows: Sequence[DeadLetterRow]) -> None:
    """Add dead letters inside the caller's transaction; a replayed batch adds none twice."""
    if rows:
        with conn.cursor() as cur:
            cur.executemany(INSERT, [r.values() for r in rows])


def listing(
    conn: psycopg.Connection,
    reason: str | None = None,
    topic: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
) -> list[dict]:
    """Newest first, without payloads."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT id, received_at, source_topic, source_partition, source_offset, reason, detail,
                   payload_size, truncated, replayed_at
              FROM dead_letters
             WHERE (%(reason)s::text IS NULL OR reason = %(reason)s)
               AND (%(topic)s::text IS NULL OR source_topic = %(topic)s)
               AND (%(since)s::timestamptz IS NULL OR received_at >= %(since)s)
             ORDER BY received_at DESC, id DESC
             LIMIT %(limit)s
            """,
            {"reason": reason, "topic": topic, "since": since, "limit": limit},
        ).fetchall()


def get(conn: psycopg.Connection, ids: Sequence[int]) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT * FROM dead_letters WHERE id = ANY(%s) ORDER BY id", (list(ids),)
        ).fetchall()


def mark_replayed(conn: psycopg.Connection, ids: Sequence[int], actor: str) -> None:
    conn.execute(
        "UPDATE dead_letters SET replayed_at = now(), replayed_by = %s WHERE id = ANY(%s)", (actor, list(ids))
    )


def counts_by_reason(conn: psycopg.Connection, since: datetime) -> dict[tuple[str, str], int]:
    """(source topic, reason) → dead letters received since ``since``."""
    rows = conn.execute(
        "SELECT source_topic, reason, count(*) FROM dead_letters WHERE received_at >= %s GROUP BY 1, 2",
        (since,),
    ).fetchall()
    return {(t, r): n for t, r, n in rows}
