"""One alert tick: observe the rules' facts, run the engine through the service. Blocking; run in a thread."""

from __future__ import annotations

from datetime import datetime

import psycopg

from citybrain.alerts.observe import observe
from citybrain.alerts.rules import RulesConfig
from citybrain.alerts.service import AlertService
from citybrain.events import AlertEvent
from citybrain.risk.config import RiskConfig


def tick(service: AlertService, rules: RulesConfig, risk: RiskConfig, now: datetime) -> list[AlertEvent]:
    with psycopg.connect(service.database_url) as conn:
        observations = observe(conn, rules, risk, now)
    _, events = service.tick(now, observations, rules)
    return events
