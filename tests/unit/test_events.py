import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from citybrain.events import BadEvent, CaseEvent, IoTReading, Topic, decode, json_schemas

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def reading(**over) -> dict:
    doc = {"event_time": NOW.isoformat(), "device_id": "iot-00001", "kind": "pm25", "value": 42.0, "unit": "ug/m3"}
    return {**doc, **over}


def test_round_trip_keeps_every_field():
    r = IoTReading(event_time=NOW, device_id="iot-1", kind="noise", value=61.5, unit="dB(A)")
    assert decode(Topic.READINGS, r.to_bytes()) == r


def test_event_time_is_normalised_to_utc():
    local = datetime(2026, 11, 22, 16, 0, tzinfo=timezone(timedelta(hours=8)))
    r = decode(Topic.READINGS, json.dumps(reading(event_time=local.isoformat())).encode())
    assert r.event_time == NOW and r.event_time.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("raw", "reason", "fragment"),
    [
        (b"not json", "malformed", "not JSON"),
        (b"[1, 2]", "malformed", "not a JSON object"),
        (None, "malformed", "empty"),
        (json.dumps(reading(schema_version=2)).encode(), "unsupported_version", "2"),
        (json.dumps(reading(event_time="2026-11-22T08:00:00")).encode(), "invalid", "event_time"),
        (json.dumps(reading(value=-3)).encode(), "invalid", "outside"),
        (json.dumps(reading(unit="mg/m3")).encode(), "invalid", "unit"),
        (json.dumps(reading(kind="radiation")).encode(), "invalid", "kind"),
        (json.dumps(reading(extra=1)).encode(), "invalid", "extra"),
        (json.dumps({k: v for k, v in reading().items() if k != "device_id"}).encode(), "invalid", "device_id"),
    ],
)
def test_bad_readings_are_refused_with_a_reason(raw, reason, fragment):
    with pytest.raises(BadEvent) as err:
        decode(Topic.READINGS, raw)
    assert err.value.reason == reason
    assert fragment in err.value.detail


def test_case_lifecycle_rules():
    base = dict(event_time=NOW, case_id="c1", category="noise", district="510104")
    with pytest.raises(ValueError, match="deadline"):
        CaseEvent(type="created", **base)
    with pytest.raises(ValueError, match="satisfaction"):
        CaseEvent(type="resolved", satisfaction=5, **base)
    closed = CaseEvent(type="closed", satisfaction=4, **base)
    assert closed.satisfaction == 4


def test_every_topic_has_a_json_schema():
    schemas = json_schemas()
    assert set(schemas) == {Topic.READINGS, Topic.CAMERA_STATUS, Topic.CASE_EVENTS, Topic.RISK, Topic.ALERTS}
    for schema in schemas.values():
        assert {"event_id", "event_time", "schema_version"} <= set(schema["properties"])
