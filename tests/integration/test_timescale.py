"""TimescaleDB-only checks, run when CITYBRAIN_TEST_TIMESCALE_URL names a TimescaleDB server.

The embedded default has no TimescaleDB build, so without that variable
these are skipped; the rest of the storage suite runs on both.
"""

import psycopg
import pytest

from citybrain.store import queries
from citybrain.store.writer import READINGS, BatchWriter
from tests.conftest import TIMESCALE_URL
from tests.integration.test_read_api import READINGS_ROWS, at

pytestmark = pytest.mark.skipif(not TIMESCALE_URL, reason="needs CITYBRAIN_TEST_TIMESCALE_URL (a TimescaleDB server)")


@pytest.fixture
def ts_url(seeded_url):
    with psycopg.connect(seeded_url) as conn:
        if not conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone():
            pytest.skip("this parametrisation is the embedded PostgreSQL")
    return seeded_url


def test_raw_tables_are_hypertables(ts_url):
    with psycopg.connect(ts_url) as conn:
        names = {r[0] for r in conn.execute("SELECT hypertable_name FROM timescaledb_information.hypertables")}
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


def test_compression_retention_and_refresh_policies_are_registered(ts_url):
    with psycopg.connect(ts_url) as conn:
        jobs = conn.execute(
            "SELECT proc_name, hypertable_name FROM timescaledb_information.jobs"
            " WHERE proc_name IN ('policy_compression', 'policy_retention', 'policy_refresh_continuous_aggregate')"
        ).fetchall()
    kinds = {proc for proc, _ in jobs}
    assert kinds == {"policy_compression", "policy_retention", "policy_refresh_continuous_aggregate"}
    compressed = {table for proc, table in jobs if proc == "policy_compression"}
    assert {"readings", "camera_status", "case_events"} <= compressed
    assert sum(1 for proc, _ in jobs if proc == "policy_refresh_continuous_aggregate") == 6
    assert "indicators" in {table for proc, table in jobs if proc == "policy_retention"}
