"""Cached readers: one database read per refresh interval per dataset per process, however many screens poll.

Every page reads through a ``Reader``. The first caller in an interval runs
the query and every other caller gets the same result; while the query runs,
they get the previous reading rather than wait for it, so a slow query costs
one request, not every screen's. Each read takes an ``at`` time: ``None`` is "now" (cached for the
interval); a past moment is cached by that moment, so replaying pages share
reads too. A reader keyed by an argument (one alert's history) caches per key.

When the database fails, the previous reading is returned with the error
attached, so screens keep the last known picture and say that it is stale.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import Any, Generic, TypeVar

import psycopg
from psycopg_pool import ConnectionPool

from citybrain import metrics
from citybrain.lag import LagProbe
from citybrain.store import duty, health, hotspots, ops, queries, video
from citybrain.store import instructions as instruction_store
from citybrain.store import users as user_store
from citybrain.store.migrate import storage_mode

T = TypeVar("T")
ACTIVITY_WINDOW_S = 60.0
PAST_READINGS_KEPT = 64


def local_midnight(moment: datetime, tz: tzinfo) -> datetime:
    """The start of ``moment``'s day in the city ("today" on the wall is the city's day, not UTC's)."""
    return moment.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


@dataclass(frozen=True)
class Reading(Generic[T]):
    value: T | None
    taken_at: datetime  # when the database answered (UTC)
    at: datetime  # the moment the data describes (UTC)
    error: str | None = None


@dataclass(frozen=True)
class CityPicture:
    activity: list[dict]
    totals: queries.CityTotals
    risk: list[dict]


class Reader(Generic[T]):
    """One dataset: ``fetch(conn, at, key)`` run at most once per ``ttl_s`` per (key, at); ``at`` None is
    now."""

    def __init__(
        self,
        name: str,
        pool: ConnectionPool,
        fetch: Callable[[psycopg.Connection, datetime | None, Any], T],
        ttl_s: float,
    ) -> None:
        self.name, self.pool, self.fetch, self.ttl_s = name, pool, fetch, ttl_s
        self._lock = threading.Lock()  # guards the cache; held for lookups only, never for a query
        self._cache: OrderedDict[tuple, tuple[float, Reading[T]]] = OrderedDict()
        self._fetching: dict[tuple, threading.Lock] = {}  # one query at a time per (key, at)
        self.queries_run = 0

    def read(self, at: datetime | None = None, key: Hashable = None) -> Reading[T]:
        """The cached reading if fresh; else one caller queries while the others keep getting the previous
        reading (at most one interval older) instead of queueing behind the query. Only a first read, with
        nothing to show yet, waits for it."""
        cache_key = (key, at)
        with self._lock:
            hit = self._fresh(cache_key)
            if hit is not None:
                metrics.DASHBOARD_CACHE.labels(self.name, "hit").inc()
                return hit
            previous = self._cache.get(cache_key)
            query = self._fetching.setdefault(cache_key, threading.Lock())
        if not query.acquire(blocking=previous is None):
            metrics.DASHBOARD_CACHE.labels(self.name, "stale").inc()
            return previous[1]
        try:
            with self._lock:
                hit = self._fresh(cache_key)  # read by the caller this one waited for
            if hit is not None:
                metrics.DASHBOARD_CACHE.labels(self.name, "hit").inc()
                return hit
            metrics.DASHBOARD_CACHE.labels(self.name, "miss").inc()
            with metrics.DASHBOARD_QUERY_SECONDS.labels(self.name).time():
                reading = self._fetch(at, key, previous[1] if previous else None)
            with self._lock:
                self._cache[cache_key] = (time.monotonic(), reading)
                self._cache.move_to_end(cache_key)
                while len(self._cache) > PAST_READINGS_KEPT:
                    forgotten, _ = self._cache.popitem(last=False)
                    self._fetching.pop(forgotten, None)
            return reading
        finally:
            query.release()

    def _fresh(self, cache_key: tuple) -> Reading[T] | None:
        hit = self._cache.get(cache_key)
        if hit is not None and (cache_key[1] is not None or time.monotonic() - hit[0] < self.ttl_s):
            return hit[1]
        return None

    def invalidate(self) -> None:
        """Forget live readings, so the next read sees a change this process just made."""
        with self._lock:
            for cache_key in [k for k in self._cache if k[1] is None]:
                del self._cache[cache_key]

    def _fetch(self, at: datetime | None, key, previous: Reading[T] | None) -> Reading[T]:
        try:
            value = self._run(at, key)
            self.queries_run += 1
            now = datetime.now(UTC)
            return Reading(value, now, at or now)
        except Exception as exc:  # a dashboard never dies of a database hiccup
            error = f"{type(exc).__name__}: {exc}".splitlines()[0]
            if previous is not None:
                return replace(previous, error=error)
            return Reading(None, datetime.now(UTC), at or datetime.now(UTC), error)

    def _run(self, at: datetime | None, key) -> T:
        if self.pool.closed:
            self.pool.open(wait=False)
        with self.pool.connection() as conn:
            return self.fetch(conn, at, key)


class BrokerReader(Reader[T]):
    """A reader of the broker rather than the database: ``fetch(at, key)``, live only (the broker keeps no
    past)."""

    def __init__(self, name: str, fetch: Callable[[datetime | None, Any], T], ttl_s: float) -> None:
        super().__init__(name, None, lambda _conn, at, key: fetch(at, key), ttl_s)

    def _run(self, at: datetime | None, key) -> T:
        return self.fetch(None, at, key)


@dataclass(frozen=True)
class StoragePicture:
    mode: str  # "timescale" or "plain"
    jobs: list[health.JobHealth]
    size_bytes: int


class Sources:
    """Every dataset the pages read, sharing one small connection pool per process."""

    def __init__(
        self,
        database_url: str,
        ttl_s: float,
        risk_window_s: int = 900,
        kafka_bootstrap: str | None = None,
        ingest_group: str | None = None,
        silent_after_s: float = 900.0,
        tz: tzinfo = UTC,
    ) -> None:
        self.pool = ConnectionPool(
            database_url, min_size=1, max_size=4, open=False, kwargs={"autocommit": True}, timeout=5
        )

        def city(conn, at, _key) -> CityPicture:
            activity = queries.district_activity(conn, ACTIVITY_WINDOW_S, at=at)
            totals = queries.city_totals(conn, activity, ACTIVITY_WINDOW_S)
            return CityPicture(activity, totals, queries.latest_risk(conn, risk_window_s, at=at))

        self.city = Reader("city", self.pool, city, ttl_s)
        self.alerts = Reader("alerts", self.pool, lambda conn, at, _k: duty.alert_queue(conn, at), ttl_s)
        self.alert_history = Reader(
            "alert_history",
            self.pool,
            lambda conn, at, alert_id: duty.alert_history(conn, alert_id, at),
            ttl_s,
        )
        self.cases = Reader("cases", self.pool, lambda conn, at, _k: duty.open_cases(conn, at), ttl_s)
        # the wall's per-district figures: device states (sensors reporting) and today's case handling
        self.devices = Reader(
            "devices",
            self.pool,
            lambda conn, at, _k: queries.device_status(conn, at, silent_after_s),
            ttl_s,
        )
        self.case_kpis = Reader(
            "case_kpis",
            self.pool,
            lambda conn, at, _k: queries.case_kpis(
                conn, local_midnight(at or datetime.now(UTC), tz), at or datetime.now(UTC)
            ),
            ttl_s,
        )
        # appeal hot spots: active ones (the maps), one's cases (the console), recent ones by district
        self.hotspots = Reader("hotspots", self.pool, lambda conn, at, _k: hotspots.active(conn, at), ttl_s)
        self.hotspot_cases = Reader(
            "hotspot_cases",
            self.pool,
            lambda conn, _at, hotspot_id: hotspots.cases_of(conn, hotspot_id),
            ttl_s,
        )
        self.recent_hotspots = Reader(
            "recent_hotspots",
            self.pool,
            lambda conn, at, district: hotspots.recent(conn, at, district),
            ttl_s,
        )
        self.accounts = Reader("accounts", self.pool, lambda conn, _at, _k: user_store.all_users(conn), ttl_s)
        # the operations page
        self.pipeline = Reader(
            "pipeline", self.pool, lambda conn, at, _k: ops.pipeline_picture(conn, at), ttl_s
        )
        self.storage = Reader(
            "storage",
            self.pool,
            lambda conn, _at, _k: StoragePicture(
                storage_mode(conn), health.job_health(conn), ops.database_size(conn)
            ),
            ttl_s,
        )
        self.lag_probe = LagProbe(kafka_bootstrap, ingest_group) if kafka_bootstrap and ingest_group else None
        self.lag = BrokerReader("consumer_lag", self._read_lag, ttl_s)
        # leaders' instructions (批示): the open ones, one alert's (open and done), counts per district
        self.instructions = Reader(
            "instructions", self.pool, lambda conn, at, _k: instruction_store.listing(conn, at), ttl_s
        )
        self.alert_instructions = Reader(
            "alert_instructions",
            self.pool,
            lambda conn, at, alert_id: instruction_store.listing(
                conn, at, open_only=False, alert_id=alert_id
            ),
            ttl_s,
        )
        self.instruction_counts = Reader(
            "instruction_counts",
            self.pool,
            lambda conn, at, _k: instruction_store.district_counts(conn, at),
            ttl_s,
        )
        # the video-point map: every camera's status summed for drawing, and one district's points down
        self.video = Reader("video", self.pool, lambda conn, at, _k: video.picture(conn, at), ttl_s)
        self.video_down = Reader(
            "video_down", self.pool, lambda conn, at, district: video.down_in(conn, district, at), ttl_s
        )

    def _read_lag(self, _at, _key):
        if self.lag_probe is None:
            raise RuntimeError("CITYBRAIN_KAFKA_BOOTSTRAP is not set")
        return self.lag_probe.read()

    def connection(self):
        """A pooled connection for the few writes the dashboard makes itself (the sign-in audit)."""
        if self.pool.closed:
            self.pool.open(wait=False)
        return self.pool.connection()
