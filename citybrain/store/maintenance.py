"""Periodic storage tasks the worker runs, each recorded in ``maintenance_runs``.

* ``refresh_late_rollups`` (TimescaleDB, as the owner): refreshes the
  continuous aggregates over the ranges the batch writer queued for rows
  stored too late for the refresh policies (store/bookkeeping.py), the
  1-minute views first, then the hourly views built on them. TimescaleDB runs
  the same procedure every minute as a job owned by the migrating role
  (migrations 014, 015), so the worker, which connects as the application
  role, has nothing to do for it. A no-op in plain mode, whose rollup tables
  the writer keeps exact itself.
* ``run_prune``: deletes what is past the owner's retention
  (``policies.prune_past_retention``): on plain PostgreSQL everything, on
  TimescaleDB only the leaders' rollups, which are plain tables there too
  (its own policies drop the hypertables' chunks).

Both return quickly when there is nothing to do; they block (run them in a
thread from the worker's timers).
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg

from citybrain.store.migrate import connect, first_line, storage_mode
from citybrain.store.policies import prune_past_retention
from citybrain.store.runs import record_run

LATE_REFRESH_PROCEDURE = "citybrain_refresh_late_rollups"  # TimescaleDB's job runs it (migrations 014, 015)
PRUNE_TASK = "retention_prune"
PRUNE_EVERY_S = 3600.0
_LOCK = 0x63627231  # advisory lock: one late-rollup refresh at a time (the procedure takes it too)


def refresh_late_rollups(url: str) -> int:
    """Refresh every queued late range now (TimescaleDB), as the scheduled job does every minute; returns how
    many queued entries were drained (0 in plain mode, or while another run holds the lock).

    It calls the job's own procedure (``citybrain_refresh_late_rollups``, migration 014), so it needs the
    continuous aggregates' owner (the role ``migrate`` runs as): ``refresh_continuous_aggregate`` refuses
    anyone else, the worker's application role included. The procedure commits as it goes, so this runs on
    an autocommit connection; a failed refresh leaves its entries queued for the next run.
    """
    with connect(url, autocommit=True) as conn:
        if storage_mode(conn) != "timescale":
            return 0
        last = conn.execute("SELECT max(id) FROM rollup_refresh_queue").fetchone()[0]
        if last is None:
            return 0
        queued = "SELECT count(*) FROM rollup_refresh_queue WHERE id <= %s"
        before = conn.execute(queued, (last,)).fetchone()[0]
        try:
            conn.execute(f"CALL {LATE_REFRESH_PROCEDURE}()")
        except psycopg.Error:
            if not conn.broken:  # it stopped before letting go of the lock
                conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK,))
            raise
        return before - conn.execute(queued, (last,)).fetchone()[0]


def run_prune(url: str, every_s: float = PRUNE_EVERY_S) -> int:
    """Delete what is past retention, recording the run; returns rows deleted."""
    with connect(url) as conn:
        started = datetime.now(UTC)
        try:
            deleted = prune_past_retention(conn)
        except psycopg.Error as exc:
            if not conn.broken:
                conn.rollback()
                record_run(conn, PRUNE_TASK, started, every_s, error=first_line(exc))
            raise
        record_run(conn, PRUNE_TASK, started, every_s, rows=deleted)
        return deleted
