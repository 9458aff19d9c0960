"""Numbered SQL migrations, applied in order, each in its own transaction.

A migration is ``NNN_name.sql``, or a pair ``NNN_name.timescale.sql`` /
``NNN_name.plain.sql`` when TimescaleDB and plain PostgreSQL need different
DDL for the same tables and views. The mode is decided once, at the first
migration: TimescaleDB when the server can create the extension (installed
*and* in ``shared_preload_libraries``), plain PostgreSQL when it has none. A
server with TimescaleDB installed but not preloaded is refused with a message
naming the fix, unless plain mode is asked for (``CITYBRAIN_STORAGE_MODE``).
A server that cannot be reached fails with one line naming it.

A failed migration rolls back whole and the error names the file and the
statement that failed, so the database is never left half-migrated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files

import psycopg

MIGRATIONS = files("citybrain.store") / "migrations"
_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+(?:\.(timescale|plain))?\.sql$")
MODES = ("timescale", "plain")


class MigrationError(Exception):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available(mode: str, source=MIGRATIONS) -> list[Migration]:
    """The migrations for ``mode``, in order."""
    by_version: dict[int, dict[str | None, Migration]] = {}
    for entry in source.iterdir():
        match = _NAME.match(entry.name)
        if not match:
            continue
        version, variant = int(match[1]), match[2]
        variants = by_version.setdefault(version, {})
        if variant in variants:
            raise MigrationError(
                f"two migrations numbered {version:03d}: {variants[variant].name}, {entry.name}"
            )
        variants[variant] = Migration(version, entry.name, entry.read_text(encoding="utf-8"))
    chosen = []
    for version, variants in sorted(by_version.items()):
        if None in variants and len(variants) > 1:
            raise MigrationError(f"migration {version:03d} has both a common file and per-mode variants")
        if None not in variants and set(variants) != set(MODES):
            raise MigrationError(f"migration {version:03d} needs both .timescale.sql and .plain.sql")
        chosen.append(variants.get(None) or variants[mode])
    return chosen


def split_statements(sql: str) -> list[str]:
    """Split on top-level semicolons, keeping $$-quoted bodies and comments intact."""
    statements, current, in_dollar = [], [], False
    for line in sql.splitlines(keepends=True):
        if line.count("$$") % 2:
            in_dollar = not in_dollar
        current.append(line)
        if not in_dollar and line.split("--", 1)[0].rstrip().endswith(";"):
            statement = "".join(current).strip()
            current = []
            if _has_code(statement):
                statements.append(statement)
    tail = "".join(current).strip()
    if _has_code(tail):
        statements.append(tail)
    return statements


def _has_code(text: str) -> bool:
    return any(line.split("--", 1)[0].strip() for line in text.splitlines())


# What `CITYBRAIN_STORAGE_MODE` may ask for: `detect` uses TimescaleDB when the
# server can run it; `timescale` requires it; `plain` never uses it.
REQUESTS = ("detect", "timescale", "plain")
CONNECT_TIMEOUT_S = 10


class DatabaseUnavailable(MigrationError):
    """The database server cannot be reached; the message names it."""


def describe(url: str) -> str:
    """user@host:port/dbname of a URL, without its password, for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<unparseable database URL>"
    return (
        f"{info.get('user', '')}@{info.get('host', 'localhost')}:{info.get('port', 5432)}"
        f"/{info.get('dbname', '')}"
    )


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def connect(url: str, **kwargs) -> psycopg.Connection:
    """psycopg.connect, failing with one clear line that names the server when it cannot be reached."""
    try:
        if "connect_timeout" not in psycopg.conninfo.conninfo_to_dict(url):
            kwargs.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
        return psycopg.connect(url, **kwargs)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"database {describe(url)} is unreachable: {first_line(exc)}") from None
    except psycopg.ProgrammingError as exc:  # a malformed URL
        raise MigrationError(f"bad database URL: {first_line(exc)}") from None


@dataclass(frozen=True)
class ServerFacts:
    migrated: str | None  # the mode this database was migrated in, None when not yet
    installed: bool  # the server offers the timescaledb extension
    preloaded: bool | None  # timescaledb is in shared_preload_libraries (None: this role may not read it)


def server_facts(conn: psycopg.Connection) -> ServerFacts:
    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone():
        migrated = "timescale"
    elif (
        conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()[0]
        and conn.execute("SELECT 1 FROM schema_migrations WHERE name LIKE '%.plain.sql'").fetchone()
    ):
        migrated = "plain"
    else:
        migrated = None
    installed = bool(
        conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'").fetchone()
    )
    preloaded = None
    if installed and not migrated:
        try:
            with conn.transaction():  # readable by superusers and pg_read_all_settings members only
                libraries = conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone()[0]
            preloaded = "timescaledb" in [lib.strip().strip('"') for lib in libraries.split(",")]
        except psycopg.errors.InsufficientPrivilege:
            pass
    return ServerFacts(migrated, installed, preloaded)


def not_preloaded_message(server: str) -> str:
    return (
        f"TimescaleDB is installed on {server} but not preloaded, so it cannot be used: add timescaledb to "
        "shared_preload_libraries in postgresql.conf (shared_preload_libraries = 'timescaledb') and restart "
        "PostgreSQL, or set CITYBRAIN_STORAGE_MODE=plain to use plain PostgreSQL without it"
    )


def decide_mode(facts: ServerFacts, requested: str = "detect", server: str = "the server") -> str:
    """The storage mode to migrate in, or a MigrationError that says what to change."""
    if requested not in REQUESTS:
        raise MigrationError(
            f"CITYBRAIN_STORAGE_MODE must be one of {', '.join(REQUESTS)}, not {requested!r}"
        )
    if facts.migrated:
        if requested not in ("detect", facts.migrated):
            raise MigrationError(
                f"the database {server} was migrated in {facts.migrated} mode; "
                f"CITYBRAIN_STORAGE_MODE={requested} "
                "cannot change that (migrate into a new database instead)"
            )
        return facts.migrated
    if requested == "plain":
        return "plain"
    if facts.installed and facts.preloaded is not False:
        return "timescale"  # preloaded, or unknown to this role: 002 says so if CREATE EXTENSION fails
    if facts.installed:
        raise MigrationError(not_preloaded_message(server))
    if requested == "timescale":
        raise MigrationError(
            f"CITYBRAIN_STORAGE_MODE=timescale, but {server} has no TimescaleDB extension installed "
            "(install TimescaleDB on the server, or unset CITYBRAIN_STORAGE_MODE to use plain PostgreSQL)"
        )
    return "plain"


def storage_mode(conn: psycopg.Connection) -> str:
    """The mode this database was migrated in; for one not yet migrated, the mode `detect` would choose.

    A server with TimescaleDB installed but not preloaded counts as plain here; `migrate` refuses it.
    """
    facts = server_facts(conn)
    return facts.migrated or ("timescale" if facts.installed and facts.preloaded is not False else "plain")


def _version(text: str) -> tuple:
    return tuple(int(part) if part.isdigit() else 0 for part in re.split(r"[.-]", text))


def _update_extension(url: str) -> str | None:
    """ALTER EXTENSION timescaledb UPDATE when the server has a newer version installed; returns the new
    version.

    TimescaleDB's documentation asks for the update to be the first statement of a fresh session (before the
    old version's library is loaded into it), so it runs on a connection of its own.
    """
    with connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT e.extversion, a.default_version FROM pg_extension e"
            " JOIN pg_available_extensions a ON a.name = e.extname WHERE e.extname = 'timescaledb'"
        ).fetchone()
    if row is None or _version(row[1]) <= _version(row[0]):
        return None
    with connect(url, autocommit=True) as conn:
        try:
            conn.execute("ALTER EXTENSION timescaledb UPDATE")
        except psycopg.Error as exc:
            raise MigrationError(
                f"updating TimescaleDB from {row[0]} to {row[1]} on {describe(url)} failed: {first_line(exc)}"
            ) from None
    return row[1]


def migrate(url: str, source=MIGRATIONS, mode: str = "detect") -> list[str]:
    """Apply every migration not yet recorded; returns the names applied.

    ``mode`` is CITYBRAIN_STORAGE_MODE: ``detect``, ``timescale`` or ``plain`` (see ``decide_mode``).
    """
    applied_now: list[str] = []
    with connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        chosen = decide_mode(server_facts(conn), mode, describe(url))
    if chosen == "timescale":
        _update_extension(url)  # the migrations below then run on the newest installed version
    with connect(url, autocommit=True) as conn:
        for migration in available(chosen, source):
            with conn.transaction():
                # one migrator at a time: concurrent `migrate` calls queue here
                conn.execute("LOCK TABLE schema_migrations IN EXCLUSIVE MODE")
                done = conn.execute(
                    "SELECT 1 FROM schema_migrations WHERE version = %s", (migration.version,)
                ).fetchone()
                if done:
                    continue
                for statement in split_statements(migration.sql):
                    try:
                        conn.execute(statement)
                    except psycopg.Error as exc:
                        if "timescaledb" in statement and "preload" in str(exc):
                            raise MigrationError(not_preloaded_message(describe(url))) from None
                        opening = next(
                            line for line in statement.splitlines() if line.split("--", 1)[0].strip()
                        )
                        raise MigrationError(
                            f"{migration.name}: statement `{opening.strip()}` failed: {first_line(exc)}"
                        ) from None
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (migration.version, migration.name),
                )
            applied_now.append(migration.name)
    return applied_now
