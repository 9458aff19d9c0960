"""Scenarios: incidents injected on top of the normal simulated city, for drills and demos."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from kafka import KafkaProducer

from citybrain.events import SENSOR_SPECS, CameraStatus, IoTReading, SensorKind, Topic
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


def send(bootstrap: str, events: list[CameraStatus | IoTReading]) -> int:
    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id="citybrain-scenario")
    for e in events:
        topic, key = (
            (Topic.CAMERA_STATUS, e.camera_id)
            if isinstance(e, CameraStatus)
            else (Topic.READINGS, e.device_id)
        )
        producer.send(topic.value, key=key.encode(), value=e.to_bytes())
    producer.flush()
    producer.close()
    return len(events)
