"""Turn a batch of raw messages into table rows and dead letters. Pure: no I/O.

Every message ends in exactly one of the two lists, whatever its bytes: the
per-event path catches everything, so one hostile event can never take its
batch's valid events down with it (an exception escaping here would lose
the batch). Size is checked before parsing; the compiled decoders in
``citybrain.wire`` refuse coercion and never follow nesting beyond the
contract. Each topic's converter then checks the event against the device
registry and builds the row tuple in the table's column order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

import msgspec

from citybrain.events import Topic
from citybrain.wire import DECODERS, Camera, Case, Reading, Refused, check


@dataclass(frozen=True)
class Lookup:
    cameras: dict[str, str]  # camera_id → district
    sensors: dict[str, tuple[str, str]]  # device_id → (district, kind)
    districts: frozenset[str]


class Record(Protocol):
    """The parts of a Kafka record ingest needs (aiokafka's ConsumerRecord has them)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True)
class Message:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True)
class DeadLetter:
    message: Record
    reason: str
    detail: str


@dataclass(frozen=True)
class Limits:
    """What the worker accepts: message size, and how far from now an event may be dated."""

    max_message_bytes: int
    max_future: timedelta
    max_age: timedelta


@dataclass
class Prepared:
    """One topic's share of a batch: rows (with the record each came from) and dead letters."""

    topic: str
    rows: list[tuple] = field(default_factory=list)
    sources: list[Record] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)


def _reading_row(e: Reading, t: datetime, lookup: Lookup) -> tuple:
    known = lookup.sensors.get(e.device_id)
    if known is None:
        raise Refused("unknown_device", f"sensor {e.device_id!r} is not in the registry")
    district, kind = known
    if kind != e.kind:
        raise Refused("kind_mismatch", f"sensor {e.device_id!r} is registered as {kind}, sent {e.kind}")
    return (e.event_id, t, e.device_id, district, kind, e.value, e.unit)


def _camera_row(e: Camera, t: datetime, lookup: Lookup) -> tuple:
    district = lookup.cameras.get(e.camera_id)
    if district is None:
        raise Refused("unknown_device", f"camera {e.camera_id!r} is not in the registry")
    return (e.event_id, t, e.camera_id, district, e.status)


def _case_row(e: Case, t: datetime, lookup: Lookup) -> tuple:
    if e.district not in lookup.districts:
        raise Refused("unknown_district", f"district {e.district!r} is not in this city")
    lon, lat = (e.location.lon, e.location.lat) if e.location else (None, None)
    deadline = None
    if e.deadline is not None:
        try:
            deadline = e.deadline.astimezone(UTC)
        except OverflowError:
            raise Refused(
                "out_of_range", f"deadline {e.deadline.isoformat()} is outside the UTC calendar"
            ) from None
    return (
        e.event_id,
        t,
        e.case_id,
        e.district,
        e.type,
        e.category,
        e.urgency,
        deadline,
        e.satisfaction,
        e.assignee,
        lon,
        lat,
    )


CONVERTERS: dict[str, Callable[..., tuple]] = {
    Topic.READINGS: _reading_row,
    Topic.CAMERA_STATUS: _camera_row,
    Topic.CASE_EVENTS: _case_row,
}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"[:500]


def prepare(topic: str, records: Iterable[Record], lookup: Lookup, now: datetime, limits: Limits) -> Prepared:
    """Split one topic's records into rows and dead letters; never raises for an event's content."""
    out = Prepared(topic)
    decode = DECODERS[topic].decode
    convert = CONVERTERS[topic]
    newest, oldest = now + limits.max_future, now - limits.max_age
    max_bytes = limits.max_message_bytes
    rows, sources, dead = out.rows, out.sources, out.dead
    for record in records:
        value = record.value
        try:
            if value is None or not value:
                raise Refused("malformed", "empty message")
            if len(value) > max_bytes:
                raise Refused("too_large", f"{len(value):,} bytes is over the limit of {max_bytes:,}")
            event = decode(value)
            check(event)
            try:
                t = event.event_time.astimezone(UTC)
            except OverflowError:
                raise Refused(
                    "out_of_range", f"event_time {event.event_time.isoformat()} is outside the UTC calendar"
                ) from None
            if t > newest:
                raise Refused("future_dated", f"event_time {t.isoformat()} is after {newest.isoformat()}")
            if t < oldest:
                raise Refused("too_old", f"event_time {t.isoformat()} is before {oldest.isoformat()}")
            rows.append(convert(event, t, lookup))
            sources.append(record)
        except Refused as bad:
            dead.append(DeadLetter(record, bad.reason, bad.detail))
        except msgspec.ValidationError as exc:
            why = str(exc)[:500]
            dead.append(
                DeadLetter(record, "unsupported_version" if "$.schema_version" in why else "invalid", why)
            )
        except msgspec.DecodeError as exc:
            dead.append(DeadLetter(record, "malformed", str(exc)[:500]))
        except Exception as exc:  # nothing about one event may escape and lose its batch
            dead.append(DeadLetter(record, "invalid", _first_line(exc)))
    return out
