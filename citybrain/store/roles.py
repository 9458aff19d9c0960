"""The application's database role: what the worker and the dashboard may do, and nothing more.

Migrations run as the schema owner. The worker, the dashboard and the duty
commands connect as a separate login role that is not a superuser and owns
nothing, so it cannot alter tables, disable triggers or set
``session_replication_role``. It may read and write the state tables (current
camera and case states, alerts, rollups the writer keeps), but history only
grows: the audit logs (``alert_log``, ``sign_in_log``; their triggers stay as
a second line), the leaders' instructions and their completions (triggers
too), the events themselves (``readings``, ``camera_status``,
``case_events``) and ``dead_letters`` get no UPDATE, DELETE or TRUNCATE. Of
a dead letter only the replay mark (``replayed_at``, ``replayed_by``) can be
set. Retention in plain mode goes through a function of the owner's that
applies the owner's rule (migration 019); ``retention_days`` and the
migration record are read-only. Appeal hot spots (``hotspots``,
``hotspot_cases``, ``hotspot_progress``) grow, merge and end, so the detector
updates them, but none is ever removed: no DELETE or TRUNCATE.

The grants are re-applied after every migration run, so tables added by
later migrations are covered without a migration naming the role.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

APPEND_ONLY = (
    "alert_log",
    "sign_in_log",
    "readings",
    "camera_status",
    "case_events",
    "dead_letters",
    "instructions",
    "instruction_completions",
)
READ_ONLY = ("schema_migrations", "districts", "retention_days")
NEVER_REMOVED = ("hotspots", "hotspot_cases", "hotspot_progress")
# (table, columns the application may still set on an append-only table)
MARKABLE = (("dead_letters", ("replayed_at", "replayed_by")),)
ROLE_FLAGS = sql.SQL("LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS")


class RoleError(Exception):
    """The application role cannot be set up as asked; the message says why."""


def credentials(app_url: str) -> tuple[str, str | None]:
    info = psycopg.conninfo.conninfo_to_dict(app_url)
    if not info.get("user"):
        raise RoleError("the application database URL must name its user (role)")
    return info["user"], info.get("password")


def ensure_app_role(owner_url: str, app_url: str) -> str:
    """Create (or update) the role named in ``app_url`` and grant it exactly what the application needs."""
    role, password = credentials(app_url)
    name = sql.Identifier(role)
    with psycopg.connect(owner_url, autocommit=True) as conn:
        owner = conn.execute("SELECT current_user").fetchone()[0]
        if owner == role:
            raise RoleError(
                f"the application role {role!r} is the schema owner: give the worker and dashboard"
                " their own role (CITYBRAIN_APP_DATABASE_URL)"
            )
        found = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        secret = sql.SQL(" PASSWORD {}").format(sql.Literal(password)) if password else sql.SQL("")
        try:
            verb = "ALTER ROLE" if found else "CREATE ROLE"
            conn.execute(sql.SQL(verb + " {} WITH {}{}").format(name, ROLE_FLAGS, secret))
        except psycopg.errors.InsufficientPrivilege as exc:
            if not found:
                raise RoleError(
                    f"cannot create role {role!r} as {owner!r}: {exc.diag.message_primary}; create it"
                    " yourself (a plain LOGIN role) and run migrate again"
                ) from None
            if found[0]:
                raise RoleError(f"role {role!r} is a superuser; the application must not be") from None
        database = conn.execute("SELECT current_database()").fetchone()[0]
        with conn.transaction():
            for statement in grants(role, database):
                conn.execute(statement)
    return role


def grants(role: str, database: str) -> list[sql.Composed]:
    name = sql.Identifier(role)
    tables = sql.SQL("ALL TABLES IN SCHEMA public")
    return [
        sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(sql.Identifier(database), name),
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(name),
        sql.SQL("REVOKE CREATE ON SCHEMA public FROM {}").format(name),
        sql.SQL("REVOKE ALL ON {} FROM {}").format(tables, name),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(tables, name),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(name),
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
        ).format(name),
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {}").format(
            name
        ),
        *(
            sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {} FROM {}").format(sql.Identifier(t), name)
            for t in APPEND_ONLY
        ),
        *(
            sql.SQL("GRANT UPDATE ({}) ON {} TO {}").format(
                sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(t), name
            )
            for t, columns in MARKABLE
        ),
        *(
            sql.SQL("REVOKE INSERT, UPDATE, DELETE ON {} FROM {}").format(sql.Identifier(t), name)
            for t in READ_ONLY
        ),
        *(
            sql.SQL("REVOKE DELETE, TRUNCATE ON {} FROM {}").format(sql.Identifier(t), name)
            for t in NEVER_REMOVED
        ),
    ]
