"""What the chaos run sends: a realistic mix of valid events with hostile ones woven in.

Every message comes with what must become of it: stored (under its
``event_id``, in its table) or dead-lettered with a specific reason. Exact
replays of a valid event expect nothing new at all.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from citybrain.events import SENSOR_SPECS, CameraStatus, CaseEvent, IoTReading, SensorKind, Topic
from citybrain.geo.registry import Devices


@dataclass(frozen=True)
class Planned:
    topic: str
    key: bytes
    value: bytes
    event_id: str | None  # stored under this id (valid events and exact replays)
    reason: str | None  # dead-lettered with this reason
    replay: bool = False  # an exact copy of an earlier valid event: adds nothing


def _reading(sensors: Devices, i: int, now: datetime) -> IoTReading:
    kind = SensorKind(sensors.kind[i])
    unit, low, high = SENSOR_SPECS[kind]
    return IoTReading(
        event_time=now, device_id=str(sensors.ids[i]), kind=kind, value=round((low + high) / 5, 2), unit=unit
    )


def _hostile(sensors: Devices, rnd: random.Random, now: datetime, earlier: list[Planned]) -> Planned:
    """One bad message of a random kind (or an exact or conflicting replay of an earlier good one)."""
    i = rnd.randrange(len(sensors))
    good = json.loads(_reading(sensors, i, now).to_bytes())
    key = str(sensors.ids[i]).encode()

    def doc(**over) -> bytes:
        return json.dumps({**good, **over}).encode()

    kinds = [
        (b"{not json", "malformed"),
        (b"", "malformed"),
        (
            b'{"event_id": "'
            + str(uuid.uuid4()).encode()
            + b'", "x": '
            + b"[" * 20_000
            + b"]" * 20_000
            + b"}",
            "invalid",
        ),
        (doc()[:-1] + b', "value": 1' + b"0" * 5000 + b"}", "invalid"),
        (doc(event_time="9999-12-31T23:59:59-14:00"), "out_of_range"),
        (doc(event_time="1970-01-01T00:00:00Z"), "too_old"),
        (doc(event_time=(now + timedelta(days=1)).isoformat()), "future_dated"),
        (doc(value=True), "invalid"),
        (doc(value="1.5"), "invalid"),
        (doc(event_time=1_700_000_000), "invalid"),
        (doc(schema_version=True), "unsupported_version"),
        (doc(device_id="nobody"), "unknown_device"),
        (doc(value=-1e6), "out_of_range"),
        (doc(extra="field"), "invalid"),
        (b"x" * 2_000_000, "too_large"),
    ]
    stored = [p for p in earlier if p.event_id and not p.replay and p.topic == Topic.READINGS]
    if stored and rnd.random() < 0.15:
        original = rnd.choice(stored)
        if rnd.random() < 0.5:
            return Planned(original.topic, original.key, original.value, original.event_id, None, replay=True)
        changed = json.loads(original.value)
        changed["value"] = changed["value"] + 1
        return Planned(
            original.topic, original.key, json.dumps(changed).encode(), None, "conflicting_duplicate"
        )
    value, reason = rnd.choice(kinds)
    return Planned(Topic.READINGS, key, value, None, reason)


def plan(cameras: Devices, sensors: Devices, n: int, bad_share: float, seed: int) -> list[Planned]:
    """``n`` messages: readings, camera reports and case events, ``bad_share`` of them hostile."""
    rnd = random.Random(seed)
    now = datetime.now(UTC)
    out: list[Planned] = []
    for _ in range(n):
        roll = rnd.random()
        if roll < bad_share:
            out.append(_hostile(sensors, rnd, now, out))
        elif roll < bad_share + (1 - bad_share) * 0.55:
            e = _reading(sensors, rnd.randrange(len(sensors)), now)
            out.append(Planned(Topic.READINGS, e.device_id.encode(), e.to_bytes(), str(e.event_id), None))
        elif roll < bad_share + (1 - bad_share) * 0.95:
            j = rnd.randrange(len(cameras))
            e = CameraStatus(
                event_time=now, camera_id=str(cameras.ids[j]), status=rnd.choice(["online", "offline"])
            )
            out.append(
                Planned(Topic.CAMERA_STATUS, e.camera_id.encode(), e.to_bytes(), str(e.event_id), None)
            )
        else:
            case_id = f"chaos-{uuid.uuid4().hex[:10]}"
            e = CaseEvent(
                event_time=now,
                case_id=case_id,
                type="created",
                category="noise",
                district=str(cameras.district[rnd.randrange(len(cameras))]),
                deadline=now + timedelta(hours=4),
            )
            out.append(Planned(Topic.CASE_EVENTS, case_id.encode(), e.to_bytes(), str(e.event_id), None))
    return out
