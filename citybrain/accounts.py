"""Dashboard accounts: roles, password hashing (argon2) and the account operations behind
`citybrain users` and the sign-in form. Storage is in citybrain.store.users."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from citybrain.store import users as store

MIN_PASSWORD_LENGTH = 8
_hasher = PasswordHasher()


class Role(StrEnum):
    VIEWER = "viewer"  # reads the city's pages
    OFFICER = "officer"  # works the alert queue
    LEADER = "leader"  # leaders' pages; reads the duty console
    ADMIN = "admin"  # everything, and accounts
    WALL = "wall"  # an unattended screen: wall pages only, read-only


DUTY_READERS = frozenset({Role.OFFICER, Role.LEADER, Role.ADMIN})
DUTY_ACTORS = frozenset({Role.OFFICER, Role.ADMIN})


class AccountError(Exception):
    """An account operation cannot be done; the message says why."""


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    display_name: str
    role: Role
    disabled: bool
    password_hash: str
    last_sign_in: datetime | None = None

    @classmethod
    def from_row(cls, row: dict) -> Account:
        return cls(
            row["id"],
            row["username"],
            row["display_name"],
            Role(row["role"]),
            row["disabled"],
            row["password_hash"],
            row["last_sign_in"],
        )


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def burn_time(password: str) -> None:
    """Spend what a real verification costs, so an unknown name answers as slowly as a wrong password."""
    password_matches(_DUMMY_HASH, password)


_DUMMY_HASH = _hasher.hash("citybrain-no-such-user")


def add(
    conn: psycopg.Connection, username: str, role: Role | str, password: str, display_name: str | None = None
) -> Account:
    try:
        role = Role(role)
    except ValueError:
        raise AccountError(f"{role!r} is not a role; choose one of {', '.join(Role)}") from None
    username = username.strip().lower()
    if store.by_name(conn, username):
        raise AccountError(f"user {username!r} already exists")
    try:
        store.insert(conn, username, (display_name or username).strip(), role.value, hash_password(password))
    except psycopg.errors.CheckViolation:
        raise AccountError(
            f"{username!r} is not a valid user name (lower-case letters, digits, . _ -)"
        ) from None
    return get(conn, username)


def get(conn: psycopg.Connection, username: str) -> Account:
    row = store.by_name(conn, username.strip().lower())
    if row is None:
        raise AccountError(f"no user {username!r} (see `citybrain users list`)")
    return Account.from_row(row)


def change_password(conn: psycopg.Connection, username: str, password: str) -> None:
    get(conn, username)
    store.set_password(conn, username.strip().lower(), hash_password(password))


def set_disabled(conn: psycopg.Connection, username: str, disabled: bool = True) -> None:
    get(conn, username)
    store.set_disabled(conn, username.strip().lower(), disabled)


def active_actor(conn: psycopg.Connection, username: str, allowed: frozenset[Role] = DUTY_ACTORS) -> Account:
    """The account a duty action is recorded under: it must exist, be enabled and have a duty role."""
    account = get(conn, username)
    if account.disabled:
        raise AccountError(f"user {account.username!r} is disabled")
    if account.role not in allowed:
        raise AccountError(
            f"user {account.username!r} is a {account.role.value}; duty actions need one of"
            f" {', '.join(sorted(allowed))}"
        )
    return account


def ensure_first_admin(conn: psycopg.Connection, username: str, password: str | None) -> str | None:
    """Create the first administrator when there are no accounts at all.

    Returns the password when it was generated here (to be shown once), else None.
    """
    if store.count(conn):
        return None
    generated = None if password else secrets.token_urlsafe(12)
    add(conn, username, Role.ADMIN, password or generated, display_name=username)
    return generated


def get_or_none(conn: psycopg.Connection, username: str) -> Account | None:
    row = store.by_name(conn, username.strip().lower())
    return Account.from_row(row) if row else None
