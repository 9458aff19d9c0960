"""Storage operations on the embedded PostgreSQL (and on TimescaleDB when CITYBRAIN_TEST_TIMESCALE_URL is set):
late rows reach the rollups, freshness from ingest progress, job health, mode detection, dropped test databases.
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
            conn.execute(sql.SQL("CALL refresh_continuous_aggregate({}, NULL, {}::timestamptz)")
                         .format(sql.Literal(view), sql.Literal(window_end)))


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
        queued = conn.execute("SELECT table_name, range_start, range_end FROM rollup_refresh_queue").fetchall()
        if timescale:
            assert queued == [("readings", late_hour, late_hour + timedelta(hours=1))]
            # below the watermark and outside the refresh policy's window: not in the rollup yet
            assert queries.district_series(conn, "readings", "510104", late_minute,
                                           late_minute + timedelta(minutes=1), "1m") == []
        else:
            assert queued == []  # plain rollups are exact already

    assert maintenance.refresh_late_rollups(seeded_url) == (1 if timescale else 0)

    with psycopg.connect(seeded_url) as conn:
        minute = queries.district_series(conn, "readings", "510104", late_minute, late_minute + timedelta(minutes=1))
        hour = queries.district_series(conn, "readings", "510104", late_hour, late_hour + timedelta(hours=1), "1h")
        assert conn.execute("SELECT count(*) FROM rollup_refresh_queue").fetchone()[0] == 0
    assert [(r["bucket"], r["n"], r["value_avg"], r["value_max"]) for r in minute] == [(late_minute, 3, 20.0, 30.0)]
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
    assert maintenance.run_prune(seeded_url, STORAGE) == 0
    with psycopg.connect(seeded_url) as conn:
        [prune] = job_health(conn)
    assert (prune.source, prune.job, prune.last_status, prune.total_runs, prune.total_failures) == \
        ("citybrain", "retention_prune", "success", 1, 0)
    assert prune.scheduled and prune.schedule_s == maintenance.PRUNE_EVERY_S
    assert 0 <= prune.last_success_age_s < 60 and prune.healthy and prune.last_error is None

    def broken(conn, cfg):
        raise psycopg.errors.DiskFull("could not extend file: No space left on device")

    monkeypatch.setattr(maintenance, "prune_plain", broken)
    with pytest.raises(psycopg.errors.DiskFull):
        maintenance.run_prune(seeded_url, STORAGE)
    with psycopg.connect(seeded_url) as conn:
        [prune_after] = job_health(conn)
    assert (prune_after.last_status, prune_after.total_runs, prune_after.total_failures) == ("failed", 2, 1)
    assert prune_after.failing and not prune_after.healthy
    assert "No space left" in prune_after.last_error
    assert prune_after.last_success == prune.last_success  # the last success is still known
    assert maintenance.refresh_late_rollups(seeded_url) == 0  # TimescaleDB only: nothing to do, nothing recorded
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


def test_migrate_against_a_server_that_is_down_prints_one_line_naming_it():
    port = free_port()  # nothing listens there
    result = run_citybrain(["migrate"], database_url=f"postgresql://citybrain@127.0.0.1:{port}/citybrain")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"citybrain@127.0.0.1:{port}/citybrain" in lines[0] and "unreachable" in lines[0]
    assert "Traceback" not in result.stderr


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
