-- Retention covers the leaders' rollups too: the owner's prune (migration
-- 019) now also deletes their rows past the hourly rollups' retention.

-- The leaders' rollups of migration 016 (plain tables in both storage modes)
-- are kept as long as the hourly rollups.
CREATE FUNCTION citybrain_prune_leader_rollups(days integer) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    t text;
    n bigint;
    total bigint := 0;
BEGIN
    IF days IS NULL OR days < 1 THEN
        RETURN 0;
    END IF;
    FOREACH t IN ARRAY ARRAY['case_kpis_1h', 'case_kpis_1d', 'case_units_1h', 'case_units_1d', 'indicators_1h']
    LOOP
        EXECUTE format('DELETE FROM %I WHERE bucket < now() - make_interval(days => $1)', t) USING days;
        GET DIAGNOSTICS n = ROW_COUNT;
        total := total + n;
    END LOOP;
    RETURN total;
END $$;
-- only through the retention function below: its caller cannot choose the days
REVOKE EXECUTE ON FUNCTION citybrain_prune_leader_rollups(integer) FROM PUBLIC;

CREATE OR REPLACE FUNCTION citybrain_prune_past_retention() RETURNS bigint
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
    RETURN total + n + citybrain_prune_leader_rollups(days_1h);
END $$;
