"""The alert lifecycle on the real database, and the rules' observers on real facts."""

import threading
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from citybrain.alerts.engine import Observation, Signal
from citybrain.alerts.observe import observe
from citybrain.alerts.rules import RulesConfig
from citybrain.alerts.service import AlertError, AlertService, Conflict
from citybrain.risk.config import RiskConfig
from citybrain.settings import PROJECT_ROOT
from citybrain.store.writer import CAMERA_STATUS, CASE_EVENTS, READINGS, BatchWriter

RULES = RulesConfig.load(PROJECT_ROOT / "config")
RISK = RiskConfig.load(PROJECT_ROOT / "config")
T0 = datetime.now(UTC).replace(microsecond=0)


def water(value, gauge="iot-00001", district="510104"):
    return Observation(
        "water_over_red_line",
        gauge,
        Signal.FIRING,
        value,
        {"district": district, "device": gauge},
        f"water_level {value} at {gauge}",
    )


def rows(url, sql, *params):
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture
def service(seeded_url):
    published = []
    svc = AlertService(seeded_url, publish=published.append)
    svc.published = published
    return svc


def open_one(service) -> int:
    _, events = service.tick(T0, [water(6.4)], RULES)
    assert [e.action for e in events] == ["open"]
    return events[0].alert_id


def test_an_observation_opens_one_alert_and_repeats_update_it(service, seeded_url):
    alert_id = open_one(service)
    service.tick(T0 + timedelta(seconds=10), [water(6.2)], RULES)
    _, events = service.tick(T0 + timedelta(seconds=20), [water(6.8)], RULES)
    assert [e.action for e in events] == ["update"]
    [(count, peak, value, severity, status)] = rows(
        seeded_url, "SELECT seen_count, peak, value, severity, status FROM alerts"
    )
    assert (count, peak, value, severity, status) == (3, 6.8, 6.8, "critical", "active")
    log = rows(seeded_url, "SELECT actor, action FROM alert_log WHERE alert_id = %s ORDER BY id", alert_id)
    assert log == [("citybrain", "open"), ("citybrain", "update")]
    assert [e.action for e in service.published] == ["open", "update"]


def test_acknowledge_changes_state_writes_the_log_and_stops_escalation(service, seeded_url):
    alert_id = open_one(service)
    event = service.acknowledge(alert_id, "officer-li")
    assert event.acknowledged and event.action == "acknowledge" and event.actor == "officer-li"
    [(who, before, after)] = rows(
        seeded_url, "SELECT actor, before, after FROM alert_log WHERE action = 'acknowledge'"
    )
    assert who == "officer-li" and before["acknowledged"] is False and after["acknowledged"] is True
    _, events = service.tick(T0 + timedelta(hours=2), [water(6.4)], RULES)
    assert [e.action for e in events] == []  # no escalation once acknowledged


def test_unacknowledged_alert_escalates(service, seeded_url):
    alert_id = open_one(service)
    _, events = service.tick(
        T0 + timedelta(seconds=RULES.rule("water_over_red_line").escalate_after_s), [water(6.4)], RULES
    )
    assert [(e.action, e.escalation_level) for e in events] == [("escalate", 1)]
    assert rows(seeded_url, "SELECT escalation_level FROM alerts WHERE id = %s", alert_id) == [(1,)]


def test_two_officers_acknowledging_at_once_record_exactly_one(service, seeded_url):
    alert_id = open_one(service)
    barrier = threading.Barrier(2)
    outcomes = {}

    def ack(name):
        barrier.wait()
        try:
            service.acknowledge(alert_id, name)
            outcomes[name] = "ok"
        except Conflict as exc:
            outcomes[name] = str(exc)

    threads = [threading.Thread(target=ack, args=(n,)) for n in ("officer-li", "officer-wang")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [n for n, o in outcomes.items() if o == "ok"]
    assert len(winners) == 1
    loser = next(n for n in outcomes if n not in winners)
    assert f"already acknowledged by {winners[0]}" in outcomes[loser]
    assert rows(seeded_url, "SELECT count(*) FROM alert_log WHERE action = 'acknowledge'") == [(1,)]
    assert rows(seeded_url, "SELECT acked_by FROM alerts") == [(winners[0],)]


def test_the_log_refuses_update_delete_and_truncate(service, seeded_url):
    open_one(service)
    for statement in (
        "UPDATE alert_log SET actor = 'someone else'",
        "DELETE FROM alert_log",
        "TRUNCATE alert_log",
    ):
        with (
            psycopg.connect(seeded_url) as conn,
            pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"),
        ):
            conn.execute(statement)
    assert rows(seeded_url, "SELECT count(*), min(actor) FROM alert_log") == [(1, "citybrain")]


def test_assign_comment_resolve_and_no_reopening_until_clear(service, seeded_url):
    alert_id = open_one(service)
    service.assign(alert_id, "grid-007", "officer-li")
    service.comment(alert_id, "pump team on the way", "officer-li")
    with pytest.raises(AlertError, match="needs a note"):
        service.resolve(alert_id, "officer-li", "  ")
    service.resolve(alert_id, "officer-li", "sandbags placed, level falling")
    with pytest.raises(Conflict, match="resolved by officer-li"):
        service.acknowledge(alert_id, "officer-wang")
    assert (
        service.tick(T0 + timedelta(seconds=10), [water(6.4)], RULES)[1] == []
    )  # still firing: stays closed
    clear_hold = RULES.rule("water_over_red_line").clear_hold_s
    service.tick(T0 + timedelta(seconds=20), [], RULES)  # the condition clears ...
    assert (
        service.tick(T0 + timedelta(seconds=30), [water(6.3)], RULES)[1] == []
    )  # ... and flaps back: same episode
    service.tick(T0 + timedelta(seconds=40), [], RULES)
    service.tick(T0 + timedelta(seconds=40 + clear_hold), [], RULES)  # clear for the rule's clear hold
    _, events = service.tick(T0 + timedelta(seconds=50 + clear_hold), [water(6.3)], RULES)
    assert [e.action for e in events] == ["open"] and events[0].alert_id != alert_id
    actions = rows(seeded_url, "SELECT action, note FROM alert_log WHERE alert_id = %s ORDER BY id", alert_id)
    assert actions == [
        ("open", "water_level 6.4 at iot-00001"),
        ("assign", "grid-007"),
        ("comment", "pump team on the way"),
        ("resolve", "sandbags placed, level falling"),
    ]


def test_a_silence_mutes_and_is_logged(service, seeded_url):
    silence_id = service.silence(
        {"district": "510104"},
        600,
        "maintenance on the river gauges",
        "officer-li",
        starts_at=T0 - timedelta(seconds=1),
    )
    _, events = service.tick(T0, [water(6.4)], RULES)
    assert events[0].muted == "silenced"
    assert rows(seeded_url, "SELECT muted FROM alerts") == [("silenced",)]
    assert rows(seeded_url, "SELECT action, silence_id, actor FROM alert_log WHERE action = 'silence'") == [
        ("silence", silence_id, "officer-li")
    ]
    service.tick(T0 + timedelta(seconds=601), [water(6.4)], RULES)  # expired
    assert rows(seeded_url, "SELECT muted FROM alerts") == [(None,)]


def test_every_rule_type_observes_its_facts(seeded_url, registry):
    cams, sensors = registry
    now = datetime.now(UTC)
    gauge = next(i for i, k in enumerate(sensors.kind) if k == "water_level")
    quiet = next(
        i
        for i, (k, d) in enumerate(zip(sensors.kind, sensors.district, strict=True))
        if k == "pm25" and d not in (sensors.district[gauge], "510104")
    )
    core = [c for c, d in zip(cams.ids, cams.district, strict=True) if d == "510104"]
    with psycopg.connect(seeded_url) as conn:
        BatchWriter(conn, READINGS).write(
            [
                (
                    uuid.uuid4(),
                    now - timedelta(seconds=30),
                    sensors.ids[gauge],
                    sensors.district[gauge],
                    "water_level",
                    6.5,
                    "m",
                ),
                (
                    uuid.uuid4(),
                    now - timedelta(hours=1),
                    sensors.ids[quiet],
                    sensors.district[quiet],
                    "pm25",
                    20.0,
                    "ug/m3",
                ),
            ]
        )
        BatchWriter(conn, CAMERA_STATUS).write(
            [
                (uuid.uuid4(), now - timedelta(hours=1), c, "510104", "offline")
                for c in core[: len(core) // 4 + 1]
            ]
        )
        BatchWriter(conn, CASE_EVENTS).write(
            [
                (
                    uuid.uuid4(),
                    now - timedelta(minutes=10),
                    "case-e",
                    "510105",
                    "created",
                    "noise",
                    "emergency",
                    now + timedelta(minutes=20),
                    None,
                    None,
                    None,
                    None,
                ),
                (
                    uuid.uuid4(),
                    now - timedelta(hours=5),
                    "case-o",
                    "510106",
                    "created",
                    "noise",
                    "normal",
                    now - timedelta(hours=1),
                    None,
                    None,
                    None,
                    None,
                ),
            ]
        )
        conn.execute(
            "INSERT INTO indicators"
            " (window_end, district, window_s, score, level, final, sub_values, contributions)"
            " VALUES (%s, '510107', 900, 80, 'red', false, '{}', '{}')",
            (now - timedelta(seconds=30),),
        )
        conn.commit()
        keys = {o.key for o in observe(conn, RULES, RISK, now)}
    assert f"water_over_red_line:{sensors.ids[gauge]}" in keys
    assert "camera_outage_cluster:510104" in keys
    assert f"camera_offline:{core[0]}" in keys
    assert "emergency_case_unassigned:case-e" in keys
    assert "case_overdue:case-o" in keys and "case_overdue:case-e" not in keys
    assert f"sensor_silent:{sensors.ids[quiet]}" in keys and f"sensor_silent:{sensors.ids[gauge]}" not in keys
    assert {"district_risk_red:510107", "district_risk_orange:510107"} <= keys
    assert f"district_silent:{sensors.district[quiet]}" in keys  # heard from an hour ago, silent since
    assert f"district_silent:{sensors.district[gauge]}" not in keys
