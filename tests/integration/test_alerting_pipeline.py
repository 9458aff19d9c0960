"""Alerts on the real pipeline: a scenario opens the expected alert; a worker killed during a hold time
still opens, and still escalates, the alert after it restarts."""

import shutil
import signal
import uuid

import psycopg
import pytest
import yaml

from citybrain.events import AlertEvent, Topic
from citybrain.runtime.broker import ensure_topics
from citybrain.runtime.supervisor import stop_process_group
from citybrain.settings import PROJECT_ROOT
from citybrain.sim import scenarios
from tests.helpers import read_topic, start_citybrain, wait_until

PARTITIONS = 2


@pytest.fixture
def fast_config(tmp_path):
    """The shipped rules with a 1 s tick, critical groups that may send every 2 s, and a cluster rule that
    holds 8 s and escalates after 4 s."""
    config = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", config)
    doc = yaml.safe_load((config / "rules.yaml").read_text(encoding="utf-8"))
    doc["tick_s"] = 1
    doc["notify"]["critical"]["group_interval_s"] = 2
    for rule in doc["rules"]:
        if rule["id"] == "camera_outage_cluster":
            rule.update(hold_s=8, escalate_after_s=4)
    (config / "rules.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return config


def run_worker(bootstrap, url, config, log):
    return start_citybrain(
        ["worker"],
        log,
        kafka_bootstrap=bootstrap,
        database_url=url,
        config_dir=config,
        worker_id=f"alerts-{uuid.uuid4().hex[:8]}",
        partitions=PARTITIONS,
        batch_within_s=0.2,
    )


def query(url, sql, *params):
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def published(bootstrap) -> list[AlertEvent]:
    return [
        AlertEvent.model_validate_json(m.value) for m in read_topic(bootstrap, Topic.ALERTS.value, PARTITIONS)
    ]


def test_a_flood_opens_a_critical_alert_at_once(bootstrap, seeded_url, registry, fast_config, tmp_path):
    ensure_topics(bootstrap, PARTITIONS)
    worker = run_worker(bootstrap, seeded_url, fast_config, tmp_path / "worker.log")
    try:
        events = scenarios.flood(registry[1], "510116", 6.5)
        scenarios.send(bootstrap, events)
        gauges = {e.device_id for e in events}
        opened = wait_until(
            lambda: query(
                seeded_url, "SELECT scope, severity, value FROM alerts WHERE rule_id = 'water_over_red_line'"
            ),
            60,
            0.5,
            "the flood alert",
        )
        assert {scope for scope, _, _ in opened} == gauges
        assert {(sev, value) for _, sev, value in opened} == {("critical", 6.5)}
        wait_until(
            lambda: (
                len([e for e in published(bootstrap) if e.rule_id == "water_over_red_line"]) == len(gauges)
            ),
            30,
            1.0,
            "the alerts on alerts.events",
        )
        # grouped messages for the district's gauges (one unless the readings straddle a tick), delivered
        # to the log and recorded
        delivered = wait_until(
            lambda: (
                (
                    rows := query(
                        seeded_url,
                        "SELECT receiver, ok, cardinality(alert_ids) FROM alert_deliveries"
                        " WHERE group_key = %s",
                        "critical|rule=water_over_red_line|district=510116",
                    )
                )
                and sum(n for _, _, n in rows) == len(gauges)
                and rows
            ),
            30,
            0.5,
            "the grouped notification",
        )
        assert {(receiver, ok) for receiver, ok, _ in delivered} == {("log", True)}
    finally:
        stop_process_group(worker, grace_s=5)


def test_a_worker_killed_during_the_hold_time_still_opens_and_escalates(
    bootstrap, seeded_url, registry, fast_config, tmp_path
):
    ensure_topics(bootstrap, PARTITIONS)
    worker = run_worker(bootstrap, seeded_url, fast_config, tmp_path / "worker1.log")
    key = "camera_outage_cluster:510107"
    try:
        scenarios.send(bootstrap, scenarios.camera_outage(registry[0], "510107", 0.4))
        [(pending_since,)] = wait_until(
            lambda: query(
                seeded_url,
                "SELECT pending_since FROM alert_tracks WHERE dedup_key = %s AND pending_since IS NOT NULL",
                key,
            ),
            60,
            0.2,
            "the hold timer to start",
        )
        assert query(seeded_url, "SELECT count(*) FROM alerts WHERE dedup_key = %s", key) == [(0,)]
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    restarted = run_worker(bootstrap, seeded_url, fast_config, tmp_path / "worker2.log")
    try:
        [(opened_at,)] = wait_until(
            lambda: query(seeded_url, "SELECT opened_at FROM alerts WHERE dedup_key = %s", key),
            60,
            0.5,
            "the alert to open after the restart",
        )
        assert (opened_at - pending_since).total_seconds() >= 8  # the hold time counted from before the kill
        wait_until(
            lambda: query(
                seeded_url, "SELECT 1 FROM alerts WHERE dedup_key = %s AND escalation_level >= 1", key
            ),
            30,
            0.5,
            "the escalation",
        )
        actions = [
            a
            for (a,) in query(
                seeded_url,
                "SELECT action FROM alert_log l JOIN alerts a ON a.id = l.alert_id"
                " WHERE a.dedup_key = %s ORDER BY l.id",
                key,
            )
        ]
        assert actions[:2] == ["open", "escalate"]
    finally:
        stop_process_group(restarted, grace_s=5)
