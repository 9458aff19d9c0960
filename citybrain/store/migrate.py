"""Numbered SQL migrations, applied in order, each in its own transaction.

A failed migration rolls back whole and the error names the file and the
statement that failed, so the database is never left half-migrated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files

import psycopg

MIGRATIONS = files("citybrain.store") / "migrations"
_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


class MigrationError(Exception):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available(source=MIGRATIONS) -> list[Migration]:
    found = []
    for entry in source.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migrations share a number: {[m.name for m in found]}")
    return found


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


def migrate(url: str, source=MIGRATIONS) -> list[str]:
    """Apply every migration not yet recorded; returns the names applied."""
    applied_now: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for migration in available(source):
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
