"""The leaders' pages' datasets (/map, /district/<adcode>, /cases): cached readers on the shared pool,
and the periods they are read for.

Each reader takes the moment ``at`` (None: now, cached for the refresh interval; a past moment is cached
by that moment, so replaying pages share reads) and a key naming the period or district. One reading
serves every district's page: a period's case figures are read for all districts at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from citybrain.accounts import Role
from citybrain.dashboard.sources import Reader, Sources, local_midnight
from citybrain.store import leader, queries

LEADERS = frozenset({Role.LEADER, Role.ADMIN})  # who may open the leaders' pages and download their tables
ROLLING = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
CALENDAR = ("today", "week", "month", "year")
MAP_RANGES = {"now": None, "1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}
BASELINE_PERIODS = 4  # a district's baseline: the mean of the four periods of the same length before


def period_bounds(name: str, at: datetime, tz: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of a named period ending at ``at``: rolling (24h, 7d, 30d) or the city's calendar
    (today, this week from Monday, this month, this year), in the city's local time."""
    if name in ROLLING:
        return at - ROLLING[name], at
    midnight = local_midnight(at, tz).astimezone(tz)
    if name == "today":
        start = midnight
    elif name == "week":
        start = midnight - timedelta(days=midnight.weekday())
    elif name == "month":
        start = midnight.replace(day=1)
    elif name == "year":
        start = midnight.replace(month=1, day=1)
    else:
        raise ValueError(f"no period {name!r}; choose one of {', '.join([*ROLLING, *CALENDAR])}")
    # wall-clock arithmetic in the zone: the offset of the boundary's own date applies
    return start.astimezone(UTC), at


def baseline_bounds(name: str, at: datetime) -> tuple[datetime, datetime]:
    """The periods of the same length just before a rolling period: its baseline."""
    length = ROLLING[name]
    start = at - length
    return start - BASELINE_PERIODS * length, start


@dataclass(frozen=True)
class RiskPicture:
    """The map's risk rows for a time range ending at a moment: newest row ("now") or worst over the range."""

    range: str
    rows: list[dict]


class LeaderSources:
    """Every dataset of the leaders' pages, on the pages' shared pool."""

    def __init__(self, sources: Sources, ttl_s: float, risk_window_s: int, silent_after_s: float, tz) -> None:
        pool, self.tz, self.risk_window_s = sources.pool, tz, risk_window_s

        def now(at):
            return at or datetime.now(UTC)

        def risk(conn, at, range_name):
            span = MAP_RANGES[range_name]
            if span is None:
                return RiskPicture(range_name, queries.latest_risk(conn, risk_window_s, at=at))
            end = now(at)
            return RiskPicture(range_name, leader.risk_over(conn, risk_window_s, end - span, end))

        def cases(conn, at, key):
            kind, name = key  # ("period", "24h") or ("baseline", "24h")
            end = now(at)
            start, stop = period_bounds(name, end, tz) if kind == "period" else baseline_bounds(name, end)
            return leader.case_period(conn, start, stop)

        def units(conn, at, name):
            start, end = period_bounds(name, now(at), tz)
            return leader.unit_period(conn, start, end)

        def trend(conn, at, key):
            name, district = key
            start, end = period_bounds(name, now(at), tz)
            step = "1h" if end - start <= timedelta(days=2) else "1d"
            return leader.case_trend(conn, start, end, step, district)

        def series(conn, at, key):
            district, name, resolution = key
            start, end = period_bounds(name, now(at), tz)
            if resolution == "1m":
                return leader.risk_series_1m(conn, district, risk_window_s, start, end)
            return leader.risk_series_1h(conn, district, risk_window_s, start, end)

        def alerts(conn, at, key):
            district, name = key
            start, end = period_bounds(name, now(at), tz)
            return leader.district_alerts(conn, district, end, start)

        def devices(conn, at, _key):
            return queries.device_status(conn, at, silent_after_s)

        self.risk = Reader("leader_risk", pool, risk, ttl_s)
        self.cases = Reader("leader_cases", pool, cases, ttl_s)
        self.open_cases = Reader(
            "leader_open", pool, lambda conn, at, _k: leader.open_cases_at(conn, now(at)), ttl_s
        )
        self.units = Reader("leader_units", pool, units, ttl_s)
        self.trend = Reader("leader_trend", pool, trend, ttl_s)
        self.series = Reader("leader_series", pool, series, ttl_s)
        self.alerts = Reader("leader_alerts", pool, alerts, ttl_s)
        self.devices = Reader("leader_devices", pool, devices, ttl_s)
