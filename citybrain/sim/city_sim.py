"""A simulated city emitting the three input streams.

``CitySimulator.step(now, dt)`` is deterministic for a seed and does no I/O,
so tests can drive it with a fixed clock; ``run`` sends its events in whole
record batches (``publish.py``), keyed by device, camera and case id.

What it models: readings with a daily rhythm (PM2.5 and noise peak at rush
hours, temperature follows the sun, water levels drift), camera outages that
start at random and heal after minutes, and citizen cases (12345 hotline)
that arrive in proportion to where people are and walk through their
lifecycle: created → assigned → resolved → closed with a satisfaction score.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from citybrain.events import (
    SENSOR_SPECS,
    CameraState,
    CameraStatus,
    CaseEvent,
    CaseEventType,
    Event,
    IoTReading,
    Location,
    SensorKind,
    Topic,
    Urgency,
)
from citybrain.geo.registry import Devices
from citybrain.sim.publish import BatchPublisher

CASE_CATEGORIES = (
    "city_appearance",
    "traffic",
    "noise",
    "water_supply",
    "gas_safety",
    "public_security",
    "environment",
    "housing",
    "street_lighting",
    "drainage",
)
# Share of the configured rate that is camera status; the rest is sensor readings.
# Citizen cases arrive at their own rate (the city's appeals per year), whatever the rate.
CAMERA_SHARE = 0.4
OUTAGE_PER_CAMERA_HOUR = 0.02  # chance a camera drops out within an hour
MEAN_OUTAGE_S = 600.0
# Case lifecycle, compressed so a demo shows every stage within minutes.
STAGE_MEAN_S = {CaseEventType.CREATED: 90.0, CaseEventType.ASSIGNED: 240.0, CaseEventType.RESOLVED: 120.0}
DEADLINE = {Urgency.EMERGENCY: timedelta(minutes=30), Urgency.NORMAL: timedelta(hours=4)}


def fresh_ids(n: int) -> Iterator[uuid.UUID]:
    """``n`` random version-4 event ids from one read of the system's randomness: ``uuid.uuid4()`` reads it
    once per id, which is most of the cost of an event at 50,000 events/s. (Not from the seeded generator:
    a restarted simulator would repeat its ids, and the worker would take new events for replays.)"""
    pool = os.urandom(16 * n)
    for i in range(0, 16 * n, 16):
        yield uuid.UUID(bytes=pool[i : i + 16], version=4)


def _rush(hour: float) -> float:
    """0..1, peaking at the morning and evening rush."""
    return max(math.exp(-((hour - 8.5) ** 2) / 2), math.exp(-((hour - 18.0) ** 2) / 3))


# per kind: (how the hour moves the level, noise scale); the noise of gas only adds (leaks, never minus)
def _hour_shift(kind: str, base: np.ndarray, hour: float) -> np.ndarray:
    if kind == SensorKind.PM25:
        return base * (0.7 + 0.8 * _rush(hour))
    if kind == SensorKind.NOISE:
        return base + 12 * _rush(hour) - (8 if hour < 6 or hour > 23 else 0)
    if kind == SensorKind.TEMPERATURE:
        return base + 6 * math.sin((hour - 9) / 24 * 2 * math.pi)
    return base  # gas and water level: no daily rhythm


UNIT = {kind.value: unit for kind, (unit, _, _) in SENSOR_SPECS.items()}
NOISE_SCALE = {
    SensorKind.PM25: 8.0,
    SensorKind.NOISE: 3.0,
    SensorKind.TEMPERATURE: 1.0,
    SensorKind.GAS: 0.5,
    SensorKind.WATER_LEVEL: 0.05,
}


def sensor_values(kinds: np.ndarray, base: np.ndarray, hour: float, noise: np.ndarray) -> np.ndarray:
    """Plausible readings at local ``hour`` (0-24) for sensors of ``kinds`` with normal levels ``base``,
    one per noise draw, computed for a whole step at once (a per-reading Python function cost more than
    the rest of an event at 50,000 events/s)."""
    values = np.empty(len(kinds))
    for kind in np.unique(kinds):
        mine = kinds == kind
        spec = SensorKind(kind)
        draw = np.abs(noise[mine]) if spec is SensorKind.GAS else noise[mine]
        _, low, high = SENSOR_SPECS[spec]
        values[mine] = np.clip(_hour_shift(spec, base[mine], hour) + draw * NOISE_SCALE[spec], low, high)
    return np.round(values, 2)


BASELINE = {
    SensorKind.PM25: (35.0, 12.0),
    SensorKind.NOISE: (55.0, 5.0),
    SensorKind.TEMPERATURE: (17.0, 3.0),
    SensorKind.GAS: (2.0, 1.0),
    SensorKind.WATER_LEVEL: (3.0, 0.6),
}


@dataclass
class _Case:
    case_id: str
    district: str
    category: str
    urgency: Urgency
    location: Location
    deadline: datetime
    stage: CaseEventType
    next_at: datetime


@dataclass
class CitySimulator:
    cameras: Devices
    sensors: Devices
    rate: float
    cases_per_s: float = 3_000_000 / (365 * 24 * 3600)
    seed: int = 0
    utc_offset_h: float = 8.0  # Chengdu local time drives the daily rhythm
    rng: np.random.Generator = field(init=False)
    _outage_until: dict[int, datetime] = field(init=False, default_factory=dict)
    _open_cases: list[_Case] = field(init=False, default_factory=list)
    _case_seq: int = field(init=False, default=0)
    _carry: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        base = [BASELINE[SensorKind(k)] for k in self.sensors.kind] if len(self.sensors) else []
        # a healthy city: every sensor's normal level sits well inside its limits (incidents are scenarios)
        self._sensor_base = np.array([np.clip(self.rng.normal(m, s), m - 2 * s, m + 2 * s) for m, s in base])
        self._carry = np.zeros(2)

    def _counts(self, dt: float) -> tuple[int, int, int]:
        """Events per stream this step; fractional remainders carry over so the rate holds."""
        want = self._carry + self.rate * dt * np.array([1 - CAMERA_SHARE, CAMERA_SHARE])
        whole = np.floor(want)
        self._carry = want - whole
        return int(whole[0]), int(whole[1]), int(self.rng.poisson(self.cases_per_s * dt))

    def step(self, now: datetime, dt: float) -> Iterator[tuple[Topic, str, Event]]:
        n_readings, n_status, n_cases = self._counts(dt)
        yield from self._readings(now, n_readings)
        yield from self._camera_events(now, dt, n_status)
        yield from self._case_events(now, n_cases)

    def _readings(self, now: datetime, n: int) -> Iterator[tuple[Topic, str, Event]]:
        if not len(self.sensors) or n <= 0:
            return
        hour = (now.hour + now.minute / 60 + self.utc_offset_h) % 24
        picked = self.rng.integers(0, len(self.sensors), n)
        kinds = self.sensors.kind[picked]
        values = sensor_values(kinds, self._sensor_base[picked], hour, self.rng.normal(size=n)).tolist()
        for i, kind, value, event_id in zip(
            picked.tolist(), kinds.tolist(), values, fresh_ids(n), strict=True
        ):
            device = self.sensors.ids[i]
            yield (
                Topic.READINGS,
                device,
                IoTReading(
                    event_id=event_id,
                    event_time=now,
                    device_id=device,
                    kind=kind,
                    value=value,
                    unit=UNIT[kind],
                ),
            )

    def _camera_events(self, now: datetime, dt: float, n: int) -> Iterator[tuple[Topic, str, Event]]:
        if not len(self.cameras):
            return
        for i, until in list(self._outage_until.items()):
            if until <= now:
                del self._outage_until[i]
                yield self._camera(now, i, CameraState.ONLINE)
        starts = self.rng.poisson(len(self.cameras) * OUTAGE_PER_CAMERA_HOUR * dt / 3600)
        for i in self.rng.integers(0, len(self.cameras), starts):
            i = int(i)
            if i not in self._outage_until:
                self._outage_until[i] = now + timedelta(seconds=self.rng.exponential(MEAN_OUTAGE_S))
                state = CameraState.FAULT if self.rng.random() < 0.2 else CameraState.OFFLINE
                yield self._camera(now, i, state)
        # the rest of the budget is periodic status reports from healthy cameras
        ids = fresh_ids(n)
        for i in self.rng.integers(0, len(self.cameras), n):
            if int(i) not in self._outage_until:
                yield self._camera(now, int(i), CameraState.ONLINE, next(ids))

    def _camera(
        self, now: datetime, i: int, state: CameraState, event_id: uuid.UUID | None = None
    ) -> tuple[Topic, str, Event]:
        cam = self.cameras.ids[i]
        event = CameraStatus(event_id=event_id or uuid.uuid4(), event_time=now, camera_id=cam, status=state)
        return Topic.CAMERA_STATUS, cam, event

    def _case_events(self, now: datetime, n_new: int) -> Iterator[tuple[Topic, str, Event]]:
        for _ in range(n_new):
            yield self._new_case(now)
        still_open = []
        for case in self._open_cases:
            if case.next_at > now:
                still_open.append(case)
                continue
            nxt = {
                CaseEventType.CREATED: CaseEventType.ASSIGNED,
                CaseEventType.ASSIGNED: CaseEventType.RESOLVED,
                CaseEventType.RESOLVED: CaseEventType.CLOSED,
            }[case.stage]
            case.stage = nxt
            satisfaction = (
                int(self.rng.choice([1, 2, 3, 4, 5], p=[0.04, 0.04, 0.12, 0.3, 0.5]))
                if nxt is CaseEventType.CLOSED
                else None
            )
            assignee = f"grid-{self.rng.integers(1, 400):03d}" if nxt is CaseEventType.ASSIGNED else None
            yield (
                Topic.CASE_EVENTS,
                case.case_id,
                self._case_event(case, now, nxt, satisfaction=satisfaction, assignee=assignee),
            )
            if nxt is not CaseEventType.CLOSED:
                case.next_at = now + timedelta(seconds=self.rng.exponential(STAGE_MEAN_S[nxt]))
                still_open.append(case)
        self._open_cases = still_open

    def _new_case(self, now: datetime) -> tuple[Topic, str, Event]:
        # citizens call from where people are: sample a camera's position (dense in the core)
        i = int(self.rng.integers(0, len(self.cameras))) if len(self.cameras) else None
        self._case_seq += 1
        urgency = Urgency.EMERGENCY if self.rng.random() < 0.05 else Urgency.NORMAL
        loc = Location(lon=float(self.cameras.lon[i]), lat=float(self.cameras.lat[i]))
        case = _Case(
            case_id=f"case-{self.seed % 10000:04d}-{self._case_seq:08d}",
            district=str(self.cameras.district[i]),
            category=str(self.rng.choice(CASE_CATEGORIES)),
            urgency=urgency,
            location=loc,
            deadline=now + DEADLINE[urgency],
            stage=CaseEventType.CREATED,
            next_at=now + timedelta(seconds=self.rng.exponential(STAGE_MEAN_S[CaseEventType.CREATED])),
        )
        self._open_cases.append(case)
        return Topic.CASE_EVENTS, case.case_id, self._case_event(case, now, CaseEventType.CREATED)

    @staticmethod
    def _case_event(case: _Case, now: datetime, type_: CaseEventType, **extra) -> CaseEvent:
        return CaseEvent(
            event_time=now,
            case_id=case.case_id,
            type=type_,
            category=case.category,
            urgency=case.urgency,
            district=case.district,
            location=case.location,
            deadline=case.deadline,
            **extra,
        )


@dataclass(frozen=True)
class Sent:
    """What a run sent over the time its steps covered (each step sends the events of the time since the
    last), and how far behind the clock the broker's last acknowledgement came: a sender that keeps up
    stays a fraction of a step behind however long it runs; one that cannot falls further behind."""

    events: int
    seconds: float
    behind_s: float

    @property
    def per_s(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def run(sim: CitySimulator, bootstrap: str, duration_s: float | None = None, tick_s: float = 0.2) -> Sent:
    """Send the simulator's events in real time, each step's worth of the time since the last."""
    return asyncio.run(_run(sim, bootstrap, duration_s, tick_s))


async def _run(sim: CitySimulator, bootstrap: str, duration_s: float | None, tick_s: float) -> Sent:
    publisher = BatchPublisher(bootstrap)
    await publisher.start()
    sent = 0
    started = last = time.monotonic()
    try:
        while duration_s is None or last - started < duration_s:
            await asyncio.sleep(max(0.0, tick_s - (time.monotonic() - last)))
            tick = time.monotonic()
            sent += await publisher.publish(
                (topic.value, key.encode(), event.to_bytes())
                for topic, key, event in sim.step(datetime.now(UTC), tick - last)
            )
            last = tick
        return Sent(sent, last - started, time.monotonic() - last)  # each publish waits for its acks
    finally:
        await publisher.stop()
