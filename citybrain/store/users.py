"""Accounts and the sign-in audit trail in PostgreSQL. Rows in and out, no judgement:
citybrain.accounts hashes passwords and decides who may sign in."""

from __future__ import annotations

import secrets
from datetime import datetime

import psycopg
from psycopg.rows import dict_row

USER_COLUMNS = (
    "id, username, display_name, role, password_hash, disabled, created_at, password_set_at, last_sign_in"
)


def _one(conn: psycopg.Connection, query: str, params: tuple) -> dict | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchone()


def by_name(conn: psycopg.Connection, username: str) -> dict | None:
    return _one(conn, f"SELECT {USER_COLUMNS} FROM users WHERE username = %s", (username,))


def by_id(conn: psycopg.Connection, user_id: int) -> dict | None:
    return _one(conn, f"SELECT {USER_COLUMNS} FROM users WHERE id = %s", (user_id,))


def all_users(conn: psycopg.Connection) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(f"SELECT {USER_COLUMNS} FROM users ORDER BY username").fetchall()


def count(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT count(*) FROM users").fetchone()[0]


def insert(conn: psycopg.Connection, username: str, display_name: str, role: str, password_hash: str) -> int:
    return conn.execute(
        "INSERT INTO users (username, display_name, role, password_hash)"
        " VALUES (%s, %s, %s, %s) RETURNING id",
        (username, display_name, role, password_hash),
    ).fetchone()[0]


def set_password(conn: psycopg.Connection, username: str, password_hash: str) -> bool:
    cur = conn.execute(
        "UPDATE users SET password_hash = %s, password_set_at = now() WHERE username = %s",
        (password_hash, username),
    )
    return cur.rowcount == 1


def set_disabled(conn: psycopg.Connection, username: str, disabled: bool) -> bool:
    cur = conn.execute("UPDATE users SET disabled = %s WHERE username = %s", (disabled, username))
    return cur.rowcount == 1


def touch_sign_in(conn: psycopg.Connection, user_id: int) -> None:
    conn.execute("UPDATE users SET last_sign_in = now() WHERE id = %s", (user_id,))


def record_sign_in(
    conn: psycopg.Connection, username: str, outcome: str, remote_addr: str | None, user_agent: str | None
) -> None:
    conn.execute(
        "INSERT INTO sign_in_log (username, outcome, remote_addr, user_agent) VALUES (%s, %s, %s, %s)",
        (username[:100], outcome, remote_addr, (user_agent or "")[:300]),
    )


def recent_failures(
    conn: psycopg.Connection, username: str, remote_addr: str | None, since: datetime
) -> dict:
    """Failed sign-ins since ``since`` for this name and from this address, and when the last one was."""
    return _one(
        conn,
        """
        SELECT count(*) FILTER (WHERE username = %(u)s) AS by_user,
               count(*) FILTER (WHERE remote_addr = %(a)s) AS by_addr,
               max(at) AS last_at
          FROM sign_in_log
         WHERE at > %(since)s AND outcome IN ('bad_password', 'unknown_user', 'disabled', 'throttled')
           AND (username = %(u)s OR remote_addr = %(a)s)""",
        {"u": username, "a": remote_addr, "since": since},
    )


def sign_in_history(conn: psycopg.Connection, limit: int = 50) -> list[dict]:
    """The latest sign-ins, failures and sign-outs, newest first."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT at, username, outcome, remote_addr FROM sign_in_log ORDER BY id DESC LIMIT %s", (limit,)
        ).fetchall()


def session_secret(conn: psycopg.Connection) -> str:
    """The secret that signs session cookies, created once and shared by every dashboard process."""
    conn.execute(
        "INSERT INTO app_secrets (name, value) VALUES ('session', %s) ON CONFLICT (name) DO NOTHING",
        (secrets.token_urlsafe(48),),
    )
    return conn.execute("SELECT value FROM app_secrets WHERE name = 'session'").fetchone()[0]
