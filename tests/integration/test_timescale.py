"""TimescaleDB-only checks, run when CITYBRAIN_TEST_TIMESCALE_URL names a TimescaleDB server.

The embedded default has no TimescaleDB build, so without that variable
these are skipped; the rest of the storage suite runs on both (late rows
reaching the rollups: tests/integration/test_storage_ops.py).
"""

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from citybrain.store import queries
from citybrain.store.health import job_health
from citybrain.store.writer import READINGS, BatchWriter
from tests.conftest import TIMESCALE_URL
from tests.helpers import wait_until
from tests.integration.test_read_api import READINGS_ROWS, at
from tests.integration.test_storage_ops import reading, refresh_up_to

pytestmark = pytest.mark.skipif(
    not TIMESCALE_URL, reason="needs CITYBRAIN_TEST_TIMESCALE_URL (a TimescaleDB server)"
)


@pytest.fixture
def ts_url(seeded_url):
    with psycopg.connect(seeded_url) as conn:
        if not conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone():
            pytest.skip("this parametrisation is the embedded PostgreSQL")
    return seeded_url


def test_raw_tables_are_hypertables(ts_url):
    with psycopg.connect(ts_url) as conn:
        names = {
            r[0] for r in conn.execute("SELECT hypertable_name FROM timescaledb_information.hypertables")
        }
    assert {"readings", "camera_status", "case_events"} <= names


def test_continuous_aggregates_refresh_and_answer_like_the_fallback(ts_url):
    with psycopg.connect(ts_url) as conn:
        BatchWriter(conn, READINGS).write(READINGS_ROWS)
        realtime = queries.district_series(conn, "readings", "510104", at(8), at(10), "1h")
    with psycopg.connect(ts_url, autocommit=True) as conn:
        for view in ("readings_1m", "readings_1h"):
            conn.execute(f"CALL refresh_continuous_aggregate('{view}', NULL, NULL)")
        refreshed = queries.district_series(conn, "readings", "510104", at(8), at(10), "1h")
        materialized = conn.execute(
            "SELECT count(*) FROM _timescaledb_catalog.continuous_agg ca"
            " WHERE ca.user_view_name IN ('readings_1m', 'readings_1h')"
        ).fetchone()[0]
    assert materialized == 2
    assert realtime == refreshed
    assert [(r["bucket"], r["n"], r["value_avg"]) for r in refreshed] == [(at(8), 4, 40.0), (at(9), 1, 60.0)]


ROLLUPS = [f"{t}_{r}" for t in ("readings", "camera_status", "case_events") for r in ("1m", "1h")]
RAW = ["readings", "camera_status", "case_events"]


def test_compression_retention_and_refresh_policies_are_registered(ts_url):
    with psycopg.connect(ts_url) as conn:
        jobs = [j for j in job_health(conn) if j.source == "timescaledb"]
    by_kind: dict[str, list] = {}
    for j in jobs:
        by_kind.setdefault(j.kind, []).append(j.relation)
    assert sorted(by_kind["policy_compression"]) == sorted(RAW + ROLLUPS + ["indicators"])
    assert sorted(by_kind["policy_retention"]) == sorted(RAW + ROLLUPS + ["indicators"])
    assert sorted(by_kind["policy_refresh_continuous_aggregate"]) == sorted(ROLLUPS)
    assert by_kind["citybrain_refresh_late_rollups"] == [None]  # the late-range refresh, as the owner's job
    assert len(jobs) == 27  # the figure the README gives for sizing background workers


def test_every_policy_job_runs_and_reports_its_health(ts_url):
    with psycopg.connect(ts_url) as conn:
        jobs = [j for j in job_health(conn) if j.source == "timescaledb"]
    with psycopg.connect(ts_url, autocommit=True) as conn:  # run_job commits as it goes: no transaction block
        for job in jobs:
            conn.execute("CALL run_job(%s)", (int(job.job),))  # raises if the job fails
    with psycopg.connect(ts_url) as conn:
        after = {j.job: j for j in job_health(conn) if j.source == "timescaledb"}
    assert set(after) == {j.job for j in jobs}
    assert not [j for j in after.values() if j.failing]
    assert all(j.scheduled and j.schedule_s > 0 for j in after.values())


def test_a_failing_job_is_reported_with_its_error(ts_url):
    with psycopg.connect(ts_url, autocommit=True) as conn:
        conn.execute(
            "CREATE PROCEDURE citybrain_test_fails(job_id int, config jsonb) LANGUAGE plpgsql AS $$"
            " BEGIN RAISE EXCEPTION 'storage job test failure'; END $$"
        )
        job_id = conn.execute(
            "SELECT add_job('citybrain_test_fails', INTERVAL '1 hour', initial_start => now())"
        ).fetchone()[0]

    def failing():
        with psycopg.connect(ts_url) as conn:
            return next((j for j in job_health(conn) if j.job == str(job_id) and j.failing), None)

    job = wait_until(failing, timeout_s=180, interval_s=2, what="the scheduler to run the failing job")
    assert job.kind == "citybrain_test_fails" and job.total_failures >= 1 and not job.healthy
    assert "storage job test failure" in job.last_error


def test_compression_covers_rollups_and_indicators_and_orders_by_event_id(ts_url):
    with psycopg.connect(ts_url) as conn:
        caggs = dict(
            conn.execute(
                "SELECT view_name::text, compression_enabled"
                " FROM timescaledb_information.continuous_aggregates"
            ).fetchall()
        )
        orderby = dict(
            conn.execute(
                "SELECT hypertable::text, orderby"
                " FROM timescaledb_information.hypertable_compression_settings"
                " WHERE hypertable::text IN ('readings', 'camera_status', 'case_events', 'indicators')"
            ).fetchall()
        )
        current, newest = conn.execute(
            "SELECT e.extversion, a.default_version FROM pg_extension e"
            " JOIN pg_available_extensions a ON a.name = e.extname WHERE e.extname = 'timescaledb'"
        ).fetchone()
    assert caggs == dict.fromkeys(ROLLUPS, True)
    assert set(orderby) == {"readings", "camera_status", "case_events", "indicators"}
    assert all("event_id" in orderby[t] for t in RAW)
    assert current == newest  # migrate updates the extension when the server has a newer one


def test_late_rows_reach_the_rollups_through_the_owners_job_not_the_application_role(ts_url, app_url):
    """refresh_continuous_aggregate refuses the worker's application role (not the owner), so the late-range
    refresh is a TimescaleDB job owned by the role that migrates; rows the worker stores five hours late, as
    that application role, reach both rollups when the job runs."""
    with psycopg.connect(app_url, autocommit=True) as conn:
        with pytest.raises(psycopg.Error, match="owner"):
            conn.execute("CALL refresh_continuous_aggregate('readings_1m', NULL, NULL)")
    with psycopg.connect(ts_url) as conn:
        me = conn.execute("SELECT current_user::text").fetchone()[0]
        [(job_id, owner, schedule)] = conn.execute(
            "SELECT job_id, owner::text, schedule_interval FROM timescaledb_information.jobs"
            " WHERE proc_name = 'citybrain_refresh_late_rollups'"
        ).fetchall()
    assert owner == me and schedule == timedelta(minutes=1)

    now = datetime.now(UTC)
    late_minute = (now - timedelta(hours=5)).replace(second=0, microsecond=0)
    late_hour = late_minute.replace(minute=0)
    with psycopg.connect(app_url) as conn:
        BatchWriter(conn, READINGS).write([reading(now - timedelta(minutes=10), 1.0)])
    refresh_up_to(ts_url, now)  # the watermark passes the late rows' time, as in a running system
    with psycopg.connect(app_url) as conn:
        BatchWriter(conn, READINGS).write(
            [reading(late_minute + timedelta(seconds=s), v) for s, v in ((10, 10), (20, 20), (30, 30))]
        )
        assert conn.execute("SELECT count(*) FROM rollup_refresh_queue").fetchone()[0] == 1
        assert (
            queries.district_series(
                conn, "readings", "510104", late_minute, late_minute + timedelta(minutes=1), "1m"
            )
            == []
        )

    with psycopg.connect(ts_url, autocommit=True) as conn:  # what the scheduler does every minute
        conn.execute("CALL run_job(%s)", (job_id,))
    with psycopg.connect(app_url) as conn:
        minute = queries.district_series(
            conn, "readings", "510104", late_minute, late_minute + timedelta(minutes=1)
        )
        hour = queries.district_series(
            conn, "readings", "510104", late_hour, late_hour + timedelta(hours=1), "1h"
        )
        assert conn.execute("SELECT count(*) FROM rollup_refresh_queue").fetchone()[0] == 0
    assert [(r["bucket"], r["n"], r["value_avg"]) for r in minute] == [(late_minute, 3, 20.0)]
    assert [(r["bucket"], r["n"], r["value_avg"]) for r in hour] == [(late_hour, 3, 20.0)]
