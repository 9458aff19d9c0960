"""Every alert reaches a person, through the real service and outbox on the real database."""

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from citybrain.alerts.dispatch import Dispatcher
from citybrain.alerts.engine import Observation, Signal
from citybrain.alerts.notifiers import Delivery
from citybrain.alerts.rules import RulesConfig
from citybrain.alerts.service import AlertError, AlertService, Conflict
from citybrain.settings import PROJECT_ROOT
from citybrain.store import queries
from citybrain.store.alert_store import queue
from tests.helpers import run_citybrain

RULES = RulesConfig.load(PROJECT_ROOT / "config")
T0 = datetime.now(UTC).replace(microsecond=0)


def water(value=6.4, gauge="iot-00001", district="510104"):
    return Observation(
        "water_over_red_line",
        gauge,
        Signal.FIRING,
        value,
        {"district": district, "device": gauge},
        f"water_level {value} at {gauge}",
    )


def cam(camera, district="510104"):
    return Observation(
        "camera_offline",
        camera,
        Signal.FIRING,
        1900.0,
        {"district": district, "camera": camera},
        f"camera {camera} offline for 32 min",
    )


def cluster(district="510104"):
    return Observation(
        "camera_outage_cluster",
        district,
        Signal.FIRING,
        0.4,
        {"district": district},
        f"40% of video points down in district {district}",
    )


def rows(url, sql, *params):
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


class Recorder:
    """Stands in for the router: records each grouped message; fails for receivers named in ``failing``."""

    def __init__(self, failing=()):
        self.sent = []
        self.failing = set(failing)

    def send(self, notification):
        self.sent.append(notification)
        return [
            Delivery(
                r,
                r not in self.failing,
                3 if r in self.failing else 1,
                "HTTP 503" if r in self.failing else None,
            )
            for r in ("log", "wecom")
        ]


@pytest.fixture
def service(seeded_url):
    return AlertService(seeded_url)


def test_an_alert_opened_while_silenced_is_announced_when_the_silence_is_lifted(service, seeded_url):
    silence_id = service.silence(
        ["district=510104", 'rule=~"water_.*"'],
        3600,
        "gauge maintenance",
        "officer-li",
        starts_at=T0 - timedelta(seconds=1),
    )
    _, [opened] = service.tick(T0, [water()], RULES)
    assert opened.action == "open" and opened.muted == "silenced"
    later = T0 + timedelta(minutes=20)
    _, events = service.tick(later, [water()], RULES)
    assert events == []  # no escalation spent while muted (critical water escalates after 5 min)
    router = Recorder()
    dispatcher = Dispatcher(seeded_url, RULES, router)
    assert dispatcher.flush(later) == [] and router.sent == []  # nothing was announced

    lifted = service.expire_silence(
        silence_id, "officer-li", "maintenance finished early", now=later + timedelta(seconds=5)
    )
    assert lifted["state"] == "expired"
    _, [announced] = service.tick(later + timedelta(seconds=10), [water()], RULES)
    assert announced.action == "unmute" and announced.muted is None
    assert announced.muted_for_s == pytest.approx(20 * 60 + 10)
    assert announced.escalation_level == 0 and announced.alert_id == opened.alert_id
    deliveries = dispatcher.flush(later + timedelta(seconds=10))  # critical: group_wait 0
    assert [d.receiver for d in deliveries] == ["log", "wecom"]
    [message] = router.sent
    assert [(e.action, e.alert_id) for e in message.events] == [("unmute", opened.alert_id)]
    assert rows(
        seeded_url, "SELECT action FROM alert_log WHERE alert_id = %s ORDER BY id", opened.alert_id
    ) == [("open",), ("unmute",)]
    # the escalation clock ran only while announced: 5 min after the announcement, not before
    assert service.tick(later + timedelta(minutes=4), [water()], RULES)[1] == []
    _, [escalated] = service.tick(later + timedelta(minutes=5, seconds=10), [water()], RULES)
    assert escalated.action == "escalate" and escalated.escalation_level == 1


def test_silences_are_listed_edited_and_expired_early_and_every_change_is_logged(service, seeded_url):
    sid = service.silence({"district": "510104"}, 600, "drill", "officer-li", starts_at=T0)
    other = service.silence(["rule!=gas_alarm", "district=510105"], 60, "works", "officer-wang", starts_at=T0)
    listed = {s["id"]: s for s in service.silences(now=T0 + timedelta(seconds=1))}
    assert listed[sid]["matchers"] == ["district=510104"] and listed[sid]["state"] == "active"
    assert listed[other]["matchers"] == ["rule!=gas_alarm", "district=510105"]
    edited = service.edit_silence(
        sid,
        "officer-wang",
        matchers=['district=~"51010[45]"'],
        duration_s=1800,
        reason="drill extended",
        now=T0 + timedelta(seconds=2),
    )
    assert edited["matchers"] == ["district=~51010[45]"] and edited["ends_at"] == T0 + timedelta(seconds=1802)
    service.expire_silence(sid, "officer-li", now=T0 + timedelta(seconds=3))
    with pytest.raises(Conflict, match=f"silence {sid} already ended by officer-li"):
        service.expire_silence(sid, "officer-li", now=T0 + timedelta(seconds=4))
    assert [s["id"] for s in service.silences(now=T0 + timedelta(seconds=4))] == [other]
    assert {
        s["id"]: s["state"] for s in service.silences(include_expired=True, now=T0 + timedelta(seconds=4))
    } == {sid: "expired", other: "active"}
    log = rows(seeded_url, "SELECT action, actor FROM alert_log WHERE silence_id = %s ORDER BY id", sid)
    assert log == [
        ("silence", "officer-li"),
        ("edit_silence", "officer-wang"),
        ("expire_silence", "officer-li"),
    ]
    planned = service.silence(
        {"district": "510106"}, 600, "next week's works", "officer-li", starts_at=T0 + timedelta(days=7)
    )
    service.expire_silence(planned, "officer-li", "works cancelled", now=T0 + timedelta(seconds=5))
    assert {
        s["id"]: s["state"] for s in service.silences(include_expired=True, now=T0 + timedelta(seconds=5))
    }[planned] == "expired"
    with pytest.raises(AlertError, match="would silence every alert"):
        service.silence(["district!=510104"], 60, "everything else", "officer-li")
    with pytest.raises(AlertError, match="not a matcher"):
        service.silence(["district"], 60, "typo", "officer-li")


def test_resolving_the_district_outage_alert_keeps_its_cameras_inhibited_while_the_outage_lasts(service):
    service.tick(T0, [cluster()], RULES)
    _, [outage] = service.tick(T0 + timedelta(seconds=60), [cluster()], RULES)
    _, [single] = service.tick(T0 + timedelta(seconds=70), [cluster(), cam("cam-1")], RULES)
    assert single.muted == "inhibited"
    service.resolve(outage.alert_id, "officer-li", "network team dispatched")
    result, events = service.tick(T0 + timedelta(seconds=80), [cluster(), cam("cam-1")], RULES)
    assert events == [] and result.muted == {"camera_offline:cam-1": "inhibited"}
    # the outage really ends: after its clear hold the camera alert is announced
    clear_hold = RULES.rule("camera_outage_cluster").clear_hold_s
    service.tick(T0 + timedelta(seconds=90), [cam("cam-1")], RULES)
    _, events = service.tick(T0 + timedelta(seconds=90 + clear_hold), [cam("cam-1")], RULES)
    assert [(e.action, e.alert_id) for e in events] == [("unmute", single.alert_id)]


def test_a_stale_pending_hold_does_not_open_at_the_first_tick_after_a_long_outage(service, seeded_url):
    service.tick(T0, [cluster()], RULES)
    assert rows(seeded_url, "SELECT pending_since, evaluated_at FROM alert_tracks") == [(T0, T0)]
    weekend = T0 + timedelta(hours=60)
    assert service.tick(weekend, [cluster()], RULES)[1] == []  # the hold starts again
    assert rows(seeded_url, "SELECT pending_since FROM alert_tracks") == [(weekend,)]
    _, [opened] = service.tick(weekend + timedelta(seconds=60), [cluster()], RULES)
    assert opened.action == "open"


def test_twenty_cameras_offline_are_one_grouped_message(service, seeded_url):
    cameras = [cam(f"cam-{i:02d}") for i in range(20)] + [cam("cam-99", "510105")]
    _, events = service.tick(T0, cameras, RULES)
    assert len(events) == 21
    router = Recorder()
    dispatcher = Dispatcher(seeded_url, RULES, router)
    wait = RULES.notify["minor"].group_wait_s
    assert dispatcher.flush(T0 + timedelta(seconds=wait - 1)) == []
    dispatcher.flush(T0 + timedelta(seconds=wait))
    assert sorted(len(m.events) for m in router.sent) == [1, 20]
    assert {m.group_key for m in router.sent} == {
        "minor|rule=camera_offline|district=510104",
        "minor|rule=camera_offline|district=510105",
    }
    assert rows(seeded_url, "SELECT count(*) FROM alert_notifications WHERE sent_at IS NULL") == [(0,)]
    assert rows(seeded_url, "SELECT count(*), sum(cardinality(alert_ids)) FROM alert_deliveries") == [(4, 42)]


def test_delivery_failures_are_recorded_and_listed(service, seeded_url):
    service.tick(T0, [water()], RULES)
    Dispatcher(seeded_url, RULES, Recorder(failing={"wecom"})).flush(T0)
    assert rows(
        seeded_url, "SELECT receiver, ok, attempts, error FROM alert_deliveries ORDER BY receiver"
    ) == [("log", True, 1, None), ("wecom", False, 3, "HTTP 503")]
    listing = run_citybrain(["alerts", "deliveries", "--failed"], database_url=seeded_url)
    assert listing.returncode == 0
    [line] = [x for x in listing.stdout.splitlines() if "FAILED" in x]
    assert "wecom" in line and "HTTP 503" in line and "water_over_red_line" in line


def test_repeat_interval_renotifies_an_unacknowledged_open_alert(service, seeded_url):
    _, [acked] = service.tick(T0, [water()], RULES)
    service.acknowledge(acked.alert_id, "officer-li")
    both = [water(), water(gauge="iot-00002")]
    _, [other] = service.tick(T0 + timedelta(seconds=10), both, RULES)
    assert RULES.notify["critical"].repeat_interval_s == 1800
    actions = []
    for step in range(20, 3000, 30):
        actions += [
            (e.action, e.alert_id) for e in service.tick(T0 + timedelta(seconds=step), both, RULES)[1]
        ]
    # three escalations 5 min apart (the last at 920 s), then a repeat 30 min after it; none for the acked one
    assert actions == [("escalate", other.alert_id)] * 3 + [("repeat", other.alert_id)]
    [(notified_at,)] = rows(seeded_url, "SELECT notified_at FROM alerts WHERE id = %s", other.alert_id)
    assert notified_at == T0 + timedelta(seconds=2720)


def test_a_critical_alert_that_clears_unacknowledged_stays_in_the_queue_until_acknowledged(
    service, seeded_url
):
    _, [opened] = service.tick(T0, [water()], RULES)
    clear_hold = RULES.rule("water_over_red_line").clear_hold_s
    service.tick(T0 + timedelta(seconds=10), [], RULES)
    _, [cleared] = service.tick(T0 + timedelta(seconds=10 + clear_hold), [], RULES)
    assert cleared.action == "clear"
    with psycopg.connect(seeded_url) as conn:
        [row] = queue(conn)
        totals = queries.city_totals(conn, [])
    assert (row["id"], row["state"]) == (opened.alert_id, "cleared, not acknowledged")
    assert totals.critical_unacked == 1 and totals.cleared_unacked == 1 and totals.active_alerts == 0
    listing = run_citybrain(["alerts", "list"], database_url=seeded_url)
    assert "cleared, not acknowledged" in listing.stdout
    service.acknowledge(opened.alert_id, "officer-li")
    with psycopg.connect(seeded_url) as conn:
        assert queue(conn) == []
        assert [r["state"] for r in queue(conn, everything=True)] == ["cleared, acknowledged"]
        assert queries.city_totals(conn, []).critical_unacked == 0


def test_a_dispatcher_without_its_database_keeps_the_outbox_and_does_not_raise():
    dispatcher = Dispatcher("host=127.0.0.1 port=1 dbname=nowhere connect_timeout=1", RULES, Recorder())
    assert dispatcher.flush(T0) == [] and dispatcher.router.sent == []
