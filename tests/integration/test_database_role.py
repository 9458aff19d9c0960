"""The application's database role: it runs the pipeline's and the officers' writes, and cannot
rewrite history by any route: not the audit logs (privileges first, the triggers as a second line), not
the stored events, not the dead letters, not the retention that decides what is pruned."""

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from citybrain.alerts.engine import Observation, Signal
from citybrain.alerts.rules import RulesConfig
from citybrain.alerts.service import AlertService
from citybrain.runtime.database import app_database_url, with_credentials
from citybrain.settings import PROJECT_ROOT
from citybrain.store import dead_letters
from citybrain.store.maintenance import run_prune
from citybrain.store.migrate import storage_mode
from citybrain.store.roles import RoleError, ensure_app_role
from citybrain.store.writer import READINGS, BatchWriter

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


def test_the_app_role_adds_events_and_dead_letters_but_cannot_change_or_remove_them(app_url, seeded_url):
    now = datetime.now(UTC)
    with psycopg.connect(app_url) as conn:  # the worker's writes work as the application role
        BatchWriter(conn, READINGS).write([(uuid.uuid4(), now, "iot-00001", "510104", "pm25", 35.0, "ug/m3")])
        letter = dead_letters.DeadLetterRow(
            "iot.readings", 0, 7, None, "malformed", "not JSON", b"{", 1, "ab", False
        )
        dead_letters.insert(conn, [letter])
        conn.commit()
        [letter] = conn.execute("SELECT id FROM dead_letters").fetchall()
        dead_letters.mark_replayed(conn, [letter[0]], "wangwu")  # the one mark an operator may set
        conn.commit()
    with psycopg.connect(app_url, autocommit=True) as conn:
        for statement in (
            "UPDATE readings SET value = 0",
            "DELETE FROM readings",
            "TRUNCATE readings",
            "UPDATE camera_status SET status = 'online'",
            "DELETE FROM case_events",
            "UPDATE dead_letters SET reason = 'forged'",
            "DELETE FROM dead_letters",
            "UPDATE retention_days SET days = 1",
            "INSERT INTO retention_days (what, days) VALUES ('raw', 1)",
        ):
            with pytest.raises(REFUSED):
                conn.execute(statement)
        assert conn.execute("SELECT value FROM readings").fetchall() == [(35.0,)]
        assert conn.execute("SELECT reason, replayed_by FROM dead_letters").fetchall() == [
            ("malformed", "wangwu")
        ]


def test_the_app_role_keeps_hot_spots_but_cannot_remove_them(app_url):
    """The detector's tick stores, grows and ends hot spots as the application role; none can be deleted."""
    import numpy as np

    from citybrain.hotspots.config import HotspotConfig
    from citybrain.hotspots.detect import Detector
    from citybrain.sim.hotspots import plant
    from citybrain.store import hotspots as hotspot_store

    now = datetime.now(UTC)
    spot = plant("p", "water_supply", 104.043, 30.642, 10, 150, now, 60, np.random.default_rng(1))
    detector = Detector(HotspotConfig.load(PROJECT_ROOT / "config"))
    with psycopg.connect(app_url) as conn, conn.transaction():
        hotspot_store.save(conn, detector.add(spot.cases(lambda _lo, _la: "510107"), now), now, now)
    later = now + timedelta(hours=2)
    with psycopg.connect(app_url) as conn, conn.transaction():
        hotspot_store.save(conn, detector.add([], later), later, later)  # it ends: an update
    with psycopg.connect(app_url, autocommit=True) as conn:
        assert conn.execute("SELECT case_count, ended_at FROM hotspots").fetchall() == [(10, later)]
        for statement in (
            "DELETE FROM hotspots",
            "DELETE FROM hotspot_cases",
            "TRUNCATE hotspot_cases",
            "DELETE FROM hotspot_progress",
        ):
            with pytest.raises(REFUSED):
                conn.execute(statement)


def test_the_worker_prunes_only_by_the_owners_retention(app_url, seeded_url):
    with psycopg.connect(seeded_url) as conn:
        if storage_mode(conn) != "plain":
            pytest.skip("TimescaleDB prunes with its own retention policies")
        days = conn.execute("SELECT days FROM retention_days WHERE what = 'raw'").fetchone()[0]
    now = datetime.now(UTC)
    kept, old = now - timedelta(days=days - 1), now - timedelta(days=days + 1)
    with psycopg.connect(seeded_url) as conn:
        BatchWriter(conn, READINGS).write(
            [(uuid.uuid4(), t, "iot-00001", "510104", "pm25", 35.0, "ug/m3") for t in (kept, old, now)]
        )
    with psycopg.connect(seeded_url) as conn:  # the leaders' rollups are kept as long as the hourly ones
        hourly = conn.execute("SELECT days FROM retention_days WHERE what = 'rollup_1h'").fetchone()[0]
        for bucket in (now - timedelta(days=hourly + 1), now - timedelta(days=1)):
            conn.execute(
                "INSERT INTO case_units_1h (bucket, district, assignee, assigned, handled, on_time, rated,"
                " satisfied) VALUES (date_trunc('hour', %s::timestamptz), '510104', 'g-1', 1, 1, 1, 1, 1)",
                (bucket,),
            )
    assert run_prune(app_url) >= 2  # the worker's role, through the owner's function
    with psycopg.connect(seeded_url) as conn:
        times = [r[0] for r in conn.execute("SELECT event_time FROM readings ORDER BY event_time")]
        units = conn.execute("SELECT count(*) FROM case_units_1h").fetchone()[0]
    assert times == [kept, now] and units == 1
    with psycopg.connect(app_url) as conn, pytest.raises(REFUSED):  # it cannot choose the days itself
        conn.execute("SELECT citybrain_prune_leader_rollups(1)")


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
