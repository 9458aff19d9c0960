"""Who hears about an alert: notifiers behind one small protocol, routed by severity.

Only what an officer must act on is sent: an alert opening, escalating or
clearing, and never while it is muted (silenced or inhibited).
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from typing import Protocol

from citybrain.alerts.rules import RulesConfig, Webhook
from citybrain.events import AlertEvent

log = logging.getLogger("citybrain.alerts")
NOTIFY_ON = {"open", "escalate", "clear"}


class Notifier(Protocol):
    name: str

    def send(self, event: AlertEvent) -> bool:
        """Deliver one event; True when delivered. Never raises."""


class LogNotifier:
    name = "log"

    def send(self, event: AlertEvent) -> bool:
        log.warning("ALERT %s %s [%s] %s (level %d)", event.action.upper(), event.severity, event.dedup_key,
                    event.title, event.escalation_level)
        return True


class WebhookNotifier:
    """HTTP POST of the event as JSON, retried with exponential backoff on failure."""

    name = "webhook"

    def __init__(self, cfg: Webhook, sleep=time.sleep) -> None:
        self.cfg = cfg
        self.sleep = sleep

    def send(self, event: AlertEvent) -> bool:
        body = event.model_dump_json().encode()
        delay = self.cfg.backoff_s
        for attempt in range(self.cfg.retries + 1):
            request = urllib.request.Request(str(self.cfg.url), data=body, method="POST",
                                             headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=self.cfg.timeout_s) as resp:
                    if 200 <= resp.status < 300:
                        return True
            except (urllib.error.URLError, OSError) as exc:
                reason = exc
            else:
                reason = f"HTTP {resp.status}"
            if attempt < self.cfg.retries:
                log.info("webhook attempt %d failed (%s); retrying in %.1f s", attempt + 1, reason, delay)
                self.sleep(delay)
                delay *= 2
        log.error("webhook gave up on %s after %d attempts: %s", event.dedup_key, self.cfg.retries + 1, reason)
        return False


class Router:
    def __init__(self, cfg: RulesConfig) -> None:
        available: dict[str, Notifier] = {"log": LogNotifier()}
        if cfg.webhook.url is not None:
            available["webhook"] = WebhookNotifier(cfg.webhook)
        self.routes = {sev: [available[n] for n in names if n in available] for sev, names in cfg.notify.items()}

    def deliver(self, event: AlertEvent) -> list[str]:
        """Send where the event's severity is routed; returns the notifiers that delivered it."""
        if event.action not in NOTIFY_ON or event.muted:
            return []
        return [n.name for n in self.routes.get(event.severity, []) if n.send(event)]
