-- Which sensors reported in each minute, and the highest value each sent.
--
-- Every risk tick recomputes about eight windows, and each asked which
-- sensors were heard in the last 15 minutes and which went over their
-- threshold by scanning every raw reading of those minutes: 40 ms a window
-- with 100,000 readings in the table, two seconds a tick with 1,000,000 (at
-- 1,200 readings a second a 15-minute window holds that many), longer than
-- the tick itself. The writer keeps this table in the same transaction as the
-- readings (the sensors' fold, store/writer.py), so a window's whole minutes
-- read at most one row per sensor and minute; only its partial minutes at
-- either end still read raw readings (store/risk.py). A plain table in both
-- storage modes, kept as long as the 1-minute rollups.
CREATE TABLE sensor_minutes (
    bucket     timestamptz NOT NULL,
    device_id  text NOT NULL,
    peak       double precision NOT NULL,
    PRIMARY KEY (bucket, device_id)
);

-- The owner's retention for it (migration 019's table): the caller cannot
-- choose the days.
CREATE FUNCTION citybrain_prune_sensor_minutes() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    days_1m int;
    n bigint;
BEGIN
    SELECT days INTO days_1m FROM retention_days WHERE what = 'rollup_1m';
    IF days_1m IS NULL THEN
        RETURN 0;  -- no retention applied yet: keep everything
    END IF;
    DELETE FROM sensor_minutes WHERE bucket < now() - make_interval(days => days_1m);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
