"""Storage operations on the embedded PostgreSQL (and on TimescaleDB when
CITYBRAIN_TEST_TIMESCALE_URL is set): late rows reach the rollups, freshness from ingest progress,
job health, mode detection, dropped test databases.
"""

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql

from citybrain.settings import PROJECT_ROOT
from citybrain.store import maintenance, queries
from citybrain.store.health import job_health
from citybrain.store.migrate import MigrationError, ServerFacts, migrate, storage_mode
from citybrain.store.policies import StorageConfig
from citybrain.store.writer import READINGS, BatchWriter
from tests.conftest import _fresh_database, drop_database
from tests.helpers import free_port, run_citybrain

STORAGE = StorageConfig.load(PROJECT_ROOT / "config")


def reading(when, value, district="510104", kind="pm25"):
    return (uuid.uuid4(), when, "iot-00001", district, kind, float(value), "ug/m3")


def refresh_up_to(url: str, end: datetime) -> None:
    """Materialise the continuous aggregates up to ``end``, as their policies would have by then."""
    with psycopg.connect(url, autocommit=True) as conn:
        for view, bucket in (("readings_1m", "minute"), ("readings_1h", "hour")):
            window_end = end.replace(second=0, microsecond=0, **({"minute": 0} if bucket == "hour" else {}))
            conn.execute(
                sql.SQL("CALL refresh_continuous_aggregate({}, NULL, {}::timestamptz)").format(
                    sql.Literal(view), sql.Literal(window_end)
                )
            )


def test_rows_stored_five_hours_late_reach_the_1m_and_1h_rollups(seeded_url):
    now = datetime.now(UTC)
    late_minute = (now - timedelta(hours=5)).replace(second=0, microsecond=0)
    late_hour = late_minute.replace(minute=0)
    with psycopg.connect(seeded_url) as conn:
        timescale = storage_mode(conn) == "timescale"
        writer = BatchWriter(conn, READINGS)
        writer.write([reading(now - timedelta(minutes=10), 1.0)])
        if timescale:  # the aggregates' watermark moves past the late rows' time, as in a running system
            refresh_up_to(seeded_url, now)
        late = [reading(late_minute + timedelta(seconds=s), v) for s, v in ((10, 10), (20, 20), (30, 30))]
        assert writer.write(late).inserted == 3
        assert writer.write(late).inserted == 0  # a replay of the backlog adds nothing, queues nothing
        queued = conn.execute(
            "SELECT table_name, range_start, range_end FROM rollup_refresh_queue"
        ).fetchall()
        if timescale:
            assert queued == [("readings", late_hour, late_hour + timedelta(hours=1))]
            # below the watermark and outside the refresh policy's window: not in the rollup yet
            assert (
                queries.district_series(
                    conn, "readings", "510104", late_minute, late_minute + timedelta(minutes=1), "1m"
                )
                == []
            )
        else:
            assert queued == []  # plain rollups are exact already

    assert maintenance.refresh_late_rollups(seeded_url) == (1 if timescale else 0)

    with psycopg.connect(seeded_url) as conn:
        minute = queries.district_series(
            conn, "readings", "510104", late_minute, late_minute + timedelta(minutes=1)
        )
        hour = queries.district_series(
            conn, "readings", "510104", late_hour, late_hour + timedelta(hours=1), "1h"
        )
        assert conn.execute("SELECT count(*) FROM rollup_refresh_queue").fetchone()[0] == 0
    assert [(r["bucket"], r["n"], r["value_avg"], r["value_max"]) for r in minute] == [
        (late_minute, 3, 20.0, 30.0)
    ]
    assert [(r["bucket"], r["n"], r["value_avg"]) for r in hour] == [(late_hour, 3, 20.0)]


def test_freshness_is_the_newest_stored_batch_whatever_its_event_times(seeded_url):
    with psycopg.connect(seeded_url) as conn:
        assert queries.city_totals(conn, []).last_ingested is None
        writer = BatchWriter(conn, READINGS)
        rows = [reading(datetime.now(UTC) - timedelta(days=2), 5.0)]
        writer.write(rows)
        stored = conn.execute("SELECT max(ingested_at) FROM readings").fetchone()[0]
        assert queries.city_totals(conn, []).last_ingested == stored
        writer.write(rows)  # a replay stores nothing: the feed has not moved
        assert queries.city_totals(conn, []).last_ingested == stored
        writer.write([reading(datetime.now(UTC), 6.0)])
        newer = conn.execute("SELECT max(ingested_at) FROM readings").fetchone()[0]
        assert newer > stored and queries.city_totals(conn, []).last_ingested == newer


def plain_only(url):
    with psycopg.connect(url) as conn:
        if storage_mode(conn) != "plain":
            pytest.skip("plain-mode maintenance; TimescaleDB jobs are checked in test_timescale.py")


def test_plain_mode_job_health_lists_the_workers_prune_with_its_last_run(seeded_url, monkeypatch):
    plain_only(seeded_url)
    with psycopg.connect(seeded_url) as conn:
        assert job_health(conn) == []  # no TimescaleDB jobs, and the prune has not run yet
    assert maintenance.run_prune(seeded_url) == 0
    with psycopg.connect(seeded_url) as conn:
        [prune] = job_health(conn)
    assert (prune.source, prune.job, prune.last_status, prune.total_runs, prune.total_failures) == (
        "citybrain",
        "retention_prune",
        "success",
        1,
        0,
    )
    assert prune.scheduled and prune.schedule_s == maintenance.PRUNE_EVERY_S
    assert 0 <= prune.last_success_age_s < 60 and prune.healthy and prune.last_error is None

    def broken(conn):
        raise psycopg.errors.DiskFull("could not extend file: No space left on device")

    monkeypatch.setattr(maintenance, "prune_past_retention", broken)
    with pytest.raises(psycopg.errors.DiskFull):
        maintenance.run_prune(seeded_url)
    with psycopg.connect(seeded_url) as conn:
        [prune_after] = job_health(conn)
    assert (prune_after.last_status, prune_after.total_runs, prune_after.total_failures) == ("failed", 2, 1)
    assert prune_after.failing and not prune_after.healthy
    assert "No space left" in prune_after.last_error
    assert prune_after.last_success == prune.last_success  # the last success is still known
    assert (
        maintenance.refresh_late_rollups(seeded_url) == 0
    )  # TimescaleDB only: nothing to do, nothing recorded
    with psycopg.connect(seeded_url) as conn:
        assert [j.job for j in job_health(conn)] == ["retention_prune"]


def installed_not_preloaded(conn):
    return ServerFacts(migrated=None, installed=True, preloaded=False)


def test_timescaledb_installed_but_not_preloaded_is_refused_with_the_fix(database_url, monkeypatch):
    monkeypatch.setattr("citybrain.store.migrate.server_facts", installed_not_preloaded)
    with pytest.raises(MigrationError) as err:
        migrate(database_url)
    message = str(err.value)
    assert "installed" in message and "not preloaded" in message
    assert "shared_preload_libraries" in message and "CITYBRAIN_STORAGE_MODE=plain" in message
    with psycopg.connect(database_url) as conn:  # and nothing was migrated
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == 0


def test_plain_mode_on_request_migrates_where_timescaledb_is_not_preloaded(database_url, monkeypatch):
    monkeypatch.setattr("citybrain.store.migrate.server_facts", installed_not_preloaded)
    applied = migrate(database_url, mode="plain")
    assert "002_rollups.plain.sql" in applied and "009_operations.plain.sql" in applied


def test_requiring_timescaledb_on_a_server_without_it_says_so(pg_server):
    url = _fresh_database(pg_server.get_uri())
    try:
        with pytest.raises(MigrationError, match="CITYBRAIN_STORAGE_MODE=timescale, but .* no TimescaleDB"):
            migrate(url, mode="timescale")
        migrate(url)  # plain
        with pytest.raises(MigrationError, match="migrated in plain mode"):
            migrate(url, mode="timescale")
    finally:
        drop_database(pg_server.get_uri(), url)


@pytest.mark.parametrize(
    "command",
    [["migrate"], ["bench", "ingest"], ["bench", "pipeline"], ["bench", "wall"], ["bench", "video"]],
    ids=" ".join,
)
def test_a_command_against_a_server_that_is_down_prints_one_line_naming_it(command):
    port = free_port()  # nothing listens there
    result = run_citybrain(command, database_url=f"postgresql://citybrain@127.0.0.1:{port}/citybrain")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"citybrain@127.0.0.1:{port}/citybrain" in lines[0] and "unreachable" in lines[0]
    assert "Traceback" not in result.stderr


def test_migrate_command_follows_the_storage_mode_setting(pg_server):
    server_url = pg_server.get_uri()
    url = _fresh_database(server_url)
    try:
        refused = run_citybrain(["migrate"], database_url=url, storage_mode="timescale")
        assert refused.returncode == 2 and "Traceback" not in refused.stderr
        assert "CITYBRAIN_STORAGE_MODE=timescale, but" in refused.stderr
        done = run_citybrain(["migrate"], database_url=url, storage_mode="plain")
        assert done.returncode == 0, done.stderr
        assert "schema up to date (plain mode)" in done.stdout
    finally:
        drop_database(server_url, url)


def test_test_databases_are_dropped_with_whatever_still_connects(pg_server):
    server_url = pg_server.get_uri()
    url = _fresh_database(server_url)
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    lingering = psycopg.connect(url)  # e.g. a worker thread's connection
    drop_database(server_url, url)
    with psycopg.connect(server_url) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None
    assert lingering.closed or lingering.broken or _is_dead(lingering)


def _is_dead(conn) -> bool:
    try:
        conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return True
    return False


# The TimescaleDB code paths, run on the embedded PostgreSQL against stand-ins with TimescaleDB's documented
# names and columns: they check how citybrain composes and reads its SQL, not TimescaleDB itself (that is
# tests/integration/test_timescale.py, against a real server).


def pretend_timescale(monkeypatch, *modules):
    for module in modules:
        monkeypatch.setattr(f"citybrain.store.{module}.storage_mode", lambda conn: "timescale")


def test_late_ranges_are_queued_by_hour_and_refreshed_1m_then_1h(seeded_url, monkeypatch):
    plain_only(seeded_url)
    pretend_timescale(monkeypatch, "writer", "maintenance")
    with psycopg.connect(seeded_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE refresh_calls"
            " (n serial, view text, window_start timestamptz, window_end timestamptz)"
        )
        # refresh_continuous_aggregate(continuous_aggregate REGCLASS, window_start, window_end):
        # commits inside, so it only runs outside a transaction block, as TimescaleDB's does
        conn.execute(
            "CREATE PROCEDURE refresh_continuous_aggregate(cagg regclass, s timestamptz, e timestamptz)"
            " LANGUAGE plpgsql AS $$ BEGIN INSERT INTO refresh_calls (view, window_start, window_end)"
            " VALUES (cagg::text, s, e); COMMIT; END $$"
        )
    now = datetime.now(UTC)
    hour = (now - timedelta(hours=6)).replace(minute=0, second=0, microsecond=0)
    with psycopg.connect(seeded_url) as conn:
        writer = BatchWriter(conn, READINGS)
        writer.write(
            [reading(hour + timedelta(minutes=5), 1), reading(hour + timedelta(hours=1, minutes=59), 2)]
        )
        writer.write([reading(hour + timedelta(hours=1, minutes=30), 3)])  # inside the first range
        writer.write(
            [reading(hour + timedelta(hours=2, minutes=10), 6)]
        )  # the next hour: touches the first range
        writer.write([reading(hour - timedelta(days=2), 4)])
        writer.write([reading(now - timedelta(minutes=20), 5)])  # the refresh policy's own window: not queued
        assert conn.execute("SELECT count(*) FROM rollup_refresh_queue").fetchone()[0] == 4
    # the TimescaleDB job's procedure (migration 014), called as the owner: every queued entry drained
    assert maintenance.refresh_late_rollups(seeded_url) == 4
    with psycopg.connect(seeded_url) as conn:
        calls = conn.execute("SELECT view, window_start, window_end FROM refresh_calls ORDER BY n").fetchall()
        assert conn.execute("SELECT count(*) FROM rollup_refresh_queue").fetchone()[0] == 0
        # its runs are TimescaleDB's job statistics, not a task of the worker's
        assert [j for j in job_health(conn) if j.source == "citybrain"] == []
        assert conn.execute("SELECT pg_try_advisory_lock(%s)", (maintenance._LOCK,)).fetchone()[
            0
        ]  # let go of
    two_days_ago = hour - timedelta(days=2)
    assert calls == [  # merged where they overlap or touch, oldest first, 1-minute views before hourly ones
        ("readings_1m", two_days_ago, two_days_ago + timedelta(hours=1)),
        ("readings_1h", two_days_ago, two_days_ago + timedelta(hours=1)),
        ("readings_1m", hour, hour + timedelta(hours=3)),
        ("readings_1h", hour, hour + timedelta(hours=3)),
    ]
    assert maintenance.refresh_late_rollups(seeded_url) == 0  # nothing queued: nothing refreshed


def test_a_failed_refresh_keeps_its_ranges_and_lets_go_of_the_lock(seeded_url, monkeypatch):
    plain_only(seeded_url)
    pretend_timescale(monkeypatch, "writer", "maintenance")
    with psycopg.connect(seeded_url, autocommit=True) as conn:
        conn.execute(
            "CREATE PROCEDURE refresh_continuous_aggregate(cagg regclass, s timestamptz, e timestamptz)"
            " LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'cannot refresh %', cagg; END $$"
        )
    with psycopg.connect(seeded_url) as conn:
        BatchWriter(conn, READINGS).write([reading(datetime.now(UTC) - timedelta(hours=5), 1)])
    for _ in range(2):  # the lock is let go of after a failure: the next run tries again
        with pytest.raises(psycopg.errors.RaiseException, match="cannot refresh readings_1m"):
            maintenance.refresh_late_rollups(seeded_url)
    with psycopg.connect(seeded_url) as conn:
        assert (
            conn.execute("SELECT count(*) FROM rollup_refresh_queue").fetchone()[0] == 1
        )  # tried again next time


STAND_IN_VIEWS = """
CREATE SCHEMA timescaledb_information;
CREATE VIEW timescaledb_information.jobs AS
SELECT * FROM (VALUES
  (2, interval '1 month', 'policy_job_error_retention'::name, true, NULL::timestamptz,
   NULL::name, NULL::name),
  (1000, interval '1 minute', 'policy_refresh_continuous_aggregate', true, NULL, '_timescaledb_internal',
   '_materialized_hypertable_5'),
  (1001, interval '12 hours', 'policy_compression', true, '-infinity', 'public', 'readings'),
  (1002, interval '1 day', 'policy_retention', true, NULL, 'public', 'indicators')
) AS j (job_id, schedule_interval, proc_name, scheduled, next_start, hypertable_schema, hypertable_name);
CREATE VIEW timescaledb_information.job_stats AS
SELECT * FROM (VALUES
  (1000, now() - interval '30 seconds', '-infinity'::timestamptz, 'Failed',
   now() + interval '5 minutes', 4, 0, 4),
  (1002, now() - interval '1 hour', now() - interval '1 hour', 'Success',
   now() + interval '23 hours', 1, 1, 0)
) AS s (job_id, last_run_started_at, last_successful_finish, last_run_status, next_start,
        total_runs, total_successes, total_failures);
CREATE VIEW timescaledb_information.continuous_aggregates AS
SELECT 'public'::name AS view_schema, 'readings_1m'::name AS view_name,
       '_timescaledb_internal'::name AS materialization_hypertable_schema,
       '_materialized_hypertable_5'::name AS materialization_hypertable_name;
CREATE VIEW timescaledb_information.job_errors AS
SELECT * FROM (VALUES (1000, now() - interval '2 hours', 'an older error'),
                      (1000, now() - interval '20 seconds', 'canceling statement due to lock timeout'))
  AS e (job_id, finish_time, err_message);
INSERT INTO maintenance_runs (task, schedule_s, last_started, last_finished, last_status)
VALUES ('apply_policies', NULL, now() - interval '1 day', now() - interval '1 day', 'success');
"""


def test_timescaledb_job_health_maps_views_errors_and_never_run_jobs(seeded_url, monkeypatch):
    plain_only(seeded_url)
    pretend_timescale(monkeypatch, "health")
    with psycopg.connect(seeded_url, autocommit=True) as conn:
        conn.execute(STAND_IN_VIEWS)
        jobs = {j.job: j for j in job_health(conn) if j.source == "timescaledb"}
    assert sorted(jobs) == ["1000", "1001", "1002"]  # TimescaleDB's own jobs (ids below 1000) are not ours
    refresh, compression, retention = jobs["1000"], jobs["1001"], jobs["1002"]
    assert (refresh.relation, refresh.kind, refresh.last_status) == (
        "readings_1m",
        "policy_refresh_continuous_aggregate",
        "failed",
    )  # the view, not its hypertable
    assert refresh.failing and refresh.total_failures == 4 and refresh.last_success is None
    assert refresh.last_error == "canceling statement due to lock timeout"  # the newest error
    assert (compression.relation, compression.last_status, compression.next_start) == ("readings", None, None)
    assert (
        compression.overdue
    )  # registered a day ago (policies applied), never run: no background worker took it
    assert retention.healthy and retention.last_error is None and 3500 < retention.last_success_age_s < 3700
