"""The application's database role: it runs the pipeline's and the officers' writes, and cannot
rewrite the audit logs by any route (privileges first, the triggers as a second line)."""

from datetime import UTC, datetime

import psycopg
import pytest

from citybrain.alerts.engine import Observation, Signal
from citybrain.alerts.rules import RulesConfig
from citybrain.alerts.service import AlertService
from citybrain.runtime.database import app_database_url, with_credentials
from citybrain.settings import PROJECT_ROOT
from citybrain.store.roles import RoleError, ensure_app_role

REFUSED = psycopg.errors.InsufficientPrivilege


def opened_alert(url) -> int:
    obs = Observation(
        "gas_alarm", "iot-00002", Signal.FIRING, 40.0, {"district": "510105"}, "gas 40 at iot-00002"
    )
    _, [event] = AlertService(url).tick(datetime.now(UTC), [obs], RulesConfig.load(PROJECT_ROOT / "config"))
    return event.alert_id


def test_the_app_role_works_the_alerts_but_cannot_rewrite_the_log(app_url):
    alert_id = opened_alert(app_url)  # the worker's tick runs as the application role
    AlertService(app_url).acknowledge(alert_id, "wangwu")
    with psycopg.connect(app_url, autocommit=True) as conn:
        assert not conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]
        assert (
            conn.execute("SELECT count(*) FROM alert_log WHERE alert_id = %s", (alert_id,)).fetchone()[0] == 2
        )
        attempts = [
            "UPDATE alert_log SET actor = 'someone-else'",
            "DELETE FROM alert_log",
            "TRUNCATE alert_log",
            "ALTER TABLE alert_log DISABLE TRIGGER ALL",
            "ALTER TABLE alert_log DISABLE TRIGGER alert_log_no_update",
            "SET session_replication_role = replica",
            "UPDATE sign_in_log SET outcome = 'ok'",
            "DELETE FROM sign_in_log",
            "TRUNCATE sign_in_log",
            "DROP TABLE alert_log",
            "CREATE TABLE mine (x int)",
            "INSERT INTO schema_migrations (version, name) VALUES (999, 'forged')",
        ]
        for statement in attempts:
            with pytest.raises(REFUSED):
                conn.execute(statement)
        actors = [
            r[0]
            for r in conn.execute("SELECT actor FROM alert_log WHERE alert_id = %s ORDER BY id", (alert_id,))
        ]
    assert actors == ["citybrain", "wangwu"]


def test_the_trigger_still_refuses_the_owner(seeded_url):
    opened_alert(seeded_url)
    with psycopg.connect(seeded_url) as conn, pytest.raises(REFUSED, match="append-only"):
        conn.execute("UPDATE alert_log SET actor = 'x'")


def test_role_setup_is_repeatable_and_refuses_the_owner(seeded_url, app_url, tmp_path):
    ensure_app_role(seeded_url, app_url)  # again: nothing changes, nothing fails
    owner = psycopg.conninfo.conninfo_to_dict(seeded_url)["user"]
    with pytest.raises(RoleError, match="is the schema owner"):
        ensure_app_role(seeded_url, with_credentials(seeded_url, owner, "x"))
    # a derived URL keeps its password in the data directory, readable by this user only
    first = app_database_url(seeded_url, None, tmp_path)
    assert first == app_database_url(seeded_url, None, tmp_path)
    assert (tmp_path / "app-db-password").stat().st_mode & 0o077 == 0
    assert psycopg.conninfo.conninfo_to_dict(first)["user"] == "citybrain_app"
