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
def scratch_database(database_url: str | None):
    """A fresh, migrated database on the given server, or on a throwaway embedded PostgreSQL; dropped after."""
    server = None
    tmp = None
    if database_url is None:
        from citybrain.runtime.database import start_embedded

        tmp = tempfile.TemporaryDirectory(prefix="citybrain-bench-")
        server, database_url = start_embedded(Path(tmp.name))
    name = f"citybrain_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = psycopg.conninfo.make_conninfo(database_url, dbname=name)
    try:
        migrate(url)
        yield url
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if server is not None:
            server.cleanup()
            tmp.cleanup()


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def save(result: dict, output: Path) -> dict:
    result = {**result, "when": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine()}
    output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result
