-- TimescaleDB: raw event tables become hypertables with per-district
-- continuous aggregates at 1 minute and 1 hour (real-time: recent raw rows
-- are merged in at query time, so the dashboard never waits for a refresh).
-- Compression, retention and refresh policies are applied after migrations
-- from config/storage.yaml (store/policies.py), so they can be changed
-- without a new migration.
--
-- Chunk intervals, sized for Chengdu (a chunk should fit comfortably in
-- memory with its indexes):
--   readings       1 day   ~1,760 sensors at 1/min = 2.5 M rows/day (~0.4 GB)
--   camera_status  6 hours ~95,000 cameras reporting every 5 min = 27 M rows/day;
--                          a day would be ~4 GB, six hours ~1 GB
--   case_events    30 days ~3 M appeals/year x ~4 events = ~33 k rows/day
-- The (event_id, event_time) primary keys include the time column, as
-- hypertables require.

CREATE EXTENSION IF NOT EXISTS timescaledb;

SELECT create_hypertable('readings', 'event_time', chunk_time_interval => INTERVAL '1 day',
                         if_not_exists => TRUE, migrate_data => TRUE);
SELECT create_hypertable('camera_status', 'event_time', chunk_time_interval => INTERVAL '6 hours',
                         if_not_exists => TRUE, migrate_data => TRUE);
SELECT create_hypertable('case_events', 'event_time', chunk_time_interval => INTERVAL '30 days',
                         if_not_exists => TRUE, migrate_data => TRUE);

-- event_id is in the ordering because it is part of the unique key (databases
-- migrated before it was added get it from 009).
ALTER TABLE readings SET (timescaledb.compress, timescaledb.compress_segmentby = 'district, kind',
                          timescaledb.compress_orderby = 'event_time DESC, event_id');
ALTER TABLE camera_status SET (timescaledb.compress, timescaledb.compress_segmentby = 'district',
                               timescaledb.compress_orderby = 'event_time DESC, event_id');
ALTER TABLE case_events SET (timescaledb.compress, timescaledb.compress_segmentby = 'district',
                             timescaledb.compress_orderby = 'event_time DESC, event_id');

CREATE MATERIALIZED VIEW readings_1m WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 minute', event_time) AS bucket, district, kind,
       count(*) AS n, sum(value) AS value_sum, min(value) AS value_min, max(value) AS value_max
  FROM readings GROUP BY 1, district, kind
WITH NO DATA;

CREATE MATERIALIZED VIEW readings_1h WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', bucket) AS bucket, district, kind,
       sum(n)::bigint AS n, sum(value_sum) AS value_sum, min(value_min) AS value_min, max(value_max) AS value_max
  FROM readings_1m GROUP BY 1, district, kind
WITH NO DATA;

CREATE MATERIALIZED VIEW camera_status_1m WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 minute', event_time) AS bucket, district,
       count(*) AS reports, count(*) FILTER (WHERE status <> 'online') AS down
  FROM camera_status GROUP BY 1, district
WITH NO DATA;

CREATE MATERIALIZED VIEW camera_status_1h WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', bucket) AS bucket, district,
       sum(reports)::bigint AS reports, sum(down)::bigint AS down
  FROM camera_status_1m GROUP BY 1, district
WITH NO DATA;

CREATE MATERIALIZED VIEW case_events_1m WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 minute', event_time) AS bucket, district,
       count(*) FILTER (WHERE type = 'created') AS created,
       count(*) FILTER (WHERE type = 'created' AND urgency = 'emergency') AS emergencies,
       count(*) FILTER (WHERE type = 'resolved') AS resolved,
       count(*) FILTER (WHERE type = 'closed') AS closed
  FROM case_events GROUP BY 1, district
WITH NO DATA;

CREATE MATERIALIZED VIEW case_events_1h WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', bucket) AS bucket, district,
       sum(created)::bigint AS created, sum(emergencies)::bigint AS emergencies,
       sum(resolved)::bigint AS resolved, sum(closed)::bigint AS closed
  FROM case_events_1m GROUP BY 1, district
WITH NO DATA;
