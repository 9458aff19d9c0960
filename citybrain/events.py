"""Wire contracts of citybrain's topics: JSON, one pydantic model per topic.

Every event carries a producer-assigned ``event_id`` and a timezone-aware
``event_time``; sinks are idempotent on that pair, so replays never duplicate.
``schema_version`` lets consumers refuse what they do not understand instead
of misreading it. These models document the contracts (JSON Schema) and are
the producers' API; the worker decodes with the compiled, strict twins in
``citybrain.wire``, held equal to these by tests.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

SCHEMA_VERSION = 1


class Topic(StrEnum):
    READINGS = "iot.readings"
    CAMERA_STATUS = "video.status"
    CASE_EVENTS = "case.events"
    RISK = "risk.indicators"
    ALERTS = "alerts.events"
    DLQ = "dlq"


class SensorKind(StrEnum):
    WATER_LEVEL = "water_level"
    PM25 = "pm25"
    GAS = "gas"
    NOISE = "noise"
    TEMPERATURE = "temperature"


# Unit and physically plausible range per kind: a value outside it is a broken
# sensor or a broken adapter, not a reading, and goes to the dead-letter topic.
SENSOR_SPECS: dict[SensorKind, tuple[str, float, float]] = {
    SensorKind.WATER_LEVEL: ("m", -5.0, 50.0),
    SensorKind.PM25: ("ug/m3", 0.0, 2000.0),
    SensorKind.GAS: ("%LEL", 0.0, 100.0),
    SensorKind.NOISE: ("dB(A)", 0.0, 160.0),
    SensorKind.TEMPERATURE: ("degC", -40.0, 70.0),
}


class Level(StrEnum):
    """A district's risk: "normal" (no warning), then China's four warning levels, blue IV up to red I.

    Blue is already a warning, so a quiet district is normal, never blue.
    """

    NORMAL = "normal"
    BLUE = "blue"
    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"

    @property
    def rank(self) -> int:
        """0 (normal), 1 (blue IV) … 4 (red I): the order levels rise in."""
        return list(Level).index(self)

    @property
    def grade(self) -> str:
        """The warning's roman grade; empty for normal, which is no warning."""
        return {"normal": "", "blue": "IV", "yellow": "III", "orange": "II", "red": "I"}[self.value]

    @property
    def is_warning(self) -> bool:
        return self is not Level.NORMAL


class CameraState(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    FAULT = "fault"


class CaseEventType(StrEnum):
    CREATED = "created"
    ASSIGNED = "assigned"
    UPDATED = "updated"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Urgency(StrEnum):
    NORMAL = "normal"
    EMERGENCY = "emergency"


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


class Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    event_time: AwareDatetime

    _to_utc = field_validator("event_time")(_utc)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


class IoTReading(Event):
    device_id: Annotated[str, Field(min_length=1, max_length=64)]
    kind: SensorKind
    value: float
    unit: str

    @model_validator(mode="after")
    def _plausible(self) -> IoTReading:
        unit, low, high = SENSOR_SPECS[self.kind]
        if self.unit != unit:
            raise ValueError(f"unit {self.unit!r} is not {unit!r} for kind {self.kind.value}")
        if not math.isfinite(self.value) or not low <= self.value <= high:
            raise ValueError(f"value {self.value} outside {low}..{high} {unit} for kind {self.kind.value}")
        return self


class CameraStatus(Event):
    camera_id: Annotated[str, Field(min_length=1, max_length=64)]
    status: CameraState


class Location(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class CaseEvent(Event):
    case_id: Annotated[str, Field(min_length=1, max_length=64)]
    type: CaseEventType
    category: Annotated[str, Field(min_length=1, max_length=64)]
    urgency: Urgency = Urgency.NORMAL
    district: Annotated[str, Field(pattern=r"^\d{6}$")]
    location: Location | None = None
    deadline: AwareDatetime | None = None
    satisfaction: int | None = Field(None, ge=1, le=5, description="1-5, given by the citizen on close")
    assignee: str | None = Field(None, max_length=64)

    _deadline_utc = field_validator("deadline")(lambda v: None if v is None else _utc(v))

    @model_validator(mode="after")
    def _lifecycle(self) -> CaseEvent:
        if self.satisfaction is not None and self.type is not CaseEventType.CLOSED:
            raise ValueError("satisfaction is only given when a case is closed")
        if self.type is CaseEventType.CREATED and self.deadline is None:
            raise ValueError("a created case needs a deadline")
        return self


class DistrictRisk(Event):
    """A district's risk for one window (published on risk.indicators, keyed by district).

    ``event_time`` is the window's end. While the window is open it may be
    published again with new figures; the copy with ``final`` set is the last.
    """

    district: Annotated[str, Field(pattern=r"^\d{6}$")]
    window_s: int = Field(gt=0)
    score: float = Field(ge=0, le=100)
    level: Level
    final: bool
    values: dict[str, float]
    contributions: dict[str, float]
    floor: str | None = None  # the hazard floor that set the level, when it is above the score's own


class AlertEvent(Event):
    """Something happened to an alert (published on alerts.events, keyed by the alert's dedup key).

    ``action`` is the transition; the rest is the alert as it is after it.
    """

    action: Literal[
        "open",
        "update",
        "acknowledge",
        "assign",
        "comment",
        "escalate",
        "clear",
        "resolve",
        "unmute",
        "repeat",
    ]
    actor: str
    alert_id: int
    dedup_key: str
    rule_id: str
    severity: Literal["critical", "major", "minor", "warning"]
    title: str
    district: str | None = None
    status: Literal["active", "cleared"]
    acknowledged: bool
    assignee: str | None = None
    resolved: bool
    escalation_level: int
    muted: Literal["silenced", "inhibited"] | None = None
    value: float | None = None
    note: str | None = None
    muted_for_s: float | None = None  # on "unmute": how long the alert was muted before this announcement


TOPIC_MODELS: dict[str, type[Event]] = {
    Topic.READINGS: IoTReading,
    Topic.CAMERA_STATUS: CameraStatus,
    Topic.CASE_EVENTS: CaseEvent,
}


def json_schemas() -> dict[str, dict]:
    """The JSON Schema of every topic citybrain reads or writes, for the docs and for adapter authors."""
    schemas = {}
    for topic, model in {**TOPIC_MODELS, Topic.RISK: DistrictRisk, Topic.ALERTS: AlertEvent}.items():
        schema = model.model_json_schema()
        # producers must assign event_id (the Python models draw one for them): required on the wire
        schema["required"] = ["event_id", *schema.get("required", [])]
        schemas[topic] = schema
    return schemas
