"""Where benchmarks run: a scratch database of their own, results printed and saved."""

from __future__ import annotations

import json
import os
import platform
import tempfile
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from citybrain.store.migrate import migrate


@contextmanager
def scratch_databases(database_url: str | None, n: int):
    """``n`` fresh, migrated databases on the given server, or on a throwaway embedded PostgreSQL; dropped
    after."""
    server = None
    tmp = None
    if database_url is None:
        from citybrain.runtime.database import start_embedded

        tmp = tempfile.TemporaryDirectory(prefix="citybrain-bench-")
        server, database_url = start_embedded(Path(tmp.name))
    names = [f"citybrain_bench_{uuid.uuid4().hex[:8]}" for _ in range(n)]
    try:
        urls = []
        for name in names:
            with psycopg.connect(database_url, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {name}")
            urls.append(psycopg.conninfo.make_conninfo(database_url, dbname=name))
            migrate(urls[-1])
        yield urls
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            for name in names:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if server is not None:
            server.cleanup()
            tmp.cleanup()


@contextmanager
def scratch_database(database_url: str | None):
    """One fresh, migrated database (see ``scratch_databases``)."""
    with scratch_databases(database_url, 1) as (url,):
        yield url


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def save(result: dict, output: Path) -> dict:
    result = {**result, "when": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine()}
    output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result
