from datetime import UTC, datetime

import pytest

from citybrain.events import CaseEvent, Topic, json_schemas

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


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


def test_input_topics_require_a_producer_assigned_event_id():
    for topic in (Topic.READINGS, Topic.CAMERA_STATUS, Topic.CASE_EVENTS):
        assert "event_id" in json_schemas()[topic]["required"]
