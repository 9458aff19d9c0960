"""The storage_job_failing rule type: which jobs it observes, and the alert's life under the engine."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from citybrain.alerts import observe
from citybrain.alerts.engine import Kind, Signal, evaluate
from citybrain.alerts.rules import RulesConfig, StorageJobFailingRule
from citybrain.store.health import JobHealth

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
RULE = {
    "id": "storage",
    "type": "storage_job_failing",
    "severity": "major",
    "hold_s": 0,
    "clear_hold_s": 60,
    "escalate_after_s": 3600,
}
HEALTHY = JobHealth(
    source="timescaledb",
    job="1003",
    kind="policy_compression",
    relation="readings",
    scheduled=True,
    schedule_s=43200.0,
    last_status="success",
    last_success=T0,
    last_success_age_s=60.0,
    total_runs=4,
    total_failures=0,
    next_start=None,
    last_error=None,
    overdue=False,
)
FAILING = replace(HEALTHY, last_status="failed", total_failures=3, last_error="out of background workers")
OVERDUE = replace(
    HEALTHY, source="citybrain", job="retention_prune", kind="retention_prune", relation=None, overdue=True
)


@pytest.fixture
def jobs(monkeypatch):
    current: list[JobHealth] = []
    monkeypatch.setattr(observe.facts, "storage_jobs", lambda conn: list(current))
    return current


def _observe(cfg: RulesConfig, now: datetime = T0):
    return observe.observe(None, cfg, None, now)


def test_failing_and_overdue_jobs_are_observed_healthy_ones_are_not(jobs):
    cfg = RulesConfig.model_validate({"rules": [RULE]})
    jobs[:] = [HEALTHY, FAILING, OVERDUE]
    seen = {o.scope: o for o in _observe(cfg)}
    assert set(seen) == {"timescaledb:1003", "citybrain:retention_prune"}
    failing = seen["timescaledb:1003"]
    assert failing.signal is Signal.FIRING and failing.value == 3
    assert failing.labels == {
        "job": "policy_compression #1003",
        "source": "timescaledb",
        "state": "failing",
        "relation": "readings",
    }
    assert "out of background workers" in failing.title
    assert seen["citybrain:retention_prune"].labels["state"] == "overdue"


def test_overdue_false_watches_failed_runs_only(jobs):
    cfg = RulesConfig.model_validate({"rules": [{**RULE, "overdue": False}]})
    jobs[:] = [FAILING, OVERDUE]
    assert [o.scope for o in _observe(cfg)] == ["timescaledb:1003"]
    assert isinstance(cfg.rules[0], StorageJobFailingRule)


def test_the_alert_opens_when_a_job_fails_and_clears_once_it_is_healthy(jobs):
    cfg = RulesConfig.model_validate({"rules": [RULE]})
    tracks, now, kinds = {}, T0, []
    for state in [FAILING] * 3 + [HEALTHY] * 10:
        jobs[:] = [state]
        result = evaluate(now, tracks, _observe(cfg, now), [], cfg)
        tracks = result.tracks
        kinds += [t.kind for t in result.transitions]
        now += timedelta(seconds=10)
    assert kinds[0] is Kind.OPEN and Kind.CLEAR in kinds
    assert kinds.count(Kind.OPEN) == 1 and kinds.index(Kind.CLEAR) > 0
