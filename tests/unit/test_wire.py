"""The compiled decoders (citybrain.wire) and the documented contracts (citybrain.events) say the same."""

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from citybrain.events import TOPIC_MODELS, CameraStatus, CaseEvent, IoTReading, Topic
from citybrain.wire import DECODERS, check

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("topic", list(TOPIC_MODELS))
def test_same_fields_and_same_required_fields(topic):
    model, struct = TOPIC_MODELS[topic], DECODERS[topic].type
    assert set(model.model_fields) == set(struct.__struct_fields__)
    schema = msgspec.json.schema(struct)
    required = set(schema["$defs"][struct.__name__]["required"])
    assert required == {n for n, f in model.model_fields.items() if f.is_required()} | {"event_id"}


EXAMPLES = [
    IoTReading(event_time=NOW, device_id="iot-1", kind="water_level", value=3.25, unit="m"),
    CameraStatus(event_time=NOW, camera_id="cam-1", status="fault"),
    CaseEvent(
        event_time=NOW,
        case_id="c-1",
        type="created",
        category="drainage",
        district="510104",
        urgency="emergency",
        deadline=NOW + timedelta(minutes=30),
        location={"lon": 104.1, "lat": 30.6},
    ),
    CaseEvent(
        event_time=NOW, case_id="c-1", type="closed", category="drainage", district="510104", satisfaction=4
    ),
]


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: type(e).__name__)
def test_what_a_producer_sends_decodes_to_the_same_values(event):
    topic = {IoTReading: Topic.READINGS, CameraStatus: Topic.CAMERA_STATUS, CaseEvent: Topic.CASE_EVENTS}[
        type(event)
    ]
    decoded = DECODERS[topic].decode(event.to_bytes())
    check(decoded)
    for name, value in event.model_dump().items():
        got = getattr(decoded, name)
        got = msgspec.to_builtins(got) if isinstance(got, msgspec.Struct) else got
        assert got == value, name
    assert isinstance(decoded.event_id, uuid.UUID)
