"""What the operations page reads: the pipeline's throughput, dead letters, late events, case
data-quality findings, failed notification deliveries and the workers' heartbeats. Rows in, no
judgement; each query takes an ``at`` time (None: now) so a past moment can be shown.

Throughput is counted by event time, per input topic and minute: from the per-district 1-minute
rollups for readings and camera status (the same names in TimescaleDB and plain mode), and from
``case_events`` itself, whose volume is small, because its rollup counts only some lifecycle steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import dict_row

from citybrain.events import Topic
from citybrain.store import heartbeats

THROUGHPUT_SQL = """
WITH bounds AS (SELECT coalesce(%(at)s, now()) AS hi,
                       coalesce(%(at)s, now()) - make_interval(secs => %(window)s) AS lo)
SELECT topic, minute, events FROM (
    SELECT %(readings)s AS topic, bucket AS minute, sum(n)::bigint AS events
      FROM readings_1m, bounds WHERE bucket > lo - interval '1 minute' AND bucket <= hi GROUP BY bucket
    UNION ALL
    SELECT %(cameras)s, bucket, sum(reports)::bigint
      FROM camera_status_1m, bounds WHERE bucket > lo - interval '1 minute' AND bucket <= hi GROUP BY bucket
    UNION ALL
    SELECT %(cases)s, date_trunc('minute', event_time), count(*)
      FROM case_events, bounds WHERE event_time > lo AND event_time <= hi GROUP BY 2
) per_minute
 ORDER BY topic, minute
"""

PROGRESS_SQL = "SELECT table_name, last_ingested_at FROM ingest_progress ORDER BY table_name"

DEAD_LETTER_COUNTS_SQL = """
SELECT source_topic AS topic, reason,
       count(*) FILTER (WHERE received_at > coalesce(%(at)s, now()) - interval '1 hour') AS last_hour,
       count(*) AS last_day,
       max(received_at) AS newest
  FROM dead_letters
 WHERE received_at > coalesce(%(at)s, now()) - interval '1 day' AND received_at <= coalesce(%(at)s, now())
 GROUP BY source_topic, reason
 ORDER BY last_day DESC, topic, reason
"""

NEWEST_DEAD_LETTERS_SQL = """
SELECT id, received_at, source_topic, source_partition, source_offset, reason, detail,
       payload_size, replayed_at
  FROM dead_letters
 WHERE received_at <= coalesce(%(at)s, now())
 ORDER BY received_at DESC, id DESC
 LIMIT %(limit)s
"""

LATE_EVENTS_SQL = """
SELECT topic,
       coalesce(sum(n) FILTER (WHERE bucket > coalesce(%(at)s, now()) - interval '1 hour'), 0)::bigint
           AS last_hour,
       sum(n)::bigint AS last_day
  FROM late_events
 WHERE bucket > coalesce(%(at)s, now()) - interval '1 day' AND bucket <= coalesce(%(at)s, now())
 GROUP BY topic
 ORDER BY topic
"""

CASE_FINDINGS_SQL = """
SELECT finding, count(*) AS cases, max(seen_at) AS newest,
       (array_agg(case_id ORDER BY seen_at DESC NULLS LAST))[1:3] AS examples
  FROM case_findings
 GROUP BY finding
 ORDER BY cases DESC, finding
"""

FAILED_DELIVERIES_SQL = """
SELECT at, receiver, group_key, alert_ids, attempts, error
  FROM alert_deliveries
 WHERE NOT ok AND at > coalesce(%(at)s, now()) - interval '1 day' AND at <= coalesce(%(at)s, now())
 ORDER BY at DESC
 LIMIT %(limit)s
"""

DELIVERY_COUNTS_SQL = """
SELECT receiver, count(*) FILTER (WHERE ok) AS delivered, count(*) FILTER (WHERE NOT ok) AS failed
  FROM alert_deliveries
 WHERE at > coalesce(%(at)s, now()) - interval '1 day' AND at <= coalesce(%(at)s, now())
 GROUP BY receiver
 ORDER BY receiver
"""


@dataclass(frozen=True)
class PipelinePicture:
    """Everything the operations page shows from the database, read together."""

    throughput: list[dict]  # topic, minute, events
    progress: dict[str, datetime]  # raw table -> when it last stored rows
    dead_letter_counts: list[dict]  # topic, reason, last_hour, last_day, newest
    newest_dead_letters: list[dict]
    late_events: list[dict]  # topic, last_hour, last_day
    case_findings: list[dict]  # finding, cases, newest, examples
    delivery_counts: list[dict]  # receiver, delivered, failed (last day)
    failed_deliveries: list[dict]
    workers: list[dict]  # worker, app_id, beat_at, age_s, stale, partitions (store/heartbeats.py)


def _rows(cur, query: str, params: dict) -> list[dict]:
    return cur.execute(query, params).fetchall()


def pipeline_picture(
    conn: psycopg.Connection, at: datetime | None = None, window_s: float = 1800, newest: int = 10
) -> PipelinePicture:
    params = {
        "at": at,
        "window": window_s,
        "limit": newest,
        "readings": Topic.READINGS.value,
        "cameras": Topic.CAMERA_STATUS.value,
        "cases": Topic.CASE_EVENTS.value,
    }
    with conn.cursor(row_factory=dict_row) as cur:
        return PipelinePicture(
            throughput=_rows(cur, THROUGHPUT_SQL, params),
            progress={r["table_name"]: r["last_ingested_at"] for r in _rows(cur, PROGRESS_SQL, {})},
            dead_letter_counts=_rows(cur, DEAD_LETTER_COUNTS_SQL, params),
            newest_dead_letters=_rows(cur, NEWEST_DEAD_LETTERS_SQL, params),
            late_events=_rows(cur, LATE_EVENTS_SQL, params),
            case_findings=_rows(cur, CASE_FINDINGS_SQL, params),
            delivery_counts=_rows(cur, DELIVERY_COUNTS_SQL, params),
            failed_deliveries=_rows(cur, FAILED_DELIVERIES_SQL, params),
            workers=heartbeats.workers(conn, at),
        )


def database_size(conn: psycopg.Connection) -> int:
    """Bytes this database takes on disk (every table, index and chunk)."""
    return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
