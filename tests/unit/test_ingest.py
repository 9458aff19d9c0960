from datetime import UTC, datetime, timedelta

from citybrain.events import CameraStatus, CaseEvent, IoTReading, Topic
from citybrain.stream.ingest import Lookup, Message, prepare

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
LOOKUP = Lookup(
    cameras={"cam-1": "510104"},
    sensors={"iot-1": ("510105", "pm25")},
    districts=frozenset({"510104", "510105"}),
)


def msg(topic: Topic, value: bytes | None, offset: int = 0) -> Message:
    return Message(topic.value, 0, offset, b"k", value)


def run(*messages: Message):
    return prepare(messages, LOOKUP, NOW, timedelta(minutes=5))


def test_good_events_become_enriched_rows():
    r = IoTReading(event_time=NOW, device_id="iot-1", kind="pm25", value=80, unit="ug/m3")
    c = CameraStatus(event_time=NOW, camera_id="cam-1", status="offline")
    rows, sources, dead = run(msg(Topic.READINGS, r.to_bytes()), msg(Topic.CAMERA_STATUS, c.to_bytes(), 1))
    assert dead == []
    assert rows == [
        (r.event_id, NOW, "iot-1", "510105", "pm25", 80.0, "ug/m3"),
        (c.event_id, NOW, "cam-1", "510104", "offline"),
    ]
    assert [s.offset for s in sources] == [0, 1]


def test_each_kind_of_bad_event_is_a_dead_letter_with_its_reason():
    unknown = IoTReading(event_time=NOW, device_id="iot-9", kind="pm25", value=1, unit="ug/m3")
    wrong_kind = IoTReading(event_time=NOW, device_id="iot-1", kind="noise", value=50, unit="dB(A)")
    future = IoTReading(event_time=NOW + timedelta(hours=1), device_id="iot-1", kind="pm25", value=1, unit="ug/m3")
    cam = CameraStatus(event_time=NOW, camera_id="cam-404", status="online")
    case = CaseEvent(event_time=NOW, case_id="c", type="created", category="noise", district="110101",
                     deadline=NOW + timedelta(hours=1))
    rows, _, dead = run(
        msg(Topic.READINGS, b"{oops", 0),
        msg(Topic.READINGS, unknown.to_bytes(), 1),
        msg(Topic.READINGS, wrong_kind.to_bytes(), 2),
        msg(Topic.READINGS, future.to_bytes(), 3),
        msg(Topic.CAMERA_STATUS, cam.to_bytes(), 4),
        msg(Topic.CASE_EVENTS, case.to_bytes(), 5),
    )
    assert rows == []
    assert [(d.message.offset, d.reason) for d in dead] == [
        (0, "malformed"), (1, "unknown_device"), (2, "kind_mismatch"),
        (3, "future_dated"), (4, "unknown_device"), (5, "unknown_district"),
    ]
