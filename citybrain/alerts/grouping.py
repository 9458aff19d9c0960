"""Grouping notifications, as Alertmanager does: pure, on a controlled clock.

Every notification the engine decides on (open, unmute, escalate, repeat,
clear) waits in an outbox under a *group key*: the route (severity) and the
values of the route's ``group_by`` labels. A new group waits ``group_wait_s``
to collect its first batch, then sends at most every ``group_interval_s``,
so 20 cameras going offline in one district are one message listing them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from citybrain.alerts.rules import Route
from citybrain.events import AlertEvent


def group_key(severity: str, group_by: Iterable[str], labels: Mapping[str, str]) -> str:
    """``critical|rule=water_over_red_line|district=510104``: stable, readable in the delivery log."""
    return "|".join([severity, *(f"{name}={labels.get(name, '')}" for name in group_by)])


@dataclass(frozen=True)
class Pending:
    """One notification waiting in the outbox."""

    id: int
    group_key: str
    created_at: datetime
    event: AlertEvent


@dataclass(frozen=True)
class Notification:
    """What one message says: a group's pending events, oldest first."""

    group_key: str
    severity: str
    events: tuple[AlertEvent, ...]

    @property
    def ids(self) -> list[int]:
        return sorted({e.alert_id for e in self.events})


def ready_at(first_pending: datetime, last_sent: datetime | None, route: Route) -> datetime:
    """When a group with news may send: ``group_wait`` after its first news if it is new (or has been
    quiet for a whole ``group_interval``), else ``group_interval`` after its last message."""
    interval = timedelta(seconds=route.group_interval_s)
    if last_sent is None or first_pending - last_sent >= interval:
        return first_pending + timedelta(seconds=route.group_wait_s)
    return last_sent + interval


def due(
    now: datetime, pending: Iterable[Pending], last_sent: Mapping[str, datetime], routes: Mapping[str, Route]
) -> list[tuple[Notification, list[int]]]:
    """The groups to send now, each with the outbox ids it covers. Events without a route are dropped
    by the caller before they reach the outbox."""
    groups: dict[str, list[Pending]] = defaultdict(list)
    for p in pending:
        groups[p.group_key].append(p)
    out = []
    for key, items in sorted(groups.items()):
        items.sort(key=lambda p: (p.created_at, p.id))
        severity = items[0].event.severity
        route = routes.get(severity)
        if route is None or now < ready_at(items[0].created_at, last_sent.get(key), route):
            continue
        out.append((Notification(key, severity, tuple(_latest_per_alert(items))), [p.id for p in items]))
    return out


def _latest_per_alert(items: list[Pending]) -> list[AlertEvent]:
    """One line per alert: if an alert opened and escalated while its group waited, say where it is now."""
    latest: dict[int, AlertEvent] = {}
    for p in items:
        latest[p.event.alert_id] = p.event
    return sorted(latest.values(), key=lambda e: (e.event_time, e.alert_id))
