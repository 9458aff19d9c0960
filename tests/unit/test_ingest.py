"""The per-event path: every message becomes a row or a dead letter with a specific reason, never an
exception."""

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citybrain.events import CameraStatus, CaseEvent, IoTReading, Topic
from citybrain.stream.ingest import Limits, Lookup, Message, prepare

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
LOOKUP = Lookup(
    cameras={"cam-1": "510104"},
    sensors={"iot-1": ("510105", "pm25")},
    districts=frozenset({"510104", "510105"}),
)
LIMITS = Limits(max_message_bytes=64 * 1024, max_future=timedelta(minutes=5), max_age=timedelta(days=90))


def msg(topic: Topic, value: bytes | None, offset: int = 0) -> Message:
    return Message(topic.value, 0, offset, b"k", value)


def run(topic: Topic, *values: bytes | None):
    return prepare(topic.value, [msg(topic, v, i) for i, v in enumerate(values)], LOOKUP, NOW, LIMITS)


def reading(**over) -> bytes:
    doc = {
        "event_id": str(uuid.uuid4()),
        "event_time": NOW.isoformat(),
        "device_id": "iot-1",
        "kind": "pm25",
        "value": 42.0,
        "unit": "ug/m3",
        **over,
    }
    return json.dumps({k: v for k, v in doc.items() if v is not ...}).encode()


def case(**over) -> bytes:
    doc = {
        "event_id": str(uuid.uuid4()),
        "event_time": NOW.isoformat(),
        "case_id": "c-1",
        "type": "updated",
        "category": "noise",
        "district": "510104",
        **over,
    }
    return json.dumps({k: v for k, v in doc.items() if v is not ...}).encode()


def test_good_events_become_enriched_rows_in_utc():
    r = IoTReading(event_time=NOW, device_id="iot-1", kind="pm25", value=80, unit="ug/m3")
    local = datetime(2026, 11, 22, 16, 0, tzinfo=timezone(timedelta(hours=8)))
    c = CameraStatus(event_time=NOW, camera_id="cam-1", status="offline")
    readings = run(Topic.READINGS, r.to_bytes(), reading(event_time=local.isoformat()))
    cameras = run(Topic.CAMERA_STATUS, c.to_bytes())
    assert readings.dead == [] and cameras.dead == []
    assert readings.rows[0] == (r.event_id, NOW, "iot-1", "510105", "pm25", 80.0, "ug/m3")
    assert readings.rows[1][1] == NOW and readings.rows[1][1].utcoffset() == timedelta(0)
    assert cameras.rows == [(c.event_id, NOW, "cam-1", "510104", "offline")]
    assert [s.offset for s in readings.sources] == [0, 1]


def test_a_case_event_keeps_its_fields():
    deadline = NOW + timedelta(hours=4)
    e = CaseEvent(
        event_time=NOW,
        case_id="c-9",
        type="created",
        category="noise",
        district="510104",
        urgency="emergency",
        deadline=deadline,
        location={"lon": 104.06, "lat": 30.67},
        assignee="unit 3",
    )
    out = run(Topic.CASE_EVENTS, e.to_bytes())
    assert out.rows == [
        (
            e.event_id,
            NOW,
            "c-9",
            "510104",
            "created",
            "noise",
            "emergency",
            deadline,
            None,
            "unit 3",
            104.06,
            30.67,
        )
    ]


DEEP = b'{"event_id": "' + str(uuid.uuid4()).encode() + b'", "x": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"
HOSTILE_READINGS = [
    # (what, payload, reason)
    ("not JSON", b"{oops", "malformed"),
    ("empty", b"", "malformed"),
    ("null value", None, "malformed"),
    ("a JSON array", b"[1, 2]", "invalid"),
    ("nested 30,000 deep", DEEP, "invalid"),
    ("an array nested 30,000 deep", b"[" * 30_000 + b"]" * 30_000, "invalid"),
    ("an array nested 200,000 deep", b"[" * 200_000 + b"]" * 200_000, "too_large"),
    ("an integer of 5,000 digits", reading(value=...)[:-1] + b', "value": 1' + b"0" * 5000 + b"}", "invalid"),
    ("NaN", reading(value=...)[:-1] + b', "value": NaN}', "malformed"),
    ("1e999", reading(value=...)[:-1] + b', "value": 1e999}', "invalid"),
    ("time 9999-12-31 at -14:00", reading(event_time="9999-12-31T23:59:59-14:00"), "out_of_range"),
    ("time 0001-01-01 at +14:00", reading(event_time="0001-01-01T00:00:00+14:00"), "out_of_range"),
    ("time in 1970", reading(event_time="1970-01-01T00:00:00Z"), "too_old"),
    ("time in year 1", reading(event_time="0001-01-01T00:00:00Z"), "too_old"),
    ("an hour in the future", reading(event_time=(NOW + timedelta(hours=1)).isoformat()), "future_dated"),
    ("time without a zone", reading(event_time="2026-11-22T08:00:00"), "invalid"),
    ("Unix seconds as time", reading(event_time=1795334400), "invalid"),
    ("value true", reading(value=True), "invalid"),
    ("value as a string", reading(value="42.0"), "invalid"),
    ("schema_version true", reading(schema_version=True), "unsupported_version"),
    ("schema_version 2", reading(schema_version=2), "unsupported_version"),
    ("schema_version as a string", reading(schema_version="1"), "unsupported_version"),
    ("no event_id", reading(event_id=...), "invalid"),
    ("event_id not a UUID", reading(event_id="42"), "invalid"),
    ("unknown field", reading(extra=1), "invalid"),
    ("unknown kind", reading(kind="radiation"), "invalid"),
    ("wrong unit", reading(unit="mg/m3"), "invalid"),
    ("value below range", reading(value=-3.0), "out_of_range"),
    ("value above range", reading(value=1e9), "out_of_range"),
    ("unknown sensor", reading(device_id="iot-9"), "unknown_device"),
    ("sensor of another kind", reading(kind="noise", unit="dB(A)", value=50.0), "kind_mismatch"),
    ("NUL in device_id", reading(device_id="iot\u00001"), "unknown_device"),
    ("device_id of 10,000 chars", reading(device_id="x" * 10_000), "invalid"),
    ("10 MB message", reading(device_id="x" * 10_000_000), "too_large"),
    ("invalid UTF-8", b'{"device_id": "\xff\xfe"}', "malformed"),
]


@pytest.mark.parametrize(
    ("what", "payload", "reason"), HOSTILE_READINGS, ids=[h[0] for h in HOSTILE_READINGS]
)
def test_hostile_readings_are_dead_letters_with_a_specific_reason(what, payload, reason):
    good = reading()
    out = run(Topic.READINGS, good, payload, good)
    assert len(out.rows) == 2, "the valid events around a bad one are kept"
    assert [(d.message.offset, d.reason) for d in out.dead] == [(1, reason)], (
        out.dead[0].detail if out.dead else what
    )


HOSTILE_CASES = [
    ("deadline out of range", case(type="created", deadline="9999-12-31T23:59:59-14:00"), "out_of_range"),
    ("created without deadline", case(type="created"), "invalid"),
    ("satisfaction on update", case(satisfaction=5), "invalid"),
    ("satisfaction true", case(type="closed", satisfaction=True), "invalid"),
    ("satisfaction 6", case(type="closed", satisfaction=6), "invalid"),
    ("district not in the city", case(district="110101"), "unknown_district"),
    ("district not an adcode", case(district="Wuhou"), "invalid"),
    ("district six letters", case(district="Chengd"), "invalid"),
    ("district with a newline", case(district="51010\n"), "invalid"),
    ("district of five digits", case(district="51010"), "invalid"),
    ("district as a number", case(district=510104), "invalid"),
    ("unknown case type", case(type="reopened"), "invalid"),
    ("urgency an enum's name", case(urgency="EMERGENCY"), "invalid"),
    ("location out of range", case(location={"lon": 200, "lat": 30}), "invalid"),
    (
        "location nested deep",
        case(location=...)[:-1] + b', "location": ' + b"[" * 30_000 + b"]" * 30_000 + b"}",
        "invalid",
    ),
    ("control characters in category", case(category="noise\n\t"), "invalid"),
]


@pytest.mark.parametrize(("what", "payload", "reason"), HOSTILE_CASES, ids=[h[0] for h in HOSTILE_CASES])
def test_hostile_case_events_are_dead_letters(what, payload, reason):
    out = run(Topic.CASE_EVENTS, case(), payload)
    assert len(out.rows) == 1
    assert [(d.message.offset, d.reason) for d in out.dead] == [(1, reason)]


def test_unknown_camera():
    out = run(
        Topic.CAMERA_STATUS, CameraStatus(event_time=NOW, camera_id="cam-404", status="online").to_bytes()
    )
    assert [d.reason for d in out.dead] == ["unknown_device"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=20,
)
field_names = st.sampled_from(
    [
        "event_id",
        "event_time",
        "device_id",
        "kind",
        "value",
        "unit",
        "schema_version",
        "camera_id",
        "status",
        "case_id",
        "type",
        "category",
        "district",
        "deadline",
        "location",
        "satisfaction",
        "urgency",
        "assignee",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    topic=st.sampled_from([Topic.READINGS, Topic.CAMERA_STATUS, Topic.CASE_EVENTS]),
    payloads=st.lists(
        st.binary(max_size=200)
        | st.dictionaries(field_names, json_values).map(lambda d: json.dumps(d).encode()),
        max_size=20,
    ),
)
def test_nothing_escapes_and_every_message_is_accounted_for(topic, payloads):
    out = run(topic, *payloads)
    assert len(out.rows) + len(out.dead) == len(payloads)
    assert sorted([s.offset for s in out.sources] + [d.message.offset for d in out.dead]) == list(
        range(len(payloads))
    )
