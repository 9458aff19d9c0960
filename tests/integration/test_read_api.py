"""The read API on a small fixed data set, with figures checked by hand.

Runs on the embedded PostgreSQL (plain mode: rollups kept by the writer) and,
when CITYBRAIN_TEST_TIMESCALE_URL is set, on TimescaleDB (hypertables and
continuous aggregates) — the same queries must give the same answers.
"""

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from citybrain.store import queries
from citybrain.store.migrate import storage_mode
from citybrain.store.policies import prune_past_retention
from citybrain.store.writer import CAMERA_STATUS, CASE_EVENTS, READINGS, BatchWriter

T = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def at(hh: int, mm: int = 0, ss: int = 0, day: int = 22) -> datetime:
    return datetime(2026, 11, day, hh, mm, ss, tzinfo=UTC)


def reading(when, kind, value, district="510104", device="iot-00001"):
    unit = {"pm25": "ug/m3", "noise": "dB(A)"}[kind]
    return (uuid.uuid4(), when, device, district, kind, float(value), unit)


READINGS_ROWS = [
    reading(at(8, 0, 10), "pm25", 10),
    reading(at(8, 0, 10), "pm25", 30),
    reading(at(8, 0, 50), "pm25", 50),
    reading(at(8, 1, 5), "pm25", 70),
    reading(at(9, 10), "noise", 60),
    reading(at(8, 0, 20), "pm25", 999, district="510105"),  # another district: never mixed in
]


def write(url, spec, rows):
    with psycopg.connect(url) as conn:
        return BatchWriter(conn, spec).write(rows)


def series(url, *args, **kw):
    with psycopg.connect(url) as conn:
        return [dict(r) for r in queries.district_series(conn, *args, **kw)]


def test_reading_series_at_both_resolutions_and_replay_safe(seeded_url):
    write(seeded_url, READINGS, READINGS_ROWS)
    write(seeded_url, READINGS, READINGS_ROWS)  # a replay must not double the rollups
    minute = series(seeded_url, "readings", "510104", at(8), at(8, 2), "1m", kind="pm25")
    assert minute == [
        {"bucket": at(8, 0), "n": 3, "value_avg": 30.0, "value_min": 10.0, "value_max": 50.0},
        {"bucket": at(8, 1), "n": 1, "value_avg": 70.0, "value_min": 70.0, "value_max": 70.0},
    ]
    hour = series(seeded_url, "readings", "510104", at(8), at(10), "1h")
    assert hour == [
        {"bucket": at(8), "n": 4, "value_avg": 40.0, "value_min": 10.0, "value_max": 70.0},
        {"bucket": at(9), "n": 1, "value_avg": 60.0, "value_min": 60.0, "value_max": 60.0},
    ]


def test_camera_and_case_series(seeded_url, registry):
    cams, _ = registry
    cam = next(c for c, d in zip(cams.ids, cams.district, strict=True) if d == "510104")
    write(
        seeded_url,
        CAMERA_STATUS,
        [
            (uuid.uuid4(), at(8, 0, 1), cam, "510104", "online"),
            (uuid.uuid4(), at(8, 0, 2), cam, "510104", "offline"),
            (uuid.uuid4(), at(8, 0, 3), cam, "510104", "fault"),
        ],
    )
    assert series(seeded_url, "camera_status", "510104", at(8), at(9), "1m") == [
        {"bucket": at(8), "reports": 3, "down": 2}
    ]
    write(seeded_url, CASE_EVENTS, [case_event(c, *step) for c in CASES for step in CASES[c]])
    assert series(seeded_url, "case_events", "510104", at(0), at(13), "1h") == [
        {"bucket": at(8), "created": 2, "emergencies": 0, "resolved": 0, "closed": 0},
        {"bucket": at(9), "created": 1, "emergencies": 1, "resolved": 1, "closed": 1},
        {"bucket": at(10), "created": 0, "emergencies": 0, "resolved": 1, "closed": 1},
        {"bucket": at(11), "created": 1, "emergencies": 0, "resolved": 0, "closed": 0},
    ]


def test_series_refuses_what_it_does_not_have(seeded_url):
    with pytest.raises(ValueError, match="resolution"):
        series(seeded_url, "readings", "510104", at(8), at(9), "5m")
    with pytest.raises(ValueError, match="no rollup"):
        series(seeded_url, "cases", "510104", at(8), at(9))


# case id -> [(type, time, extra)]; the district and urgency come from META
META = {
    "A": ("510104", "normal", at(10)),
    "B": ("510104", "normal", at(9)),
    "C": ("510104", "emergency", at(9, 30)),
    "D": ("510104", "normal", at(13)),
    "E": ("510105", "normal", at(14)),
    "F": ("510105", "normal", at(12, day=21)),
}
CASES = {
    "A": [("created", at(8)), ("resolved", at(9)), ("closed", at(9, 30), {"satisfaction": 5})],
    "B": [("created", at(8)), ("resolved", at(10)), ("closed", at(10, 10), {"satisfaction": 2})],
    "C": [("created", at(9)), ("assigned", at(9, 5), {"assignee": "grid-1"})],
    "D": [("created", at(11))],
    "E": [("created", at(10)), ("resolved", at(11))],
    "F": [("created", at(10, day=21))],
}


def case_event(case_id, type_, when, extra=None):
    district, urgency, deadline = META[case_id]
    extra = extra or {}
    return (
        uuid.uuid4(),
        when,
        case_id,
        district,
        type_,
        "noise",
        urgency,
        deadline,
        extra.get("satisfaction"),
        extra.get("assignee"),
        None,
        None,
    )


def test_case_kpis_per_district_and_city(seeded_url):
    write(seeded_url, CASE_EVENTS, [case_event(c, *step) for c in CASES for step in CASES[c]])
    with psycopg.connect(seeded_url) as conn:
        kpis = queries.case_kpis(conn, since=at(0), now=NOW)
    assert kpis["510104"] == queries.CaseKpis(
        "510104",
        opened=4,
        resolution_rate=0.5,
        on_time_rate=0.5,
        satisfaction_rate=0.5,
        open_cases=2,
        overdue=1,
        open_emergencies=1,
    )
    assert kpis["510105"] == queries.CaseKpis(
        "510105",
        opened=1,
        resolution_rate=1.0,
        on_time_rate=1.0,
        satisfaction_rate=None,
        open_cases=1,
        overdue=1,
        open_emergencies=0,
    )
    assert kpis[None] == queries.CaseKpis(
        None,
        opened=5,
        resolution_rate=0.6,
        on_time_rate=pytest.approx(2 / 3),
        satisfaction_rate=0.5,
        open_cases=3,
        overdue=2,
        open_emergencies=1,
    )


def test_device_status_per_district(seeded_url, registry):
    cams, sensors = registry
    in_core = [c for c, d in zip(cams.ids, cams.district, strict=True) if d == "510104"][:3]
    write(
        seeded_url,
        CAMERA_STATUS,
        [
            (uuid.uuid4(), NOW, in_core[0], "510104", "online"),
            (uuid.uuid4(), NOW, in_core[1], "510104", "offline"),
            (uuid.uuid4(), NOW, in_core[2], "510104", "fault"),
        ],
    )
    core_sensors = [
        (s, k) for s, d, k in zip(sensors.ids, sensors.district, sensors.kind, strict=True) if d == "510104"
    ]
    fresh = [
        (uuid.uuid4(), NOW - timedelta(minutes=5), s, "510104", k, 1.0, "m") for s, k in core_sensors[:2]
    ]
    stale = [
        (uuid.uuid4(), NOW - timedelta(minutes=20), s, "510104", k, 1.0, "m") for s, k in core_sensors[2:3]
    ]
    write(seeded_url, READINGS, fresh + stale)
    with psycopg.connect(seeded_url) as conn:
        rows = {r["district"]: r for r in queries.device_status(conn, at=NOW)}
    assert len(rows) == 20
    core = rows["510104"]
    total_cams = sum(1 for d in cams.district if d == "510104")
    assert (core["cameras_online"], core["cameras_offline"], core["cameras_fault"]) == (1, 1, 1)
    assert core["cameras_unknown"] == total_cams - 3
    assert (core["sensors"], core["sensors_reporting"], core["sensors_silent"]) == (
        len(core_sensors),
        2,
        len(core_sensors) - 2,
    )
    # live, the newest reading each sensor sent counts (kept by the writer): one now, the rest long ago
    sensor, kind = core_sensors[0]
    write(seeded_url, READINGS, [(uuid.uuid4(), datetime.now(UTC), sensor, "510104", kind, 1.0, "m")])
    with psycopg.connect(seeded_url) as conn:
        live = {r["district"]: r for r in queries.device_status(conn)}["510104"]
    assert (live["sensors_reporting"], live["sensors_silent"]) == (1, len(core_sensors) - 1)


def test_plain_mode_prunes_past_retention(seeded_url):
    with psycopg.connect(seeded_url) as conn:
        if storage_mode(conn) != "plain":
            pytest.skip("TimescaleDB drops chunks by its retention policy; see test_timescale.py")
    now = datetime.now(UTC)
    write(seeded_url, READINGS, [reading(now - timedelta(days=100), "pm25", 1), reading(now, "pm25", 2)])
    with psycopg.connect(seeded_url) as conn:
        deleted = prune_past_retention(conn)
        left = conn.execute("SELECT value FROM readings").fetchall()
        minutes = conn.execute("SELECT count(*) FROM readings_1m").fetchone()[0]
        sensor_minutes = conn.execute("SELECT count(*) FROM sensor_minutes").fetchone()[0]
    # the raw row, its 1-minute rollup and its sensor's minute; the hourly rollup is kept two years
    assert deleted == 3
    assert left == [(2.0,)] and minutes == 1 and sensor_minutes == 1
