"""Worker heartbeats: each worker process records, every ``EVERY_S`` seconds, that it is alive and which
input partitions its ingest consumer holds; a worker whose last beat is older than ``STALE_BEATS``
beats is stale (stopped, hung or cut off from the database)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

EVERY_S = 5.0
STALE_BEATS = 3
FORGET_AFTER = "1 day"  # rows of workers gone this long are removed by the next beat of any worker

BEAT_SQL = """
INSERT INTO worker_heartbeats (worker, app_id, host, pid, started_at, beat_at, partitions)
VALUES (%(worker)s, %(app_id)s, %(host)s, %(pid)s, %(started_at)s, now(), %(partitions)s)
ON CONFLICT (worker) DO UPDATE
   SET app_id = excluded.app_id, beat_at = excluded.beat_at, partitions = excluded.partitions,
       started_at = excluded.started_at
"""

FORGET_SQL = f"DELETE FROM worker_heartbeats WHERE beat_at < now() - interval '{FORGET_AFTER}'"

LIST_SQL = """
SELECT worker, app_id, host, pid, started_at, beat_at, partitions,
       extract(epoch FROM coalesce(%(at)s, now()) - beat_at) AS age_s,
       beat_at < coalesce(%(at)s, now()) - make_interval(secs => %(stale_s)s) AS stale
  FROM worker_heartbeats
 WHERE beat_at <= coalesce(%(at)s, now())
 ORDER BY stale, app_id, worker
"""


@dataclass(frozen=True)
class Identity:
    """Who is beating: ``host/pid`` of this process, in the worker group ``app_id``."""

    app_id: str
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def worker(self) -> str:
        return f"{self.host}/{self.pid}"


def beat(database_url: str, me: Identity, partitions: Iterable[tuple[str, int]]) -> None:
    """Record that ``me`` is alive now and holds ``partitions`` (topic, partition)."""
    held = [{"topic": topic, "partition": partition} for topic, partition in sorted(partitions)]
    with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            BEAT_SQL,
            {
                "worker": me.worker,
                "app_id": me.app_id,
                "host": me.host,
                "pid": me.pid,
                "started_at": me.started_at,
                "partitions": Jsonb(held),
            },
        )
        conn.execute(FORGET_SQL)


def workers(conn: psycopg.Connection, at: datetime | None = None, every_s: float = EVERY_S) -> list[dict]:
    """Every worker that beat in the last day: live ones first, each with ``age_s`` since its last beat,
    ``stale`` (older than ``STALE_BEATS`` beats) and its partitions as (topic, partition) pairs."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(LIST_SQL, {"at": at, "stale_s": STALE_BEATS * every_s}).fetchall()
    for r in rows:
        r["partitions"] = [(p["topic"], p["partition"]) for p in r["partitions"]]
    return rows
