-- Per-district rollups without TimescaleDB: plain tables under the same names
-- and columns as the continuous aggregates of 002_rollups.timescale.sql. The
-- batch writer adds each batch's newly inserted rows to them in the same
-- transaction (see store/writer.py), so they are exact and replay-safe.
-- Buckets are aligned like time_bucket(): on whole UTC minutes and hours.

CREATE TABLE readings_1m (
    bucket     timestamptz NOT NULL,
    district   text NOT NULL,
    kind       text NOT NULL,
    n          bigint NOT NULL,
    value_sum  double precision NOT NULL,
    value_min  double precision NOT NULL,
    value_max  double precision NOT NULL,
    PRIMARY KEY (district, kind, bucket)
);
CREATE TABLE readings_1h (LIKE readings_1m INCLUDING ALL);

CREATE TABLE camera_status_1m (
    bucket     timestamptz NOT NULL,
    district   text NOT NULL,
    reports    bigint NOT NULL,
    down       bigint NOT NULL,   -- offline or fault reports
    PRIMARY KEY (district, bucket)
);
CREATE TABLE camera_status_1h (LIKE camera_status_1m INCLUDING ALL);

CREATE TABLE case_events_1m (
    bucket       timestamptz NOT NULL,
    district     text NOT NULL,
    created      bigint NOT NULL,
    emergencies  bigint NOT NULL,  -- emergency cases created
    resolved     bigint NOT NULL,
    closed       bigint NOT NULL,
    PRIMARY KEY (district, bucket)
);
CREATE TABLE case_events_1h (LIKE case_events_1m INCLUDING ALL);
