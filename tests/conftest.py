"""Shared fixtures: one embedded PostgreSQL and one embedded broker per test session.

Each test that needs a database gets a fresh one (CREATE DATABASE), and each
worker a fresh consumer-group id, so tests never see each other's data.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest

from citybrain.geo.city import City
from citybrain.geo.registry import build_registry
from citybrain.settings import PROJECT_ROOT
from tests.helpers import SMALL, free_port


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


@pytest.fixture
def database_url(pg_server) -> str:
    """A fresh, empty database on the session's embedded server."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return pg_server.get_uri(name)


@pytest.fixture
def seeded_url(database_url, city, registry) -> str:
    """A fresh database with the schema and the small test city's registry."""
    from citybrain.store.migrate import migrate
    from citybrain.store.registry import seed_city

    migrate(database_url)
    seed_city(database_url, city, *registry)
    return database_url


@pytest.fixture(scope="session")
def bootstrap(tmp_path_factory) -> str:
    from citybrain.runtime.broker import start_embedded
    from citybrain.runtime.supervisor import stop_process_group

    proc, bootstrap = start_embedded(free_port(), tmp_path_factory.mktemp("broker") / "broker.log")
    yield bootstrap
    stop_process_group(proc, grace_s=3)
