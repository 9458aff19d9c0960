"""The alert engine: one generic state machine for every rule. Pure: no I/O, no clock.

``evaluate`` takes the state of every tracked key (dedup key = rule + scope),
this tick's observations and the active silences, and returns what happened
(transitions) and the new state. The worker loads the state from the
database before each tick and saves it after, so a restart loses no hold
timer and misses no escalation.

Per key: a condition must be firing for ``hold_s`` before an alert opens;
while it fires the open alert is updated, never duplicated; it clears once
the condition has been clear for ``clear_hold_s``. Observations in the
hysteresis band ("between") neither open nor clear. A key with no
observation this tick is clear. An alert an officer resolved while its
condition still fires stays closed until the condition clears.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from citybrain.alerts.rules import RulesConfig

MAX_ESCALATION = 3


class Signal(StrEnum):
    FIRING = "firing"
    BETWEEN = "between"  # inside the hysteresis band


@dataclass(frozen=True)
class Observation:
    rule_id: str
    scope: str
    signal: Signal
    value: float | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    title: str = ""

    @property
    def key(self) -> str:
        return f"{self.rule_id}:{self.scope}"


@dataclass(frozen=True)
class OpenAlert:
    """An active, unresolved alert as the engine needs to know it."""

    id: int | None
    key: str
    rule_id: str
    severity: str
    labels: Mapping[str, str]
    title: str
    opened_at: datetime
    value: float | None
    peak: float | None
    acknowledged: bool = False
    escalation_level: int = 0


@dataclass(frozen=True)
class Track:
    rule_id: str
    pending_since: datetime | None = None
    clear_since: datetime | None = None
    suppressed: bool = False  # resolved by an officer during this episode
    alert: OpenAlert | None = None

    @property
    def idle(self) -> bool:
        return self.pending_since is None and self.clear_since is None and not self.suppressed and self.alert is None


@dataclass(frozen=True)
class Silence:
    id: int
    matchers: Mapping[str, str]
    starts_at: datetime
    ends_at: datetime

    def mutes(self, labels: Mapping[str, str], now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at and all(labels.get(k) == v for k, v in self.matchers.items())


class Kind(StrEnum):
    OPEN = "open"
    UPDATE = "update"  # the open alert reached a new peak
    CLEAR = "clear"
    ESCALATE = "escalate"


@dataclass(frozen=True)
class Transition:
    kind: Kind
    alert: OpenAlert
    muted: str | None = None  # "silenced" or "inhibited": recorded and shown, not notified


@dataclass(frozen=True)
class Result:
    transitions: list[Transition]
    tracks: dict[str, Track]
    muted: dict[str, str | None]  # every open alert's key → why it is muted, if it is
    seen: dict[str, float | None]  # alerts already open that fire again this tick → current value


def alert_labels(obs: Observation, severity: str) -> dict[str, str]:
    return {**obs.labels, "rule": obs.rule_id, "scope": obs.scope, "severity": severity}


def evaluate(
    now: datetime,
    tracks: Mapping[str, Track],
    observations: Iterable[Observation],
    silences: Iterable[Silence],
    cfg: RulesConfig,
) -> Result:
    rules = {r.id: r for r in cfg.rules}
    by_key = {o.key: o for o in observations if o.rule_id in rules}
    keys = set(tracks) | set(by_key)
    out: dict[str, Track] = {}
    transitions: list[Transition] = []
    seen: dict[str, float | None] = {}

    for key in sorted(keys):
        obs = by_key.get(key)
        track = tracks.get(key) or Track(rule_id=obs.rule_id)
        rule = rules.get(track.rule_id)
        if rule is None:  # the rule was removed from the config: forget its timers, keep its alerts in the DB
            continue
        hold, clear_hold = timedelta(seconds=rule.hold_s), timedelta(seconds=rule.clear_hold_s)
        alert = track.alert
        if obs is None:  # clear
            track = replace(track, pending_since=None, suppressed=False)
            if alert is not None:
                since = track.clear_since or now
                if now - since >= clear_hold:
                    transitions.append(Transition(Kind.CLEAR, alert))
                    track = replace(track, clear_since=None, alert=None)
                else:
                    track = replace(track, clear_since=since)
            else:
                track = replace(track, clear_since=None)
        else:
            track = replace(track, clear_since=None)
            if alert is not None:
                seen[key] = obs.value
                if obs.value is not None and (alert.peak is None or obs.value > alert.peak):
                    alert = replace(alert, value=obs.value, peak=obs.value)
                    transitions.append(Transition(Kind.UPDATE, alert))
                    track = replace(track, alert=alert)
            elif obs.signal is Signal.FIRING and not track.suppressed:
                since = track.pending_since or now
                if now - since >= hold:
                    alert = OpenAlert(
                        id=None, key=key, rule_id=rule.id, severity=rule.severity.value,
                        labels=alert_labels(obs, rule.severity.value), title=obs.title or key,
                        opened_at=now, value=obs.value, peak=obs.value,
                    )
                    transitions.append(Transition(Kind.OPEN, alert))
                    track = replace(track, pending_since=None, alert=alert)
                else:
                    track = replace(track, pending_since=since)
        alert = track.alert
        if alert is not None and not alert.acknowledged and alert.escalation_level < MAX_ESCALATION:
            due = alert.opened_at + timedelta(seconds=rule.escalate_after_s * (alert.escalation_level + 1))
            if now >= due:
                alert = replace(alert, escalation_level=alert.escalation_level + 1)
                transitions.append(Transition(Kind.ESCALATE, alert))
                track = replace(track, alert=alert)
        if not track.idle:
            out[key] = track

    muted = _muted(now, out, list(silences), cfg)
    transitions = [replace(t, muted=muted.get(t.alert.key)) for t in transitions]
    return Result(transitions, out, {k: muted.get(k) for k, t in out.items() if t.alert}, seen)


def _muted(now: datetime, tracks: Mapping[str, Track], silences: list[Silence], cfg: RulesConfig) -> dict[str, str]:
    open_alerts = [t.alert for t in tracks.values() if t.alert is not None]
    muted: dict[str, str] = {}
    for alert in open_alerts:
        for inh in cfg.inhibit:
            if alert.rule_id != inh.target:
                continue
            if any(src.rule_id == inh.source and all(src.labels.get(name) == alert.labels.get(name) for name in inh.equal)
                   for src in open_alerts):
                muted[alert.key] = "inhibited"
        if alert.key not in muted and any(s.mutes(alert.labels, now) for s in silences):
            muted[alert.key] = "silenced"
    return muted
