-- TimescaleDB runs the late-range refresh (014) every minute as a job owned
-- by the role that runs the migrations, the continuous aggregates' owner, so
-- it may call refresh_continuous_aggregate; its runs, failures and errors are
-- in timescaledb_information.job_stats / job_errors like the policies'. The
-- worker no longer runs it: drop the record of its old task, which would
-- otherwise show as overdue.
SELECT add_job('citybrain_refresh_late_rollups', INTERVAL '1 minute');
DELETE FROM maintenance_runs WHERE task = 'late_rollup_refresh';
