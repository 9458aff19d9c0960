"""Duty actions and accounts from the command line, on a real database."""

import subprocess
import sys
from datetime import UTC, datetime

import psycopg

from citybrain import accounts
from citybrain.alerts.engine import Observation, Signal
from citybrain.alerts.rules import RulesConfig
from citybrain.alerts.service import AlertService
from citybrain.settings import PROJECT_ROOT
from tests.helpers import child_env, run_citybrain


def cli(url, *args):
    return run_citybrain(["alerts", *args], database_url=url)


def test_list_acknowledge_and_conflict_as_named_accounts(seeded_url):
    with psycopg.connect(seeded_url, autocommit=True) as conn:
        accounts.add(conn, "officer-li", "officer", "long-enough-1", "李警官")
        accounts.add(conn, "officer-wang", "officer", "long-enough-2", "王警官")
        accounts.add(conn, "viewer-zhao", "viewer", "long-enough-3")
    obs = Observation(
        "gas_alarm", "iot-00002", Signal.FIRING, 40.0, {"district": "510105"}, "gas 40 at iot-00002"
    )
    _, [opened] = AlertService(seeded_url).tick(
        datetime.now(UTC), [obs], RulesConfig.load(PROJECT_ROOT / "config")
    )
    listing = cli(seeded_url, "list")
    assert (
        listing.returncode == 0 and "gas 40 at iot-00002" in listing.stdout and "critical" in listing.stdout
    )
    # --as must name an enabled account with a duty role: no self-declared names
    nobody = cli(seeded_url, "ack", str(opened.alert_id), "--as", "someone")
    assert nobody.returncode == 2 and "no user 'someone'" in nobody.stderr
    viewer = cli(seeded_url, "ack", str(opened.alert_id), "--as", "viewer-zhao")
    assert viewer.returncode == 2 and "is a viewer" in viewer.stderr
    first = cli(seeded_url, "ack", str(opened.alert_id), "--as", "officer-li")
    assert first.returncode == 0 and "acknowledge by officer-li" in first.stdout
    second = cli(seeded_url, "ack", str(opened.alert_id), "--as", "officer-wang")
    assert second.returncode == 1 and "already acknowledged by officer-li" in second.stderr
    missing = cli(seeded_url, "resolve", "999", "--note", "done", "--as", "officer-li")
    assert missing.returncode == 1 and "alert 999 does not exist" in missing.stderr


def test_silence_with_matchers_list_edit_and_lift_early(seeded_url):
    with psycopg.connect(seeded_url, autocommit=True) as conn:
        accounts.add(conn, "officer-li", "officer", "long-enough-1", "李警官")
        accounts.add(conn, "officer-wang", "officer", "long-enough-2", "王警官")
    made = cli(
        seeded_url,
        "silence",
        "--match",
        "district=510104",
        "--match",
        'rule=~"camera_.*"',
        "--minutes",
        "60",
        "--reason",
        "network works",
        "--as",
        "officer-li",
    )
    assert made.returncode == 0, made.stderr
    silence_id = made.stdout.split()[1].rstrip(":")
    listed = cli(seeded_url, "silences")
    assert f"{silence_id:>5} active" in listed.stdout and "rule=~camera_.*" in listed.stdout
    edited = cli(seeded_url, "silence-edit", silence_id, "--minutes", "5", "--as", "officer-wang")
    assert (
        edited.returncode == 0
        and f"silence {silence_id}: district=510104 rule=~camera_.* until" in edited.stdout
    )
    lifted = cli(seeded_url, "unsilence", silence_id, "--note", "works done", "--as", "officer-li")
    assert lifted.returncode == 0, lifted.stderr
    assert silence_id not in [line.split()[0] for line in cli(seeded_url, "silences").stdout.splitlines()[1:]]
    assert f"{silence_id:>5} expired" in cli(seeded_url, "silences", "--all").stdout
    again = cli(seeded_url, "unsilence", silence_id, "--as", "officer-li")
    assert again.returncode == 1 and f"silence {silence_id} already ended by officer-li" in again.stderr
    bad = cli(
        seeded_url, "silence", "--match", "district", "--minutes", "5", "--reason", "x", "--as", "officer-li"
    )
    assert bad.returncode != 0 and "is not a matcher" in bad.stderr


def users(url, *args, password=None):
    return subprocess.run(
        [sys.executable, "-m", "citybrain", "users", *args],
        input=password,
        text=True,
        capture_output=True,
        env=child_env(database_url=url),
        timeout=60,
    )


def test_users_add_list_passwd_disable(seeded_url):
    added = users(
        seeded_url,
        "add",
        "wangwu",
        "--role",
        "officer",
        "--name",
        "王五",
        "--password-stdin",
        password="first-password\n",
    )
    assert added.returncode == 0 and "wangwu (王五) added as officer" in added.stdout
    assert (
        users(
            seeded_url, "add", "wangwu", "--role", "officer", "--password-stdin", password="another-one\n"
        ).returncode
        == 2
    )
    short = users(seeded_url, "add", "lisi", "--role", "officer", "--password-stdin", password="short\n")
    assert short.returncode == 2 and "at least 8 characters" in short.stderr
    bad_role = users(
        seeded_url, "add", "lisi", "--role", "mayor", "--password-stdin", password="long-enough\n"
    )
    assert bad_role.returncode == 2 and "'mayor' is not a role" in bad_role.stderr

    assert (
        users(seeded_url, "passwd", "wangwu", "--password-stdin", password="second-password\n").returncode
        == 0
    )
    with psycopg.connect(seeded_url) as conn:
        account = accounts.get(conn, "wangwu")
        stored = conn.execute("SELECT password_hash FROM users WHERE username = 'wangwu'").fetchone()[0]
    assert stored.startswith("$argon2id$") and "second-password" not in stored
    assert accounts.password_matches(account.password_hash, "second-password")
    assert not accounts.password_matches(account.password_hash, "first-password")

    assert users(seeded_url, "disable", "wangwu").returncode == 0
    listing = users(seeded_url, "list")
    assert listing.returncode == 0
    line = next(ln for ln in listing.stdout.splitlines() if ln.startswith("wangwu"))
    assert "officer" in line and "disabled" in line and "王五" in line
    assert users(seeded_url, "log").stdout.splitlines()[0].split() == ["at", "UTC", "user", "outcome", "from"]
