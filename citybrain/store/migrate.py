"""Numbered SQL migrations, applied in order, each in its own transaction.

A migration is ``NNN_name.sql``, or a pair ``NNN_name.timescale.sql`` /
``NNN_name.plain.sql`` when TimescaleDB and plain PostgreSQL need different
DDL for the same tables and views. The mode is decided once, at the first
migration, by whether the server offers the timescaledb extension.

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
            raise MigrationError(f"two migrations numbered {version:03d}: {variants[variant].name}, {entry.name}")
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


def storage_mode(conn: psycopg.Connection) -> str:
    """'timescale' when the database runs (or can run) TimescaleDB, else 'plain'."""
    recorded = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    if recorded:
        return "timescale"
    applied = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()[0] and \
        conn.execute("SELECT 1 FROM schema_migrations WHERE name LIKE '%.plain.sql'").fetchone()
    if applied:
        return "plain"
    offered = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'").fetchone()
    return "timescale" if offered else "plain"


def migrate(url: str, source=MIGRATIONS) -> list[str]:
    """Apply every migration not yet recorded; returns the names applied."""
    applied_now: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        mode = storage_mode(conn)
        for migration in available(mode, source):
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
                        first_line = next(
                            line for line in statement.splitlines() if line.split("--", 1)[0].strip()
                        )
                        raise MigrationError(
                            f"{migration.name}: statement `{first_line.strip()}` failed: "
                            f"{str(exc).strip().splitlines()[0]}"
                        ) from None
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (migration.version, migration.name),
                )
            applied_now.append(migration.name)
    return applied_now
