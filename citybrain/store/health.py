"""Storage job health: TimescaleDB's background jobs and citybrain's own maintenance tasks, one shape.

``job_health`` lists, on TimescaleDB, every job of this database
(``timescaledb_information.jobs`` with ``job_stats`` and the latest
``job_errors`` row: compression, retention and refresh policies, and the
late-range refresh job) and, in both modes, the tasks recorded in
``maintenance_runs`` (plain-mode retention, when the policies were applied). A job is *failing* when
its last run failed, and *overdue* when it is scheduled but has not succeeded
for twice its schedule (plus a grace period) — including a job that never ran
at all, which is what exhausted background workers look like.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import dict_row

from citybrain.store.migrate import connect, storage_mode
from citybrain.store.policies import APPLY_TASK

GRACE_S = 300.0

# Jobs 1-999 are TimescaleDB's own (telemetry, job-error log retention); policies get ids from 1000.
# Infinite timestamps (a job that never ran) are NULL here: Python has no datetime for them.
TIMESCALE_JOBS_SQL = """
SELECT j.job_id::text AS job, j.proc_name AS kind,
       coalesce(ca.view_name, j.hypertable_name)::text AS relation,
       j.scheduled, extract(epoch FROM j.schedule_interval)::float8 AS schedule_s,
       lower(s.last_run_status) AS last_status,
       CASE WHEN isfinite(s.last_successful_finish) THEN s.last_successful_finish END AS last_success,
       CASE WHEN isfinite(s.last_run_started_at) THEN s.last_run_started_at END AS last_started,
       coalesce(s.total_runs, 0)::bigint AS total_runs,
       coalesce(s.total_failures, 0)::bigint AS total_failures,
       CASE WHEN isfinite(coalesce(s.next_start, j.next_start)) THEN coalesce(s.next_start, j.next_start) END
           AS next_start,
       {last_error} AS last_error
  FROM timescaledb_information.jobs j
  LEFT JOIN timescaledb_information.job_stats s ON s.job_id = j.job_id
  LEFT JOIN timescaledb_information.continuous_aggregates ca
         ON ca.materialization_hypertable_schema = j.hypertable_schema
        AND ca.materialization_hypertable_name = j.hypertable_name
 WHERE j.job_id >= 1000
 ORDER BY j.job_id
"""
LAST_ERROR_SQL = """(SELECT e.err_message FROM timescaledb_information.job_errors e
                      WHERE e.job_id = j.job_id ORDER BY e.finish_time DESC NULLS LAST LIMIT 1)"""

TASKS_SQL = """
SELECT task AS job, task AS kind, NULL::text AS relation, schedule_s IS NOT NULL AS scheduled, schedule_s,
       last_status, last_success, last_started, runs AS total_runs, failures AS total_failures,
       NULL::timestamptz AS next_start, last_error
  FROM maintenance_runs ORDER BY task
"""


@dataclass(frozen=True)
class JobHealth:
    source: str  # "timescaledb" (a background job) or "citybrain" (a task of the worker or migrate)
    job: str  # TimescaleDB job id, or the task name
    kind: str  # policy_compression, policy_retention, policy_refresh_continuous_aggregate, or the task name
    relation: str | None  # the table or rollup it works on
    scheduled: bool
    schedule_s: float | None
    last_status: str | None  # "success", "failed", or None when it never finished a run
    last_success: datetime | None
    last_success_age_s: float | None
    total_runs: int
    total_failures: int
    next_start: datetime | None
    last_error: str | None  # the newest error message, when the last run failed
    overdue: bool

    @property
    def failing(self) -> bool:
        return self.last_status == "failed"

    @property
    def healthy(self) -> bool:
        return not self.failing and not self.overdue


def _overdue(row: dict, now: datetime, since: datetime | None) -> bool:
    """Scheduled, and no success for twice its schedule plus grace (counted from ``since`` if it never
    succeeded)."""
    period = row["schedule_s"]
    if not row["scheduled"] or period is None:
        return False
    if row["last_success"] is not None:
        return (now - row["last_success"]).total_seconds() > 2 * period + GRACE_S
    if row["next_start"] is not None:  # the scheduler has planned its first (or next) run
        return (now - row["next_start"]).total_seconds() > GRACE_S
    return since is not None and (now - since).total_seconds() > period + GRACE_S


def job_health(conn: psycopg.Connection) -> list[JobHealth]:
    """TimescaleDB's jobs (none in plain mode), then citybrain's recorded tasks."""
    timescale = storage_mode(conn) == "timescale"
    with conn.cursor(row_factory=dict_row) as cur:
        now = cur.execute("SELECT now() AS now").fetchone()["now"]
        tasks = cur.execute(TASKS_SQL).fetchall()
        jobs = []
        if timescale:
            has_errors = cur.execute(
                "SELECT to_regclass('timescaledb_information.job_errors') IS NOT NULL AS x"
            )
            last_error = LAST_ERROR_SQL if has_errors.fetchone()["x"] else "NULL::text"
            jobs = cur.execute(TIMESCALE_JOBS_SQL.format(last_error=last_error)).fetchall()
    applied = next((t["last_started"] for t in tasks if t["job"] == APPLY_TASK), None)
    result = []
    for source, rows, since in (("timescaledb", jobs, applied), ("citybrain", tasks, None)):
        for row in rows:
            success = row["last_success"]
            result.append(
                JobHealth(
                    source=source,
                    job=row["job"],
                    kind=row["kind"],
                    relation=row["relation"],
                    scheduled=bool(row["scheduled"]),
                    schedule_s=row["schedule_s"],
                    last_status=row["last_status"],
                    last_success=success,
                    last_success_age_s=(now - success).total_seconds() if success is not None else None,
                    total_runs=int(row["total_runs"]),
                    total_failures=int(row["total_failures"]),
                    next_start=row["next_start"],
                    last_error=row["last_error"] if row["last_status"] == "failed" else None,
                    overdue=_overdue(row, now, since or row["last_started"]),
                )
            )
    return result


def read_job_health(url: str) -> list[JobHealth]:
    """``job_health`` on a connection of its own (for a worker timer, in a thread)."""
    with connect(url) as conn:
        return job_health(conn)
