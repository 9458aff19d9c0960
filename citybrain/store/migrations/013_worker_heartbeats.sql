-- Which workers are alive and which input partitions each holds: every
-- worker process writes its row every few seconds (store/heartbeats.py); the
-- operations page marks a worker whose last beat is older than three beats
-- as stale. A worker that stopped keeps its row (stale) for a day.
CREATE TABLE worker_heartbeats (
    worker      text PRIMARY KEY,         -- host/pid
    app_id      text NOT NULL,            -- CITYBRAIN_WORKER_ID: the worker group
    host        text NOT NULL,
    pid         integer NOT NULL,
    started_at  timestamptz NOT NULL,
    beat_at     timestamptz NOT NULL,
    partitions  jsonb NOT NULL DEFAULT '[]'  -- [{"topic": ..., "partition": ...}] of the ingest consumer
);
