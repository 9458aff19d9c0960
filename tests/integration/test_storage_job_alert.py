"""The storage_job_failing rule on the real database: a failing worker task (recorded in
``maintenance_runs`` as the plain-mode retention does) opens a major alert through the worker's own
alert tick, and a successful run clears it after the clear hold."""

from datetime import UTC, datetime, timedelta

import psycopg

from citybrain.alerts.rules import RulesConfig
from citybrain.alerts.service import AlertService
from citybrain.risk.config import RiskConfig
from citybrain.settings import PROJECT_ROOT
from citybrain.store.maintenance import PRUNE_TASK
from citybrain.store.runs import record_run
from citybrain.stream import alerting

RULES = RulesConfig.load(PROJECT_ROOT / "config")
RISK = RiskConfig.load(PROJECT_ROOT / "config")


def _record(url: str, error: str | None) -> None:
    with psycopg.connect(url) as conn:
        record_run(conn, PRUNE_TASK, datetime.now(UTC), 3600, error=error)


def _storage_alerts(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT status, severity, labels->>'job', labels->>'state', title FROM alerts"
            " WHERE rule_id = 'storage_job_failing'"
        ).fetchall()


def test_a_failing_storage_task_opens_an_alert_that_clears_when_it_succeeds_again(seeded_url):
    service = AlertService(seeded_url)
    now = datetime.now(UTC)
    alerting.tick(service, RULES, RISK, now)
    assert _storage_alerts(seeded_url) == []  # every job healthy after migrate

    _record(seeded_url, "could not extend file: No space left on device")
    events = alerting.tick(service, RULES, RISK, now + timedelta(seconds=10))
    opened = [e for e in events if e.rule_id == "storage_job_failing"]
    assert [e.action for e in opened] == ["open"] and opened[0].severity == "major"
    [(status, severity, job, state, title)] = _storage_alerts(seeded_url)
    assert (status, severity, job, state) == ("active", "major", PRUNE_TASK, "failing")
    assert "No space left on device" in title

    _record(seeded_url, None)  # the next run succeeds
    rule = RULES.rule("storage_job_failing")
    alerting.tick(service, RULES, RISK, now + timedelta(seconds=20))
    assert _storage_alerts(seeded_url)[0][0] == "active"  # healthy, but not yet for the clear hold
    alerting.tick(service, RULES, RISK, now + timedelta(seconds=30 + rule.clear_hold_s))
    assert _storage_alerts(seeded_url)[0][0] == "cleared"
