"""config/rules.yaml: alert rules as data, validated on load (errors name file, rule and key)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator

from citybrain.config import ConfigError, load_yaml
from citybrain.events import SensorKind, Urgency
from citybrain.risk.config import Level


class Severity(StrEnum):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    WARNING = "warning"


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    severity: Severity
    hold_s: float = Field(ge=0)
    clear_hold_s: float = Field(ge=0)
    escalate_after_s: float = Field(gt=0)


class RiskLevelRule(Rule):
    type: Literal["risk_level"]
    min_level: Level
    clear_below_level: Level | None = None  # hysteresis: clear only below this level (default: min_level)
    window_s: int | None = None  # which indicator view; default the longest

    @model_validator(mode="after")
    def _band(self) -> RiskLevelRule:
        if self.clear_below_level and self.clear_below_level.rank > self.min_level.rank:
            raise ValueError("clear_below_level must not be above min_level")
        return self


class SensorThresholdRule(Rule):
    type: Literal["sensor_threshold"]
    kind: SensorKind
    above: float
    clear_below: float | None = None
    lookback_s: float = Field(900, gt=0, description="only readings this recent count")

    @model_validator(mode="after")
    def _band(self) -> SensorThresholdRule:
        if self.clear_below is not None and self.clear_below > self.above:
            raise ValueError(f"clear_below ({self.clear_below}) must not exceed above ({self.above})")
        return self


class CameraClusterRule(Rule):
    type: Literal["camera_cluster"]
    min_share: float = Field(gt=0, le=1)
    clear_below_share: float | None = Field(None, ge=0, le=1)

    @model_validator(mode="after")
    def _band(self) -> CameraClusterRule:
        if self.clear_below_share is not None and self.clear_below_share > self.min_share:
            raise ValueError("clear_below_share must not exceed min_share")
        return self


class CameraOfflineRule(Rule):
    type: Literal["camera_offline"]
    offline_for_s: float = Field(gt=0)


class CaseUnassignedRule(Rule):
    type: Literal["case_unassigned"]
    urgency: Urgency = Urgency.EMERGENCY
    within_s: float = Field(gt=0)


class CaseOverdueRule(Rule):
    type: Literal["case_overdue"]


class NoDataRule(Rule):
    type: Literal["no_data"]
    scope: Literal["device", "district"]
    silent_for_s: float = Field(gt=0)


AnyRule = Annotated[
    RiskLevelRule | SensorThresholdRule | CameraClusterRule | CameraOfflineRule | CaseUnassignedRule
    | CaseOverdueRule | NoDataRule,
    Field(discriminator="type"),
]


class Inhibition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str
    target: str
    equal: tuple[str, ...] = ("district",)


class Webhook(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    url: HttpUrl | None = None
    timeout_s: float = Field(5.0, gt=0)
    retries: int = Field(4, ge=0)
    backoff_s: float = Field(1.0, ge=0)


class RulesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    tick_s: float = Field(10.0, gt=0, description="how often the rules are evaluated")
    rules: list[AnyRule] = Field(min_length=1)
    inhibit: list[Inhibition] = []
    notify: dict[Severity, list[Literal["log", "webhook"]]] = {}
    webhook: Webhook = Webhook()

    @model_validator(mode="after")
    def _references(self) -> RulesConfig:
        ids = [r.id for r in self.rules]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"rule id(s) used twice: {', '.join(dupes)}")
        for i, inh in enumerate(self.inhibit):
            for side in ("source", "target"):
                if getattr(inh, side) not in ids:
                    raise ValueError(f"inhibit.{i}.{side}: no rule {getattr(inh, side)!r}")
        return self

    def rule(self, rule_id: str) -> AnyRule:
        return next(r for r in self.rules if r.id == rule_id)

    @classmethod
    def load(cls, config_dir: Path) -> RulesConfig:
        path = config_dir / "rules.yaml"
        try:
            return load_yaml(path, cls)
        except ConfigError as exc:
            raise ConfigError(_name_rules(str(exc), path)) from None


def _name_rules(message: str, path: Path) -> str:
    """Say `rule 'gas_alarm'` rather than `rules.3` where the file can be read."""
    import re

    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        ids = [r.get("id", "?") if isinstance(r, dict) else "?" for r in doc.get("rules", [])]
    except Exception:  # the message is already the best we have
        return message
    return re.sub(r"\brules\.(\d+)\.", lambda m: f"rule {ids[int(m[1])]!r} (rules.{m[1]})."
                  if int(m[1]) < len(ids) else m[0], message)
