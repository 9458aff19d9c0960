"""Sends the outbox's due groups and records every delivery. Blocking; the worker runs it in a thread
after each tick, so a webhook retrying with backoff never holds up the next tick.

The tick writes notifications to the outbox in its own transaction, so a
worker that dies between deciding and sending sends them after it restarts.
A message is marked sent once its receivers have been tried (each with its
retries); receivers that failed are recorded in ``alert_deliveries`` with the
reason, and listed by ``citybrain alerts deliveries --failed``.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.rows import dict_row

from citybrain.alerts.grouping import Pending, due
from citybrain.alerts.notifiers import Delivery, Router
from citybrain.alerts.rules import RulesConfig
from citybrain.events import AlertEvent
from citybrain.store import alert_store

log = logging.getLogger("citybrain.alerts")
KEEP_SENT = timedelta(days=7)  # sent outbox rows kept for inspection; alert_deliveries keeps the record


class Dispatcher:
    def __init__(self, database_url: str, cfg: RulesConfig, router: Router | None = None) -> None:
        self.database_url = database_url
        self.cfg = cfg
        self.router = router
        self.routes = {sev.value: route for sev, route in cfg.notify.items()}
        self._busy = threading.Lock()

    def flush(self, now: datetime | None = None) -> list[Delivery]:
        """Send every group that is due now; returns what was delivered or not. A flush still running
        (a receiver retrying) makes this one a no-op rather than a second sender. Never raises: it runs
        unattended after each tick, and what it could not send stays in the outbox for the next one."""
        if not self._busy.acquire(blocking=False):
            return []
        try:
            return self._flush(now or datetime.now(UTC))
        except psycopg.Error as exc:
            log.warning("notifications not sent this tick, kept in the outbox: %s", exc)
            return []
        finally:
            self._busy.release()

    def _flush(self, now: datetime) -> list[Delivery]:
        out: list[Delivery] = []
        with psycopg.connect(self.database_url, row_factory=dict_row) as conn:
            if self.router is None:  # district names for the messages, read once
                self.router = Router(self.cfg, alert_store.district_names(conn))
            with conn.transaction(), conn.cursor() as cur:
                alert_store.prune_sent(cur, now - KEEP_SENT)
                rows = alert_store.pending(cur)
                if not rows:
                    return out
                pending = [
                    Pending(r["id"], r["group_key"], r["created_at"], AlertEvent.model_validate(r["event"]))
                    for r in rows
                ]
                last = alert_store.last_sent(cur, sorted({p.group_key for p in pending}))
                for notification, ids in due(now, pending, last, self.routes):
                    deliveries = self.router.send(notification)
                    for d in deliveries:
                        alert_store.record_delivery(
                            cur,
                            now,
                            notification.group_key,
                            d.receiver,
                            notification.ids,
                            d.ok,
                            d.attempts,
                            d.error,
                        )
                    alert_store.mark_sent(cur, ids, now)
                    out += deliveries
        return out
