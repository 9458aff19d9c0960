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
condition still fires stays closed until the condition has been clear for
the rule's clear hold, and its condition keeps inhibiting other alerts.

Notification semantics (Alertmanager's, plus what it lacks):

* Mute state (silenced, inhibited) is computed after this tick's
  transitions, and every transition carries it.
* Muting never loses an alert: when the mute of an open, unacknowledged
  alert ends it is announced (``unmute``, with how long it was muted). An
  alert that clears while muted was never announced and clears quietly.
* Escalation clocks stop while an alert is muted. Escalations missed while
  the worker was down collapse into one, at the level now due.
* An alert still open and unacknowledged is notified again every route's
  ``repeat_interval_s`` after its last notification.
* Hold timers not evaluated for longer than ``outage_tolerance_s`` (the
  worker was down) start again, so old evidence does not open a storm of
  alerts at the first tick after a restart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from citybrain.alerts.matchers import Matcher, match_all, parse_all
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
    muted: str | None = None  # as of the end of the last tick
    muted_since: datetime | None = None
    muted_s: float = 0.0  # time spent muted before ``muted_since``: the escalation clock does not count it
    notified_at: datetime | None = (
        None  # last open/unmute/escalate/repeat notification; None: never announced
    )

    def active_s(self, now: datetime) -> float:
        """How long the alert has been open and not muted: what escalation counts."""
        muted = self.muted_s + ((now - self.muted_since).total_seconds() if self.muted_since else 0.0)
        return (now - self.opened_at).total_seconds() - muted


@dataclass(frozen=True)
class Track:
    rule_id: str
    pending_since: datetime | None = None
    clear_since: datetime | None = None
    suppressed: bool = False  # resolved by an officer; closed until clear for the rule's clear hold
    alert: OpenAlert | None = None
    labels: Mapping[str, str] | None = None  # the condition's labels (inhibits while suppressed)
    evaluated_at: datetime | None = None  # last tick that saw this track: stale hold timers start again

    @property
    def idle(self) -> bool:
        return (
            self.pending_since is None
            and self.clear_since is None
            and not self.suppressed
            and self.alert is None
        )

    @property
    def condition_labels(self) -> Mapping[str, str] | None:
        """Labels of a condition that holds as far as alerts go: an open alert, or one resolved early."""
        if self.alert is not None:
            return self.alert.labels
        return self.labels if self.suppressed else None


@dataclass(frozen=True)
class Silence:
    id: int
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "matchers", parse_all(self.matchers))

    def mutes(self, labels: Mapping[str, str], now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at and match_all(self.matchers, labels)


class Kind(StrEnum):
    OPEN = "open"
    UPDATE = "update"  # the open alert reached a new peak
    CLEAR = "clear"
    ESCALATE = "escalate"
    UNMUTE = "unmute"  # a mute ended on an open alert: announced as if it had just opened
    REPEAT = "repeat"  # still open and unacknowledged after the route's repeat interval


NOTIFYING = frozenset({Kind.OPEN, Kind.ESCALATE, Kind.UNMUTE, Kind.REPEAT, Kind.CLEAR})


@dataclass(frozen=True)
class Transition:
    kind: Kind
    alert: OpenAlert
    muted: str | None = None  # "silenced" or "inhibited" after this tick: recorded and shown, not notified
    muted_for_s: float | None = None  # on unmute: how long the mute lasted


@dataclass(frozen=True)
class Result:
    transitions: list[Transition]
    tracks: dict[str, Track]
    muted: dict[str, str | None]  # every open alert's key → why it is muted, if it is
    seen: dict[str, float | None]  # alerts already open that fire again this tick → current value

    @property
    def notify(self) -> list[Transition]:
        """The transitions someone must hear about."""
        return [t for t in self.transitions if t.kind in NOTIFYING and t.muted is None]


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
    tolerance = timedelta(seconds=cfg.outage_tolerance_s)
    out: dict[str, Track] = {}
    transitions: list[Transition] = []
    seen: dict[str, float | None] = {}

    for key in sorted(set(tracks) | set(by_key)):
        obs = by_key.get(key)
        track = tracks.get(key) or Track(rule_id=obs.rule_id)
        rule = rules.get(track.rule_id)
        if rule is None:  # the rule was removed from the config: forget its timers, keep its alerts in the DB
            continue
        track = _step(now, key, track, obs, rule, tolerance, transitions, seen)
        if not track.idle:
            out[key] = track

    muted = _muted(now, out, list(silences), cfg)
    transitions = [
        t if t.kind is Kind.CLEAR else replace(t, muted=muted.get(t.alert.key)) for t in transitions
    ]
    opened = {t.alert.key for t in transitions if t.kind is Kind.OPEN}
    for key, track in out.items():
        if track.alert is not None:
            alert, news = _notification_clock(now, track.alert, muted.get(key), key in opened, rules, cfg)
            if alert is not track.alert:
                out[key] = replace(track, alert=alert)
            transitions += news
    return Result(transitions, out, {k: muted.get(k) for k, t in out.items() if t.alert}, seen)


def _step(
    now: datetime,
    key: str,
    track: Track,
    obs: Observation | None,
    rule,
    tolerance: timedelta,
    transitions: list[Transition],
    seen: dict[str, float | None],
) -> Track:
    """One key's hold and clear timers for this tick; appends open/update/clear transitions."""
    pending, clear, suppressed, alert, labels = (
        track.pending_since,
        track.clear_since,
        track.suppressed,
        track.alert,
        track.labels,
    )
    if track.evaluated_at is not None and now - track.evaluated_at > tolerance:  # the worker was down
        pending = clear = None
    if obs is None:  # clear
        pending = None
        if alert is not None or suppressed:
            clear = clear or now
            if (now - clear).total_seconds() >= rule.clear_hold_s:
                if alert is not None:
                    transitions.append(Transition(Kind.CLEAR, alert, muted=alert.muted))
                clear, alert, suppressed = None, None, False
        else:
            clear = None
    else:
        clear = None
        labels = alert_labels(obs, rule.severity.value)
        if alert is not None:
            seen[key] = obs.value
            if obs.value is not None and (alert.peak is None or obs.value > alert.peak):
                # a new peak carries the condition's labels and title (a hot spot's cases, radius)
                alert = replace(
                    alert, value=obs.value, peak=obs.value, labels=labels, title=obs.title or alert.title
                )
                transitions.append(Transition(Kind.UPDATE, alert))
        elif obs.signal is Signal.FIRING and not suppressed:
            pending = pending or now
            if (now - pending).total_seconds() >= rule.hold_s:
                alert = OpenAlert(
                    id=None,
                    key=key,
                    rule_id=rule.id,
                    severity=rule.severity.value,
                    labels=labels,
                    title=obs.title or key,
                    opened_at=now,
                    value=obs.value,
                    peak=obs.value,
                )
                transitions.append(Transition(Kind.OPEN, alert))
                pending = None
    return Track(track.rule_id, pending, clear, suppressed, alert, labels, now)


def _notification_clock(
    now: datetime, alert: OpenAlert, muted: str | None, just_opened: bool, rules: Mapping, cfg: RulesConfig
) -> tuple[OpenAlert, list[Transition]]:
    """Carry the alert's mute state into this tick; announce a mute's end, escalate, repeat."""
    if just_opened:
        return replace(
            alert, muted=muted, muted_since=now if muted else None, notified_at=None if muted else now
        ), []
    news: list[Transition] = []
    if muted and not alert.muted:  # the mute starts: stop the escalation clock
        alert = replace(alert, muted=muted, muted_since=now)
    elif not muted and alert.muted:  # the mute ends
        lasted = (now - alert.muted_since).total_seconds() if alert.muted_since else 0.0
        alert = replace(alert, muted=None, muted_since=None, muted_s=alert.muted_s + lasted)
        if not alert.acknowledged:
            alert = replace(alert, notified_at=now)
            news.append(Transition(Kind.UNMUTE, alert, muted=None, muted_for_s=lasted))
    elif muted != alert.muted:  # silenced became inhibited or the other way round
        alert = replace(alert, muted=muted)
    if muted or alert.acknowledged or news:
        return alert, news
    rule = rules[alert.rule_id]
    due = min(MAX_ESCALATION, int(alert.active_s(now) // rule.escalate_after_s))
    if due > alert.escalation_level:  # one notification, however many levels were missed
        alert = replace(alert, escalation_level=due, notified_at=now)
        return alert, [Transition(Kind.ESCALATE, alert)]
    route = cfg.notify.get(alert.severity)
    last = alert.notified_at or alert.opened_at
    if route and route.repeat_interval_s and (now - last).total_seconds() >= route.repeat_interval_s:
        alert = replace(alert, notified_at=now)
        return alert, [Transition(Kind.REPEAT, alert)]
    return alert, []


def _muted(
    now: datetime, tracks: Mapping[str, Track], silences: list[Silence], cfg: RulesConfig
) -> dict[str, str]:
    """Why each open alert is muted. Inhibition follows the source *condition*: an alert an officer
    resolved while its condition holds still inhibits, and no alert inhibits itself. Sources are indexed
    by their ``equal`` label values, so thousands of camera alerts cost one lookup each."""
    conditions = [(k, t.condition_labels) for k, t in tracks.items() if t.condition_labels is not None]
    sides = [(inh.side("source"), inh.side("target"), inh.equal) for inh in cfg.inhibit]
    sources: list[dict[tuple, set[str]]] = []
    for source, _, equal in sides:
        index: dict[tuple, set[str]] = {}
        for key, labels in conditions:
            if match_all(source, labels):
                index.setdefault(tuple(labels.get(n) for n in equal), set()).add(key)
        sources.append(index)
    live = [s for s in silences if s.starts_at <= now < s.ends_at]
    muted: dict[str, str] = {}
    for key, track in tracks.items():
        alert = track.alert
        if alert is None:
            continue
        for (_, target, equal), index in zip(sides, sources, strict=True):
            if index and match_all(target, alert.labels):
                if index.get(tuple(alert.labels.get(n) for n in equal), set()) - {key}:
                    muted[key] = "inhibited"
                    break
        if key not in muted and any(s.mutes(alert.labels, now) for s in live):
            muted[key] = "silenced"
    return muted
