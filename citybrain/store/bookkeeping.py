"""What the batch writer records beside the rows, in the same statement and transaction.

``batch_ctes`` returns data-modifying CTEs over the rows a batch really
inserted (the CTE named by ``inserted``, e.g. ``ins AS (INSERT … RETURNING *)``):

* ``ingest_progress``: when the table last stored rows, so the dashboard's
  freshness is one small read in both modes (no ``max(ingested_at)`` over
  every chunk);
* on TimescaleDB, ``rollup_refresh_queue``: the whole-hour range of rows
  older than ``policies.LATE_AFTER``, which the continuous aggregates'
  refresh policies may never look at again; a TimescaleDB job owned by the
  schema owner refreshes them every minute (``citybrain_refresh_late_rollups``,
  migrations 014 and 015; ``maintenance.refresh_late_rollups`` runs it at
  once). In plain mode the writer's own rollup upserts are exact
  whatever the lateness, so nothing is queued.
"""

from __future__ import annotations

from psycopg import sql

from citybrain.store.policies import LATE_AFTER

_HOUR_ORIGIN = "TIMESTAMPTZ '2000-01-01 00:00:00+00'"  # whole UTC hours, aligned with time_bucket's buckets


def batch_ctes(table: str, mode: str, inserted: str = "ins") -> list[sql.Composable]:
    source = sql.Identifier(inserted)
    name = sql.Literal(table)
    ctes = [
        sql.SQL(
            "progress AS (INSERT INTO ingest_progress (table_name, last_ingested_at)"
            " SELECT {name}, now() FROM {source} HAVING count(*) > 0"
            " ON CONFLICT (table_name) DO UPDATE"
            " SET last_ingested_at = GREATEST(ingest_progress.last_ingested_at, EXCLUDED.last_ingested_at))"
        ).format(name=name, source=source)
    ]
    if mode == "timescale":
        ctes.append(
            sql.SQL(
                "refresh_queue AS (INSERT INTO rollup_refresh_queue (table_name, range_start, range_end)"
                " SELECT {name}, date_bin('1 hour', min(event_time), {origin}),"
                " date_bin('1 hour', max(event_time), {origin}) + interval '1 hour'"
                " FROM {source} WHERE event_time < now() - {late}::interval HAVING count(*) > 0)"
            ).format(name=name, source=source, origin=sql.SQL(_HOUR_ORIGIN), late=sql.Literal(LATE_AFTER))
        )
    return ctes
