"""One database read per refresh interval per process, however many screens poll.

Every page callback asks ``snapshot()``; the first caller in an interval runs
the queries under a lock and the rest get the same cached result. When the
database fails, the previous snapshot is returned with the error attached, so
screens keep showing the last known picture and say that it is stale.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from psycopg_pool import ConnectionPool

from citybrain.store import queries

ACTIVITY_WINDOW_S = 60.0


@dataclass(frozen=True)
class Snapshot:
    taken_at: datetime
    activity: list[dict]
    totals: queries.CityTotals | None
    risk: list[dict] = field(default_factory=list)
    error: str | None = None


class SnapshotCache:
    def __init__(self, database_url: str, ttl_s: float, risk_window_s: int = 900) -> None:
        self.ttl_s = ttl_s
        self.risk_window_s = risk_window_s
        self.pool = ConnectionPool(database_url, min_size=1, max_size=4, open=False,
                                   kwargs={"autocommit": True}, timeout=5)
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._fetched = 0.0
        self.queries_run = 0

    def snapshot(self) -> Snapshot:
        with self._lock:
            if self._snapshot is None or time.monotonic() - self._fetched >= self.ttl_s:
                self._snapshot = self._fetch()
                self._fetched = time.monotonic()
            return self._snapshot

    def _fetch(self) -> Snapshot:
        try:
            if self.pool.closed:
                self.pool.open(wait=False)
            with self.pool.connection() as conn:
                activity = queries.district_activity(conn, ACTIVITY_WINDOW_S)
                totals = queries.city_totals(conn, activity, ACTIVITY_WINDOW_S)
                risk = queries.latest_risk(conn, self.risk_window_s)
            self.queries_run += 1
            return Snapshot(datetime.now(UTC), activity, totals, risk)
        except Exception as exc:  # a dashboard never dies of a database hiccup
            previous = self._snapshot or Snapshot(datetime.now(UTC), [], None)
            return replace(previous, error=f"{type(exc).__name__}: {exc}".splitlines()[0])


_cache: SnapshotCache | None = None


def configure(database_url: str, ttl_s: float, risk_window_s: int) -> SnapshotCache:
    global _cache
    _cache = SnapshotCache(database_url, ttl_s, risk_window_s)
    return _cache


def cache() -> SnapshotCache:
    if _cache is None:
        raise RuntimeError("dashboard data source is not configured")
    return _cache
