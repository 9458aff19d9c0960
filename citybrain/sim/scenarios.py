"""Scenarios: incidents injected on top of the normal simulated city, for drills and demos."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
from kafka import KafkaProducer

from citybrain.events import (
    SENSOR_SPECS,
    CameraStatus,
    CaseEvent,
    CaseEventType,
    IoTReading,
    Location,
    SensorKind,
    Topic,
)
from citybrain.geo.registry import Devices


def camera_outage(cameras: Devices, district: str, share: float, seed: int = 0) -> list[CameraStatus]:
    """Take ``share`` of one district's cameras offline now (a network or power failure)."""
    idx = np.flatnonzero(cameras.district == district)
    if len(idx) == 0:
        raise ValueError(f"no cameras in district {district}")
    chosen = np.random.default_rng(seed).choice(idx, size=int(round(len(idx) * share)), replace=False)
    now = datetime.now(UTC)
    return [
        CameraStatus(event_time=now, camera_id=str(cameras.ids[i]), status="offline") for i in sorted(chosen)
    ]


def flood(sensors: Devices, district: str, level_m: float) -> list[IoTReading]:
    """Every water-level gauge in one district reads ``level_m`` now."""
    idx = [
        i
        for i, (d, k) in enumerate(zip(sensors.district, sensors.kind, strict=True))
        if d == district and k == SensorKind.WATER_LEVEL
    ]
    if not idx:
        raise ValueError(f"no water-level gauges in district {district}")
    unit = SENSOR_SPECS[SensorKind.WATER_LEVEL][0]
    now = datetime.now(UTC)
    return [
        IoTReading(
            event_time=now,
            device_id=str(sensors.ids[i]),
            kind=SensorKind.WATER_LEVEL,
            value=level_m,
            unit=unit,
        )
        for i in idx
    ]


def hotspot(
    cameras: Devices,
    district: str,
    locate,
    cases: int = 15,
    radius_m: float = 400,
    category: str = "water_supply",
    over_s: float = 0.0,
    seed: int = 0,
    now: datetime | None = None,
) -> list[CaseEvent]:
    """``cases`` citizen appeals of one category within ``radius_m`` of a point of ``district`` (a video
    point there: where people are), their times spread over the ``over_s`` seconds from ``now``. Each is
    filed under the district its location is in, so a hot spot near a border has cases in both."""
    from citybrain.sim.hotspots import around

    idx = np.flatnonzero(cameras.district == district)
    if len(idx) == 0:
        raise ValueError(f"no video points in district {district}")
    rng = np.random.default_rng(seed)
    centre = int(rng.choice(idx))
    lons, lats = around(float(cameras.lon[centre]), float(cameras.lat[centre]), cases, radius_m, rng)
    start = now or datetime.now(UTC)
    offsets = np.sort(rng.uniform(0, over_s, cases)) if over_s > 0 else np.zeros(cases)
    batch = uuid.uuid4().hex[:6]
    return [
        CaseEvent(
            event_time=start + timedelta(seconds=float(offset)),
            case_id=f"hotspot-{batch}-{k:03d}",
            type=CaseEventType.CREATED,
            category=category,
            district=locate(float(lon), float(lat)) or district,
            location=Location(lon=float(lon), lat=float(lat)),
            deadline=start + timedelta(seconds=float(offset), hours=4),
        )
        for k, (lon, lat, offset) in enumerate(zip(lons, lats, offsets, strict=True))
    ]


def _topic_and_key(e) -> tuple[Topic, str]:
    if isinstance(e, CameraStatus):
        return Topic.CAMERA_STATUS, e.camera_id
    if isinstance(e, CaseEvent):
        return Topic.CASE_EVENTS, e.case_id
    return Topic.READINGS, e.device_id


def send(bootstrap: str, events: list[CameraStatus | IoTReading | CaseEvent], paced: bool = False) -> int:
    """Publish the events; ``paced``: each when its event time comes (a drill in real time)."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id="citybrain-scenario")
    for e in sorted(events, key=lambda e: e.event_time) if paced else events:
        if paced:
            time.sleep(max(0.0, (e.event_time - datetime.now(UTC)).total_seconds()))
            producer.flush()
        topic, key = _topic_and_key(e)
        producer.send(topic.value, key=key.encode(), value=e.to_bytes())
    producer.flush()
    producer.close()
    return len(events)
