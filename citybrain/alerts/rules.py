"""config/rules.yaml: alert rules as data, validated on load (errors name file, rule and key)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

from citybrain.alerts.matchers import Matcher, MatcherError, match_all, parse_all
from citybrain.config import ConfigError, load_yaml
from citybrain.events import Level, SensorKind, Urgency


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


class CaseHotspotRule(Rule):
    """An appeal hot spot (config/hotspots.yaml says what makes one): one alert per hot spot, opened when
    it forms, its value (the case count) and labels (centroid, radius, cases) following it as cases join,
    cleared once it has ended (no case for its group's quiet time) and ``clear_hold_s`` has passed."""

    type: Literal["case_hotspot"]
    min_cases: int = Field(0, ge=0, description="only hot spots with at least this many cases (0: every one)")
    groups: tuple[str, ...] = Field((), description="only these category groups (empty: every group)")


class NoDataRule(Rule):
    type: Literal["no_data"]
    scope: Literal["device", "district"]
    silent_for_s: float = Field(gt=0)


class StorageJobFailingRule(Rule):
    """A storage job (a TimescaleDB policy, or a task the worker runs itself) whose last run failed or that
    has not succeeded for twice its schedule (store/health.py); one alert per job, clear once it is
    healthy."""

    type: Literal["storage_job_failing"]
    overdue: bool = Field(
        True, description="also open when a job is overdue, not only when its last run failed"
    )


AnyRule = Annotated[
    RiskLevelRule
    | SensorThresholdRule
    | CameraClusterRule
    | CameraOfflineRule
    | CaseUnassignedRule
    | CaseOverdueRule
    | CaseHotspotRule
    | NoDataRule
    | StorageJobFailingRule,
    Field(discriminator="type"),
]


def _matchers(value, where: str):
    """Matchers from config: a list of strings like ``rule=~"camera_.*"``."""
    try:
        return parse_all(value)
    except (MatcherError, KeyError, TypeError) as exc:
        raise ValueError(f"{where}: {exc}") from None


Receiver = Literal["log", "webhook", "wecom", "dingtalk"]


class Inhibition(BaseModel):
    """Alertmanager's inhibit rule: while a *source* condition holds, matching *target* alerts with the
    same values of the ``equal`` labels are muted. ``source``/``target`` name a rule (shorthand for
    ``rule=<id>``); ``source_matchers``/``target_matchers`` select by any labels. Both may be given."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)
    source: str | None = None
    target: str | None = None
    source_matchers: tuple[Matcher, ...] = ()
    target_matchers: tuple[Matcher, ...] = ()
    equal: tuple[str, ...] = ("district",)

    @field_validator("source_matchers", "target_matchers", mode="before")
    @classmethod
    def _parse(cls, value, info):
        return _matchers(value or (), info.field_name)

    @model_validator(mode="after")
    def _sides(self) -> Inhibition:
        for side in ("source", "target"):
            if getattr(self, side) is None and not getattr(self, f"{side}_matchers"):
                raise ValueError(f"needs {side} (a rule id) or {side}_matchers")
        return self

    def side(self, name: Literal["source", "target"]) -> tuple[Matcher, ...]:
        rule = getattr(self, name)
        return ((Matcher("rule", "=", rule),) if rule else ()) + getattr(self, f"{name}_matchers")


class Route(BaseModel):
    """Who hears about alerts of one severity, and how often (Alertmanager's route options)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    receivers: list[Receiver] = Field(min_length=1)
    group_by: tuple[str, ...] = ("rule", "district")
    group_wait_s: float = Field(
        30, ge=0, description="a new group waits this long to collect its first batch"
    )
    group_interval_s: float = Field(300, ge=0, description="a group sends news at most this often")
    repeat_interval_s: float | None = Field(None, gt=0, description="re-notify an unacknowledged open alert")


class Webhook(BaseModel):
    """The generic webhook: the event (or group of events) as JSON."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    url: HttpUrl | None = None
    timeout_s: float = Field(5.0, gt=0)
    retries: int = Field(4, ge=0)
    backoff_s: float = Field(1.0, ge=0)


class Robot(BaseModel):
    """A WeCom (企业微信) or DingTalk (钉钉) group robot: its webhook URL, and DingTalk's signing secret."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    url: HttpUrl | None = None
    secret: str | None = None
    timeout_s: float = Field(5.0, gt=0)
    retries: int = Field(4, ge=0)
    backoff_s: float = Field(1.0, ge=0)


class RulesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    tick_s: float = Field(10.0, gt=0, description="how often the rules are evaluated")
    outage_tolerance_s: float = Field(
        300, gt=0, description="a hold timer not evaluated for longer than this (worker down) starts again"
    )
    rules: list[AnyRule] = Field(min_length=1)
    inhibit: list[Inhibition] = []
    notify: dict[Severity, Route] = {}
    webhook: Webhook = Webhook()
    wecom: Robot = Robot()
    dingtalk: Robot = Robot()
    alert_link: str | None = Field(
        None, description="link to one alert, {id} replaced, e.g. http://wall/alerts/{id}"
    )

    @field_validator("notify", mode="before")
    @classmethod
    def _routes(cls, value):
        """``critical: [log, webhook]`` is shorthand for ``critical: {receivers: [log, webhook]}``."""
        if isinstance(value, dict):
            return {k: {"receivers": v} if isinstance(v, list) else v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _references(self) -> RulesConfig:
        ids = [r.id for r in self.rules]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"rule id(s) used twice: {', '.join(dupes)}")
        for i, inh in enumerate(self.inhibit):
            for side in ("source", "target"):
                if getattr(inh, side) is not None and getattr(inh, side) not in ids:
                    raise ValueError(f"inhibit.{i}.{side}: no rule {getattr(inh, side)!r}")
            source, target = inh.side("source"), inh.side("target")
            if _disjoint(source, target):
                continue
            for rule in self.rules:
                static = {"rule": rule.id, "severity": rule.severity.value}
                if _may_match(source, static) and _may_match(target, static):
                    raise ValueError(
                        f"inhibit.{i}: rule {rule.id!r} would inhibit itself"
                        " (its alerts match both source and target, so they would mute each other)"
                    )
        if self.outage_tolerance_s <= self.tick_s:
            raise ValueError(
                f"outage_tolerance_s ({self.outage_tolerance_s:g}) must exceed tick_s ({self.tick_s:g})"
            )
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
    return re.sub(
        r"\brules\.(\d+)\.",
        lambda m: f"rule {ids[int(m[1])]!r} (rules.{m[1]})." if int(m[1]) < len(ids) else m[0],
        message,
    )


def _may_match(matchers: tuple[Matcher, ...], static: dict[str, str]) -> bool:
    """Whether a rule's alerts can match: only the labels every alert of the rule carries are known."""
    return match_all([m for m in matchers if m.name in static], static)


def _disjoint(source: tuple[Matcher, ...], target: tuple[Matcher, ...]) -> bool:
    """True when no label set can match both sides: one side pins a label (``name=value``) to a value
    the other side's matchers on that label refuse (``device=iot-1`` against ``device=iot-2``)."""
    for pinned, other in ((source, target), (target, source)):
        for m in pinned:
            if m.op == "=" and any(o.name == m.name and not o.matches({m.name: m.value}) for o in other):
                return True
    return False
