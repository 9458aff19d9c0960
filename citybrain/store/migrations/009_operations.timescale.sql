-- Bookkeeping the operations view reads, kept in step with 009_operations.plain.sql.
--
-- ingest_progress: when each raw table last stored rows, kept by the batch
-- writer in each batch's transaction, so the dashboard's freshness is one
-- tiny read instead of max(ingested_at) over every chunk.
CREATE TABLE ingest_progress (
    table_name        text PRIMARY KEY,
    last_ingested_at  timestamptz NOT NULL
);
INSERT INTO ingest_progress SELECT 'readings', max(ingested_at) FROM readings HAVING count(*) > 0;
INSERT INTO ingest_progress SELECT 'camera_status', max(ingested_at) FROM camera_status HAVING count(*) > 0;
INSERT INTO ingest_progress SELECT 'case_events', max(ingested_at) FROM case_events HAVING count(*) > 0;

-- rollup_refresh_queue: time ranges of raw rows stored too late for the
-- continuous aggregates' refresh policies (TimescaleDB), recorded by the
-- writer in the batch's transaction and refreshed by the worker
-- (store/maintenance.py). Unused in plain mode, whose rollup tables the
-- writer keeps exact itself.
CREATE TABLE rollup_refresh_queue (
    id           bigserial PRIMARY KEY,
    table_name   text NOT NULL,
    range_start  timestamptz NOT NULL,
    range_end    timestamptz NOT NULL CHECK (range_end > range_start),
    queued_at    timestamptz NOT NULL DEFAULT now()
);

-- maintenance_runs: the last run of each periodic task citybrain itself runs
-- (plain-mode retention, late-rollup refresh), the counterpart of
-- TimescaleDB's job statistics, so failing or overdue tasks are visible.
CREATE TABLE maintenance_runs (
    task           text PRIMARY KEY,
    schedule_s     double precision,          -- expected period; NULL: not periodic
    last_started   timestamptz NOT NULL,
    last_finished  timestamptz NOT NULL,
    last_success   timestamptz,
    last_status    text NOT NULL CHECK (last_status IN ('success', 'failed')),
    last_error     text,
    last_rows      bigint,
    runs           bigint NOT NULL DEFAULT 1,
    failures       bigint NOT NULL DEFAULT 0
);

-- Compression. The unique key's event_id joins the ordering (TimescaleDB
-- warned without it); since 2.18 new settings apply to chunks compressed from
-- now on, already compressed chunks keep theirs.
-- The same statements as 002's, so the segmenting is restated unchanged.
ALTER TABLE readings SET (timescaledb.compress, timescaledb.compress_segmentby = 'district, kind',
                          timescaledb.compress_orderby = 'event_time DESC, event_id');
ALTER TABLE camera_status SET (timescaledb.compress, timescaledb.compress_segmentby = 'district',
                               timescaledb.compress_orderby = 'event_time DESC, event_id');
ALTER TABLE case_events SET (timescaledb.compress, timescaledb.compress_segmentby = 'district',
                             timescaledb.compress_orderby = 'event_time DESC, event_id');

-- Rollups and indicators are kept for years: compress them too (policies in
-- store/policies.py from config/storage.yaml). A continuous aggregate is
-- segmented by its GROUP BY columns and ordered by its bucket by default.
ALTER MATERIALIZED VIEW readings_1m SET (timescaledb.compress = true);
ALTER MATERIALIZED VIEW readings_1h SET (timescaledb.compress = true);
ALTER MATERIALIZED VIEW camera_status_1m SET (timescaledb.compress = true);
ALTER MATERIALIZED VIEW camera_status_1h SET (timescaledb.compress = true);
ALTER MATERIALIZED VIEW case_events_1m SET (timescaledb.compress = true);
ALTER MATERIALIZED VIEW case_events_1h SET (timescaledb.compress = true);
ALTER TABLE indicators SET (timescaledb.compress, timescaledb.compress_segmentby = 'district, window_s',
                            timescaledb.compress_orderby = 'window_end DESC');
