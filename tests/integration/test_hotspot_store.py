"""The hot-spot tick on a real database: cases read back by ingest time (late ones included, duplicates
once), state that survives a restart and a change of leader, and the alert's labels following the hot
spot as cases join."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
import pytest
from psycopg.rows import dict_row

from citybrain.alerts.rules import RulesConfig
from citybrain.alerts.service import AlertService
from citybrain.hotspots.config import HotspotConfig
from citybrain.hotspots.detect import NewCase
from citybrain.risk.config import RiskConfig
from citybrain.settings import PROJECT_ROOT
from citybrain.sim.hotspots import plant
from citybrain.store import hotspots as store
from citybrain.store.writer import CASE_EVENTS, BatchWriter
from citybrain.stream import alerting
from citybrain.stream.hotspots import HotspotTicker

pytestmark = pytest.mark.integration

CFG = HotspotConfig.load(PROJECT_ROOT / "config")


def write_cases(url: str, cases: list[NewCase], event_id=None) -> None:
    rows = [
        (
            event_id or uuid.uuid4(),
            c.event_time,
            c.case_id,
            c.district,
            "created",
            c.category,
            "normal",
            c.event_time + timedelta(hours=4),
            None,
            None,
            c.lon,
            c.lat,
        )
        for c in cases
    ]
    with psycopg.connect(url) as conn:
        BatchWriter(conn, CASE_EVENTS).write(rows)


def burst(n: int, start: datetime) -> list[NewCase]:
    p = plant("b", "water_supply", 104.043, 30.642, n, 150, start, 600, np.random.default_rng(7))
    return p.cases(lambda _lo, _la: "510107")


def hotspot_events(events: list) -> list:
    return [e for e in events if e.rule_id == "appeal_hotspot"]


def active(url: str, at: datetime | None = None) -> list[dict]:
    with psycopg.connect(url) as conn:
        return store.active(conn, at)


def test_the_tick_survives_a_restart_and_a_change_of_leader(app_url):
    now = datetime.now(UTC)
    cases = burst(14, now - timedelta(minutes=12))
    first = HotspotTicker(app_url, CFG, lambda _lo, _la: "510107")
    write_cases(app_url, cases[:9])
    first.tick(datetime.now(UTC))
    (spot,) = active(app_url)
    assert spot["case_count"] == 9

    # a new worker (restart, or leadership moved) carries on from the stored state
    second = HotspotTicker(app_url, CFG, lambda _lo, _la: "510107")
    write_cases(app_url, cases[9:12])
    second.tick(datetime.now(UTC))
    (spot,) = active(app_url)
    assert spot["case_count"] == 12 and len(spot["case_ids"]) == 12

    # the first worker leads again: it sees someone else ticked and rebuilds instead of trusting its memory
    write_cases(app_url, cases[12:])
    first.tick(datetime.now(UTC))
    (again,) = active(app_url)
    assert again["id"] == spot["id"] and again["case_count"] == 14
    assert sorted(again["case_ids"]) == sorted(c.case_id for c in cases)


def test_late_and_duplicate_events_are_read_once(app_url):
    now = datetime.now(UTC)
    cases = burst(10, now - timedelta(minutes=25))  # up to 25 minutes late: joined by their event time
    ticker = HotspotTicker(app_url, CFG, lambda _lo, _la: "510107")
    ticker.tick(now)
    write_cases(app_url, cases)
    write_cases(app_url, cases[:4])  # the adapter sent four cases again under new event ids
    changes = ticker.tick(datetime.now(UTC))
    assert changes.accepted == 10  # each case once (the store reads a case's first event only)
    again = ticker.tick(datetime.now(UTC))  # the overlap reads them again: known, nothing changes
    assert again.accepted == 0 and again.duplicates == 10 and not again.hotspots
    (spot,) = active(app_url)
    assert spot["case_count"] == 10 and spot["first_case_at"] == cases[0].event_time


def test_the_alert_follows_the_hot_spot_as_cases_join_and_clears_when_it_ends(app_url):
    now = datetime.now(UTC)
    cases = burst(16, now - timedelta(minutes=10))
    ticker = HotspotTicker(app_url, CFG, lambda _lo, _la: "510107")
    rules, risk = RulesConfig.load(PROJECT_ROOT / "config"), RiskConfig.load(PROJECT_ROOT / "config")
    service = AlertService(app_url)
    write_cases(app_url, cases[:8])
    now = datetime.now(UTC)
    ticker.tick(now)
    [opened] = hotspot_events(alerting.tick(service, rules, risk, now))
    assert opened.action == "open" and opened.rule_id == "appeal_hotspot" and opened.value == 8
    write_cases(app_url, cases[8:])
    now = datetime.now(UTC)
    ticker.tick(now)
    [grown] = hotspot_events(alerting.tick(service, rules, risk, now + timedelta(seconds=10)))
    assert grown.action == "update" and grown.value == 16 and grown.alert_id == opened.alert_id
    with psycopg.connect(app_url, row_factory=dict_row) as conn:
        row = conn.execute("SELECT labels, title FROM alerts WHERE id = %s", (opened.alert_id,)).fetchone()
    assert row["labels"]["count"] == "16" and len(row["labels"]["cases"].split(",")) == 16
    assert row["title"].startswith("16 water appeals")
    quiet = cases[-1].event_time + timedelta(seconds=CFG.density("water").quiet_s + 1)
    ticker.tick(quiet)
    assert not active(app_url, quiet) and active(app_url, quiet - timedelta(seconds=2))
    [cleared] = hotspot_events(alerting.tick(service, rules, risk, quiet + timedelta(seconds=10)))
    assert cleared.action == "clear" and cleared.alert_id == opened.alert_id
