"""Periodic storage tasks the worker runs, each recorded in ``maintenance_runs``.

* ``refresh_late_rollups`` (TimescaleDB): refreshes the continuous aggregates
  over the ranges the batch writer queued for rows stored too late for the
  refresh policies (store/bookkeeping.py), the 1-minute views first, then the
  hourly views built on them. A no-op in plain mode, whose rollup tables the
  writer keeps exact itself.
* ``run_prune`` (plain PostgreSQL): deletes what is past retention
  (``policies.prune_plain``); TimescaleDB does that with its own policies.

Both return quickly when there is nothing to do; call them from worker
timers (they block: run them in a thread).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import psycopg
from psycopg import sql

from citybrain.store.migrate import connect, first_line, storage_mode
from citybrain.store.policies import ROLLUP_REFRESH, StorageConfig, prune_plain
from citybrain.store.runs import record_run

LATE_REFRESH_TASK = "late_rollup_refresh"
PRUNE_TASK = "retention_prune"
LATE_REFRESH_EVERY_S = 60.0
PRUNE_EVERY_S = 3600.0
_LOCK = 0x63627231  # advisory lock: one late-rollup refresh at a time across workers


def merge_ranges(ranges: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Overlapping or touching [start, end) ranges merged, in order."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def refresh_late_rollups(url: str, every_s: float = LATE_REFRESH_EVERY_S) -> int:
    """Refresh every queued late range (TimescaleDB); returns the number of ranges refreshed.

    ``CALL refresh_continuous_aggregate(cagg, window_start, window_end)`` commits as it goes and cannot run
    inside a transaction block, so this runs on an autocommit connection; queued rows are deleted only after
    their ranges were refreshed, so a failure leaves them for the next run. Ranges are whole UTC hours,
    aligned with both the 1-minute and the 1-hour buckets (only buckets wholly inside a window are refreshed).
    """
    with connect(url, autocommit=True) as conn:
        if storage_mode(conn) != "timescale":
            return 0
        if not conn.execute("SELECT pg_try_advisory_lock(%s)", (_LOCK,)).fetchone()[0]:
            return 0  # another worker is at it
        started = datetime.now(UTC)
        try:
            queued = conn.execute(
                "SELECT id, table_name, range_start, range_end FROM rollup_refresh_queue ORDER BY id"
            ).fetchall()
            by_table: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
            for _, table, start, end in queued:
                by_table[table].append((start, end))
            refreshed = 0
            for table, ranges in sorted(by_table.items()):
                for start, end in merge_ranges(ranges):
                    for resolution in ROLLUP_REFRESH:  # 1m before 1h: the hourly views read the 1-minute ones
                        conn.execute(sql.SQL("CALL refresh_continuous_aggregate({}, {}::timestamptz, {}::timestamptz)")
                                     .format(sql.Literal(f"{table}_{resolution}"), sql.Literal(start), sql.Literal(end)))
                    refreshed += 1
            if queued:
                conn.execute("DELETE FROM rollup_refresh_queue WHERE id = ANY(%s)", ([row[0] for row in queued],))
        except psycopg.Error as exc:
            if not conn.broken:  # a lost connection cannot record anything: the next run will
                record_run(conn, LATE_REFRESH_TASK, started, every_s, error=first_line(exc))
            raise
        else:
            record_run(conn, LATE_REFRESH_TASK, started, every_s, rows=refreshed)
            return refreshed
        finally:
            if not conn.broken:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK,))


def run_prune(url: str, cfg: StorageConfig, every_s: float = PRUNE_EVERY_S) -> int:
    """Delete what is past retention in plain mode, recording the run; returns rows deleted (0 on TimescaleDB)."""
    with connect(url) as conn:
        if storage_mode(conn) != "plain":
            return 0
        conn.commit()
        started = datetime.now(UTC)
        try:
            deleted = prune_plain(conn, cfg)
        except psycopg.Error as exc:
            if not conn.broken:
                conn.rollback()
                record_run(conn, PRUNE_TASK, started, every_s, error=first_line(exc))
            raise
        record_run(conn, PRUNE_TASK, started, every_s, rows=deleted)
        return deleted
