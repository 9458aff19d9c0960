-- The late-range refresh as a procedure, so TimescaleDB can run it as a job
-- owned by the role that migrates (015): refresh_continuous_aggregate may
-- only be run by the continuous aggregates' owner, and the worker connects as
-- the application role, which owns nothing.
--
-- It drains rollup_refresh_queue (the hours of raw rows the batch writer
-- stored too late for the refresh policies): the queued ranges of each table,
-- merged where they overlap or touch, are refreshed in *_1m, then in *_1h
-- (the hourly views read the 1-minute ones), oldest first; the entries it
-- started with are deleted only after every refresh succeeded, so a failure
-- leaves them for the next run. One run at a time across sessions (advisory
-- lock 1667396145, as in store/maintenance.py).
--
-- refresh_continuous_aggregate commits as it goes: it runs only from a
-- top-level CALL outside a transaction block (or from the job scheduler),
-- never from a function or an EXCEPTION block, and no loop here keeps a
-- cursor open across a COMMIT. Created in plain mode too, where nothing calls
-- it (the writer keeps plain rollups exact and queues nothing).
CREATE PROCEDURE citybrain_refresh_late_rollups(job_id integer DEFAULT NULL, config jsonb DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
    lock_key CONSTANT bigint := 1667396145;
    drained bigint[];
    tables text[];
    starts timestamptz[];
    ends timestamptz[];
    resolution text;
BEGIN
    IF NOT pg_try_advisory_lock(lock_key) THEN
        RETURN;  -- another run is at it
    END IF;
    SELECT array_agg(id ORDER BY id) INTO drained FROM rollup_refresh_queue;
    IF drained IS NULL THEN
        PERFORM pg_advisory_unlock(lock_key);
        RETURN;
    END IF;
    SELECT array_agg(m.table_name ORDER BY m.table_name, m.range_start),
           array_agg(m.range_start ORDER BY m.table_name, m.range_start),
           array_agg(m.range_end ORDER BY m.table_name, m.range_start)
      INTO tables, starts, ends
      FROM (SELECT numbered.table_name, min(numbered.range_start) AS range_start,
                   max(numbered.range_end) AS range_end
              FROM (SELECT flagged.*,
                           sum(flagged.starts_island::int) OVER (PARTITION BY flagged.table_name
                                                                 ORDER BY flagged.range_start, flagged.range_end,
                                                                          flagged.id) AS island
                      FROM (SELECT q.id, q.table_name, q.range_start, q.range_end,
                                   q.range_start > coalesce(max(q.range_end) OVER (
                                       PARTITION BY q.table_name ORDER BY q.range_start, q.range_end, q.id
                                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), '-infinity')
                                       AS starts_island
                              FROM rollup_refresh_queue q
                             WHERE q.id = ANY (drained)) flagged) numbered
             GROUP BY numbered.table_name, numbered.island) m;
    COMMIT;
    FOR i IN 1 .. array_length(tables, 1) LOOP
        FOREACH resolution IN ARRAY ARRAY['1m', '1h'] LOOP
            CALL refresh_continuous_aggregate(format('%I', tables[i] || '_' || resolution)::regclass,
                                              starts[i], ends[i]);
            COMMIT;
        END LOOP;
    END LOOP;
    DELETE FROM rollup_refresh_queue WHERE id = ANY (drained);
    COMMIT;
    PERFORM pg_advisory_unlock(lock_key);
END
$$;
