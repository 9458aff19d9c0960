"""One hot-spot tick: read the created cases ingested since the last tick, feed the detector, store what
changed. Blocking; run in a thread, on the group leader only (like risk and alerts).

Nothing here touches the ingest path: the batch writer stores cases as it always did, and this tick
reads them back by ingest time, a few dozen a minute in a real city. The detector's state is kept in
the database (hot spots, their cases with core flags, the watermark) and rebuilt from it -- the cases
of the last ``late_s`` + T of event time -- when a worker first ticks or finds that another worker
ticked since (leadership moved), so a restart or a failover carries on where the last tick stopped.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import psycopg

from citybrain.hotspots.config import HotspotConfig
from citybrain.hotspots.detect import Changes, Detector, Locate, to_utm
from citybrain.store import hotspots as store

log = logging.getLogger("citybrain.hotspots")


class HotspotTicker:
    def __init__(self, database_url: str, cfg: HotspotConfig, locate: Locate) -> None:
        self.database_url = database_url
        self.cfg = cfg
        self.locate = locate
        self.detector: Detector | None = None
        self.watermark: datetime | None = None

    def horizon(self, now: datetime) -> datetime:
        return now - timedelta(seconds=self.cfg.late_s + self.cfg.max_window_s)

    def tick(self, now: datetime) -> Changes:
        try:
            return self._tick(now)
        except BaseException:
            self.detector = None  # its memory may be ahead of what was stored: rebuild at the next tick
            raise

    def _tick(self, now: datetime) -> Changes:
        with psycopg.connect(self.database_url) as conn, conn.transaction():
            saved = store.progress(conn, lock=True)
            if self.detector is None or saved.watermark != self.watermark:
                self._restore(conn, saved.watermark, now)
            cases, newest = store.new_cases(
                conn, self.watermark, now, now - timedelta(seconds=self.cfg.late_s)
            )
            changes = self.detector.add(cases, now)
            watermark = max(filter(None, (self.watermark, newest)), default=None)
            store.save(conn, changes, watermark, now)
        self.watermark = watermark
        for h in changes.hotspots.values():
            log.info(
                "hot spot %s: %d %s cases within %.0f m in %s%s",
                h.id,
                h.count,
                h.group,
                h.radius_m,
                h.district,
                f", ended {h.ended_at:%H:%M:%S}" if h.ended_at else "",
            )
        return changes

    def _restore(self, conn: psycopg.Connection, watermark: datetime | None, now: datetime) -> None:
        self.detector = Detector(self.cfg, self.locate)
        self.watermark = watermark
        if watermark is not None:
            points, active = store.restore(conn, watermark, self.horizon(now), to_utm)
            self.detector.restore(points, active)
            log.info(
                "hot-spot detector restored: %d recent cases, %d active hot spots", len(points), len(active)
            )
