"""config/risk.yaml, validated: a mistake names the file, the key and what is wrong."""

from __future__ import annotations

import math
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from citybrain.config import load_yaml
from citybrain.events import Level, SensorKind

__all__ = ["EXCEED", "SUB_INDICATORS", "Level", "Floor", "Levels", "RiskConfig"]

EXCEED = "exceed_"
SUB_INDICATORS = (
    "camera_offline_ratio",
    "sensor_offline_ratio",
    *(f"{EXCEED}{k.value}" for k in SensorKind),
    "case_pressure",
    "open_emergencies",
    "overdue_cases",
    "case_hotspots",
)


class Weighting(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    weight: float = Field(ge=0)
    zero_at: float
    full_at: float

    @model_validator(mode="after")
    def _range(self) -> Weighting:
        if not self.full_at > self.zero_at:
            raise ValueError(f"full_at ({self.full_at}) must be greater than zero_at ({self.zero_at})")
        return self


class Levels(BaseModel):
    """The score at which each warning starts; below ``blue`` a district is normal (no warning)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    blue: float
    yellow: float
    orange: float
    red: float

    @model_validator(mode="after")
    def _ordered(self) -> Levels:
        if not 0 < self.blue < self.yellow < self.orange < self.red <= 100:
            raise ValueError("levels must satisfy 0 < blue < yellow < orange < red <= 100")
        return self


class Floor(BaseModel):
    """A hazard that sets a minimum level whatever the weighted sum says: a gauge over its red line
    is a flood risk even when every other figure of the district is quiet."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    indicator: str
    above: float  # the floor applies when the sub-indicator's raw value is greater than this
    level: Level

    @field_validator("indicator")
    @classmethod
    def _known(cls, name: str) -> str:
        if name not in SUB_INDICATORS:
            raise ValueError(f"unknown sub-indicator {name!r}; known: {', '.join(SUB_INDICATORS)}")
        return name

    @field_validator("level")
    @classmethod
    def _a_warning(cls, level: Level) -> Level:
        if not level.is_warning:
            raise ValueError("a floor must be a warning level (blue, yellow, orange or red)")
        return level


class Baseline(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    weeks: int = Field(ge=1)
    min_weeks: int = Field(ge=1)
    cold_start_city_cases_per_hour: float = Field(ge=0)
    min_expected_cases: float = Field(gt=0)

    @model_validator(mode="after")
    def _weeks(self) -> Baseline:
        if self.min_weeks > self.weeks:
            raise ValueError("min_weeks cannot exceed weeks")
        return self


class RiskConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    windows_s: tuple[int, ...] = Field(min_length=1)
    tick_s: float = Field(gt=0)
    allowed_lateness_s: float = Field(ge=0)
    sensor_silent_after_s: float = Field(gt=0)
    thresholds: dict[SensorKind, float]
    baseline: Baseline
    indicators: dict[str, Weighting]
    levels: Levels
    floors: dict[str, Floor] = Field(default_factory=dict)  # name → floor; the name is what screens explain

    @field_validator("windows_s")
    @classmethod
    def _windows(cls, windows: tuple[int, ...]) -> tuple[int, ...]:
        step = min(windows)
        if step <= 0 or any(w % step for w in windows):
            raise ValueError("windows must be positive multiples of the shortest window")
        return tuple(sorted(set(windows)))

    @field_validator("thresholds")
    @classmethod
    def _all_kinds(cls, thresholds: dict[SensorKind, float]) -> dict[SensorKind, float]:
        missing = [k.value for k in SensorKind if k not in thresholds]
        if missing:
            raise ValueError(f"no threshold for {', '.join(missing)}")
        return thresholds

    @field_validator("indicators")
    @classmethod
    def _known_and_weighted(cls, indicators: dict[str, Weighting]) -> dict[str, Weighting]:
        unknown = sorted(set(indicators) - set(SUB_INDICATORS))
        if unknown:
            raise ValueError(
                f"unknown sub-indicator(s) {', '.join(unknown)}; known: {', '.join(SUB_INDICATORS)}"
            )
        missing = [name for name in SUB_INDICATORS if name not in indicators]
        if missing:
            raise ValueError(
                f"missing sub-indicator(s) {', '.join(missing)} (give weight 0 to switch one off)"
            )
        total = sum(w.weight for w in indicators.values())
        if not math.isclose(total, 100.0, abs_tol=1e-6):
            raise ValueError(f"weights add up to {total:g}, not 100")
        return indicators

    @property
    def step_s(self) -> int:
        """The tumbling window: every window ends on a multiple of it."""
        return self.windows_s[0]

    @classmethod
    def load(cls, config_dir: Path) -> RiskConfig:
        return load_yaml(config_dir / "risk.yaml", cls)
