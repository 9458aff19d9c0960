"""Event → wall latency, measured the way a wall screen sees the data (for `citybrain bench`).

A wall refreshes every ``refresh_s`` through the dashboard's cached readers (``Sources``), so a
measurement polls the same readers at the same interval, like a screen's ``dcc.Interval``, and
reports the time from the incident's event time (or the alert's opening) until a refresh shows it.
The figure therefore includes the worker's tick, the write, the reader's cache and the screen's
refresh; it leaves out only the browser's drawing (tens of milliseconds).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from citybrain.dashboard.sources import Sources
from citybrain.events import Level
from citybrain.geo.registry import Devices
from citybrain.sim import scenarios


@dataclass(frozen=True)
class WallLatency:
    incident_s: float  # first event of the incident → its district at the level on the wall
    alert_s: float | None  # the incident's critical alert opened → listed on the wall (None: none opened)


def _poll(until: Callable[[], object], refresh_s: float, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = until()
        if found:
            return found
        time.sleep(refresh_s)
    raise TimeoutError(f"{what} did not reach the wall within {timeout_s:.0f} s")


def flood_to_wall(
    bootstrap: str,
    database_url: str,
    sensors: Devices,
    district: str,
    refresh_s: float = 2.0,
    level: Level = Level.ORANGE,
    timeout_s: float = 60.0,
    water_m: float = 6.5,
) -> WallLatency:
    """Flood every gauge of ``district`` (a running worker scores it) and time how long a wall takes to show
    the district at ``level`` or above, and then its critical alert."""
    sources = Sources(database_url, ttl_s=refresh_s)
    try:
        events = scenarios.flood(sensors, district, water_m)
        first = min(e.event_time for e in events)
        scenarios.send(bootstrap, events)

        def coloured():
            picture = sources.city.read().value
            rows = [r for r in (picture.risk if picture else []) if r["district"] == district]
            return rows and Level(rows[0]["level"]).rank >= level.rank

        _poll(coloured, refresh_s, timeout_s, f"district {district} at {level.value}")
        incident_s = (datetime.now(UTC) - first).total_seconds()

        def alert_seen():
            alerts = sources.alerts.read().value or []
            mine = [
                a
                for a in alerts
                if a.get("district") == district and a["severity"] == "critical" and a["opened_at"] >= first
            ]
            return (datetime.now(UTC), min(a["opened_at"] for a in mine)) if mine else None

        try:
            seen, opened = _poll(alert_seen, refresh_s, timeout_s, f"a critical alert in {district}")
            alert_s = (seen - opened).total_seconds()
        except TimeoutError:
            alert_s = None
        return WallLatency(incident_s, alert_s)
    finally:
        sources.pool.close()
