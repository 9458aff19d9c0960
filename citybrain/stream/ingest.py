"""Turn a batch of raw messages into table rows and dead letters. Pure: no I/O.

Each input topic has a converter that checks the event against the device
registry (unknown devices are refused, and readings must match the kind the
sensor is registered with) and returns the row tuple for the writer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from citybrain.events import BadEvent, CameraStatus, CaseEvent, Event, IoTReading, Topic, decode


@dataclass(frozen=True)
class Lookup:
    cameras: dict[str, str]  # camera_id → district
    sensors: dict[str, tuple[str, str]]  # device_id → (district, kind)
    districts: frozenset[str]


@dataclass(frozen=True)
class Message:
    """The parts of a Kafka record ingest needs (where it came from, and its bytes)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True)
class DeadLetter:
    message: Message
    reason: str
    detail: str


def _reading_row(e: IoTReading, lookup: Lookup) -> tuple:
    known = lookup.sensors.get(e.device_id)
    if known is None:
        raise BadEvent("unknown_device", f"sensor {e.device_id!r} is not in the registry")
    district, kind = known
    if kind != e.kind.value:
        raise BadEvent("kind_mismatch", f"sensor {e.device_id!r} is registered as {kind}, sent {e.kind.value}")
    return (e.event_id, e.event_time, e.device_id, district, e.kind.value, e.value, e.unit)


def _camera_row(e: CameraStatus, lookup: Lookup) -> tuple:
    district = lookup.cameras.get(e.camera_id)
    if district is None:
        raise BadEvent("unknown_device", f"camera {e.camera_id!r} is not in the registry")
    return (e.event_id, e.event_time, e.camera_id, district, e.status.value)


def _case_row(e: CaseEvent, lookup: Lookup) -> tuple:
    if e.district not in lookup.districts:
        raise BadEvent("unknown_district", f"district {e.district!r} is not in this city")
    lon, lat = (e.location.lon, e.location.lat) if e.location else (None, None)
    return (
        e.event_id, e.event_time, e.case_id, e.district, e.type.value, e.category, e.urgency.value,
        e.deadline, e.satisfaction, e.assignee, lon, lat,
    )


CONVERTERS: dict[str, Callable[[Event, Lookup], tuple]] = {
    Topic.READINGS: _reading_row,
    Topic.CAMERA_STATUS: _camera_row,
    Topic.CASE_EVENTS: _case_row,
}


def prepare(
    messages: Iterable[Message], lookup: Lookup, now: datetime, max_future: timedelta
) -> tuple[list[tuple], list[Message], list[DeadLetter]]:
    """Split a batch into (rows, the messages those rows came from, dead letters)."""
    rows: list[tuple] = []
    sources: list[Message] = []
    dead: list[DeadLetter] = []
    horizon = now + max_future
    for message in messages:
        try:
            event = decode(message.topic, message.value)
            if event.event_time > horizon:
                raise BadEvent("future_dated", f"event_time {event.event_time.isoformat()} is after {horizon.isoformat()}")
            rows.append(CONVERTERS[message.topic](event, lookup))
            sources.append(message)
        except BadEvent as bad:
            dead.append(DeadLetter(message, bad.reason, bad.detail))
    return rows, sources, dead
