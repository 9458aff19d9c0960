-- Retention covers the leaders' rollups too. They are plain tables in both
-- storage modes (migration 016), so TimescaleDB's retention policies do not
-- reach them: the worker prunes them through this function of the owner's,
-- by the retention the owner wrote into `retention_days` (migration 019).

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

CREATE FUNCTION citybrain_prune_past_retention() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    RETURN citybrain_prune_leader_rollups((SELECT days FROM retention_days WHERE what = 'rollup_1h'));
END $$;
