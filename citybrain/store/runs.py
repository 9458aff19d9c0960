"""The last run of each maintenance task citybrain runs itself (table ``maintenance_runs``).

TimescaleDB keeps statistics for its own background jobs; these are the same
facts for what the worker and ``migrate`` do (plain-mode retention,
applying the policies), read back by store/health.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg

RECORD_SQL = """
INSERT INTO maintenance_runs AS m (task, schedule_s, last_started, last_finished, last_success,
                                   last_status, last_error, last_rows, runs, failures)
VALUES (%(task)s, %(schedule_s)s, %(started)s, %(finished)s, CASE WHEN %(ok)s THEN %(finished)s END,
        CASE WHEN %(ok)s THEN 'success' ELSE 'failed' END, %(error)s, %(rows)s, 1,
        CASE WHEN %(ok)s THEN 0 ELSE 1 END)
ON CONFLICT (task) DO UPDATE SET
    schedule_s = EXCLUDED.schedule_s, last_started = EXCLUDED.last_started,
    last_finished = EXCLUDED.last_finished,
    last_success = coalesce(EXCLUDED.last_success, m.last_success), last_status = EXCLUDED.last_status,
    last_error = EXCLUDED.last_error, last_rows = coalesce(EXCLUDED.last_rows, m.last_rows),
    runs = m.runs + 1, failures = m.failures + EXCLUDED.failures
"""


def record_run(
    conn: psycopg.Connection,
    task: str,
    started: datetime,
    schedule_s: float | None,
    error: str | None = None,
    rows: int | None = None,
) -> None:
    """Record one finished run of ``task`` (failed when ``error`` is given), in its own transaction."""
    with conn.transaction():
        conn.execute(
            RECORD_SQL,
            {
                "task": task,
                "schedule_s": schedule_s,
                "started": started,
                "finished": datetime.now(UTC),
                "ok": error is None,
                "error": error,
                "rows": rows,
            },
        )
