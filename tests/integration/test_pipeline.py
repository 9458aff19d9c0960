"""The worker on the real broker and database: exactly the produced rows, no duplicates on replay."""

from datetime import UTC, datetime, timedelta

import psycopg
from kafka import KafkaProducer

from citybrain.events import CameraStatus, CaseEvent, IoTReading, Topic
from tests.helpers import read_topic, wait_until

PARTITIONS = 2
MARKER = b"end-of-batch-marker"  # malformed on purpose: its dead letter proves the partition was consumed


def known_events(registry):
    cams, sensors = registry
    now = datetime.now(UTC).replace(microsecond=0)
    events = []
    for i in range(100):
        kind = sensors.kind[i % 20]
        value = {"water_level": 3.2, "pm25": 40.0, "gas": 1.0, "noise": 60.0, "temperature": 18.0}[kind]
        unit = {"water_level": "m", "pm25": "ug/m3", "gas": "%LEL", "noise": "dB(A)", "temperature": "degC"}[
            kind
        ]
        events.append(
            IoTReading(
                event_time=now - timedelta(seconds=i),
                device_id=sensors.ids[i % 20],
                kind=kind,
                value=value + i % 7,
                unit=unit,
            )
        )
    for i in range(30):
        events.append(
            CameraStatus(
                event_time=now - timedelta(seconds=i),
                camera_id=cams.ids[i],
                status="offline" if i < 10 else "online",
            )
        )
    for c in range(10):
        base = dict(
            case_id=f"case-{c}",
            category="noise",
            district=str(cams.district[c]),
            urgency="emergency" if c < 3 else "normal",
            deadline=now + timedelta(hours=1),
        )
        events.append(CaseEvent(event_time=now - timedelta(minutes=10), type="created", **base))
        if c < 6:
            events.append(
                CaseEvent(event_time=now - timedelta(minutes=5), type="assigned", assignee="grid-1", **base)
            )
        if c < 2:
            events.append(
                CaseEvent(event_time=now - timedelta(minutes=1), type="closed", satisfaction=5, **base)
            )
    return events


def key_of(event) -> str:
    return getattr(event, "device_id", None) or getattr(event, "camera_id", None) or event.case_id


def topic_of(event) -> Topic:
    return {IoTReading: Topic.READINGS, CameraStatus: Topic.CAMERA_STATUS, CaseEvent: Topic.CASE_EVENTS}[
        type(event)
    ]


def produce(bootstrap, events, bad) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for event in events:
        producer.send(topic_of(event).value, key=key_of(event).encode(), value=event.to_bytes())
    for topic, value in bad:
        producer.send(topic.value, key=b"bad", value=value)
    for topic in (Topic.READINGS, Topic.CAMERA_STATUS, Topic.CASE_EVENTS):
        for p in range(PARTITIONS):
            producer.send(topic.value, value=MARKER, partition=p)
    producer.flush()
    producer.close()


def dead_letters(bootstrap) -> list:
    return read_topic(bootstrap, Topic.DLQ.value, PARTITIONS)


def db_state(url):
    with psycopg.connect(url) as conn:
        q = lambda sql: conn.execute(sql).fetchall()  # noqa: E731
        return {
            "readings": {r[0] for r in q("SELECT event_id FROM readings")},
            "camera_status": {r[0] for r in q("SELECT event_id FROM camera_status")},
            "case_events": {r[0] for r in q("SELECT event_id FROM case_events")},
            "counts": q(
                "SELECT (SELECT count(*) FROM readings), (SELECT count(*) FROM camera_status),"
                " (SELECT count(*) FROM case_events), (SELECT count(*) FROM cases)"
            )[0],
            "offline": q("SELECT count(*) FROM cameras WHERE status = 'offline'")[0][0],
            "cases": dict(q("SELECT status, count(*) FROM cases GROUP BY status")),
        }


def test_worker_stores_exactly_the_produced_events_and_replays_add_nothing(
    bootstrap, seeded_url, registry, worker
):
    # Dead letters from earlier tests share the session broker, so only count growth.
    before = len(dead_letters(bootstrap))
    events = known_events(registry)
    now = datetime.now(UTC)
    bad = [
        (Topic.READINGS, b"{not json"),
        (
            Topic.READINGS,
            IoTReading(event_time=now, device_id="iot-99999", kind="pm25", value=1, unit="ug/m3").to_bytes(),
        ),
        (
            Topic.CAMERA_STATUS,
            b'{"event_time": "2026-01-01T00:00:00Z", "camera_id": "cam-000001", "status": "melted"}',
        ),
    ]
    markers = 3 * PARTITIONS
    produce(bootstrap, events, bad)
    wait_until(lambda: len(dead_letters(bootstrap)) - before >= len(bad) + markers, 90, 1.0, "the first pass")

    expected = {
        "readings": {e.event_id for e in events if isinstance(e, IoTReading)},
        "camera_status": {e.event_id for e in events if isinstance(e, CameraStatus)},
        "case_events": {e.event_id for e in events if isinstance(e, CaseEvent)},
        "counts": (100, 30, 10 + 6 + 2, 10),
        "offline": 10,
        "cases": {"created": 4, "assigned": 4, "closed": 2},
    }
    assert db_state(seeded_url) == expected

    letters = dead_letters(bootstrap)[before:]
    reasons = sorted(dict(r.headers)["reason"].decode() for r in letters)
    assert reasons == sorted(["malformed"] * (markers + 1) + ["unknown_device", "invalid"])
    malformed = next(r for r in letters if r.value == b"{not json")
    headers = dict(malformed.headers)
    assert headers["source_topic"] == b"iot.readings"
    assert int(headers["source_offset"]) >= 0 and int(headers["source_partition"]) in range(PARTITIONS)

    # the same events again: nothing new may appear
    produce(bootstrap, events, bad)
    wait_until(
        lambda: len(dead_letters(bootstrap)) - before >= 2 * (len(bad) + markers), 90, 1.0, "the replay"
    )
    assert db_state(seeded_url) == expected
    assert worker.poll() is None, "the worker must survive bad input"
