-- History is pruned by the schema owner's rules, not by whoever connects.
--
-- The application role may only add to the event tables (readings,
-- camera_status, case_events) and to dead_letters: it has no UPDATE or
-- DELETE on them (store/roles.py). Yet plain PostgreSQL has no retention
-- job of its own, so the worker prunes. It does so through this function,
-- which runs with its owner's rights (SECURITY DEFINER) and deletes only
-- what is older than the retention the owner wrote into `retention_days`
-- when it applied config/storage.yaml. The worker cannot choose what to
-- delete: it can only ask for the owner's rule to be applied now.
CREATE TABLE retention_days (
    what  text PRIMARY KEY CHECK (what IN ('raw', 'rollup_1m', 'rollup_1h')),
    days  integer NOT NULL CHECK (days >= 1)
);

CREATE FUNCTION citybrain_prune_past_retention() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    raw_days int;
    days_1m int;
    days_1h int;
    t text;
    n bigint;
    total bigint := 0;
BEGIN
    SELECT days INTO raw_days FROM retention_days WHERE what = 'raw';
    SELECT days INTO days_1m FROM retention_days WHERE what = 'rollup_1m';
    SELECT days INTO days_1h FROM retention_days WHERE what = 'rollup_1h';
    IF raw_days IS NULL OR days_1m IS NULL OR days_1h IS NULL THEN
        RETURN 0;  -- no retention applied yet: keep everything
    END IF;
    FOREACH t IN ARRAY ARRAY['readings', 'camera_status', 'case_events'] LOOP
        EXECUTE format('DELETE FROM %I WHERE event_time < now() - make_interval(days => $1)', t)
            USING raw_days;
        GET DIAGNOSTICS n = ROW_COUNT;
        total := total + n;
        EXECUTE format('DELETE FROM %I WHERE bucket < now() - make_interval(days => $1)', t || '_1m')
            USING days_1m;
        GET DIAGNOSTICS n = ROW_COUNT;
        total := total + n;
        EXECUTE format('DELETE FROM %I WHERE bucket < now() - make_interval(days => $1)', t || '_1h')
            USING days_1h;
        GET DIAGNOSTICS n = ROW_COUNT;
        total := total + n;
    END LOOP;
    -- indicators are what leaders read trends from: kept as long as the hourly rollups
    DELETE FROM indicators WHERE window_end < now() - make_interval(days => days_1h);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN total + n;
END $$;
