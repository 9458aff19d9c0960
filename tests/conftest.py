"""Shared fixtures: one embedded PostgreSQL per session, one embedded broker per test.

Each test that needs a database gets a fresh one (CREATE DATABASE, dropped
afterwards with its TimescaleDB jobs stopped), each test that needs a broker
its own broker, and each worker a fresh consumer-group id, so tests never see
each other's data and leave nothing behind.
"""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest

from citybrain.geo.city import City
from citybrain.geo.registry import build_registry
from citybrain.settings import PROJECT_ROOT
from tests.helpers import SMALL, free_port

TIMESCALE_URL = os.environ.get("CITYBRAIN_TEST_TIMESCALE_URL")


@pytest.fixture(scope="session")
def city() -> City:
    return City.load(PROJECT_ROOT / "config")


@pytest.fixture(scope="session")
def registry(city):
    return build_registry(city, SMALL["cameras"], SMALL["sensors"], SMALL["seed"])


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    from citybrain.runtime.database import start_embedded

    server, url = start_embedded(tmp_path_factory.mktemp("pg"))
    yield server
    server.cleanup()


def _fresh_database(server_url: str) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return psycopg.conninfo.make_conninfo(server_url, dbname=name)


def drop_database(server_url: str, url: str) -> None:
    """Stop the database's TimescaleDB jobs (if any), then drop it, closing whatever is still connected."""
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone():
            conn.execute(
                "SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs"
                " WHERE job_id >= 1000"
            )
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["embedded", "timescale"] if TIMESCALE_URL else ["embedded"])
def database_url(request):
    """A fresh, empty database: on the embedded PostgreSQL, and also on a real
    TimescaleDB when CITYBRAIN_TEST_TIMESCALE_URL points at one. Dropped after the test."""
    server_url = (
        TIMESCALE_URL if request.param == "timescale" else request.getfixturevalue("pg_server").get_uri()
    )
    url = _fresh_database(server_url)
    yield url
    drop_database(server_url, url)


@pytest.fixture
def seeded_url(database_url, city, registry) -> str:
    """A fresh database with the schema and the small test city's registry."""
    from citybrain.store.migrate import migrate
    from citybrain.store.policies import StorageConfig, apply_policies
    from citybrain.store.registry import seed_city

    migrate(database_url)
    apply_policies(database_url, StorageConfig.load(PROJECT_ROOT / "config"))
    seed_city(database_url, city, *registry)
    return database_url


@pytest.fixture
def bootstrap(tmp_path_factory) -> str:
    """A fresh embedded broker per test (it starts in well under a second), so no test reads another's
    events."""
    from citybrain.runtime.broker import start_embedded
    from citybrain.runtime.supervisor import stop_process_group

    proc, bootstrap = start_embedded(free_port(), tmp_path_factory.mktemp("broker") / "broker.log")
    yield bootstrap
    stop_process_group(proc, grace_s=3)
