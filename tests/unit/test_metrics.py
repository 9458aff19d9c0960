"""The Prometheus metrics module: helpers record what they say, and the endpoint serves them."""

import math
import socket
import urllib.request
from dataclasses import dataclass

import pytest
from prometheus_client import REGISTRY

from citybrain import metrics


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_batch_counts_events_received_and_stored_its_size_and_write_time():
    topic = "test.batch"
    metrics.record_batch(topic, received=100, stored=97, write_seconds=0.04)
    metrics.record_batch(topic, received=50, stored=50, write_seconds=0.2)
    assert value("citybrain_events_received_total", topic=topic) == 150
    assert value("citybrain_events_stored_total", topic=topic) == 147
    assert value("citybrain_batch_events_count", topic=topic) == 2
    assert value("citybrain_batch_events_sum", topic=topic) == 150
    assert value("citybrain_batch_write_seconds_bucket", topic=topic, le="0.05") == 1
    assert value("citybrain_batch_write_seconds_sum", topic=topic) == pytest.approx(0.24)


def test_dead_letters_by_reason_and_late_events():
    metrics.record_dead_letters("test.dlq", ["malformed", "unknown_device", "malformed"])
    metrics.record_late("test.dlq", 4)
    metrics.record_late("test.dlq", 0)
    assert value("citybrain_dead_letters_total", topic="test.dlq", reason="malformed") == 2
    assert value("citybrain_dead_letters_total", topic="test.dlq", reason="unknown_device") == 1
    assert value("citybrain_late_events_total", topic="test.dlq") == 4


def test_consumer_lag_is_replaced_so_revoked_partitions_disappear():
    metrics.set_consumer_lag({("iot.readings", 0): 12, ("iot.readings", 1): 0, ("video.status", 0): -3})
    assert value("citybrain_consumer_lag", topic="iot.readings", partition="0") == 12
    assert value("citybrain_consumer_lag", topic="video.status", partition="0") == 0  # never negative
    metrics.set_consumer_lag({("iot.readings", 1): 5})
    assert (
        REGISTRY.get_sample_value("citybrain_consumer_lag", {"topic": "iot.readings", "partition": "0"})
        is None
    )
    assert value("citybrain_consumer_lag", topic="iot.readings", partition="1") == 5


@dataclass
class Job:  # the shape of store.health.JobHealth
    source: str
    job: str
    kind: str
    relation: str | None
    overdue: bool
    total_failures: int
    last_success_age_s: float | None
    last_status: str | None

    @property
    def failing(self):
        return self.last_status == "failed"


def test_job_health_gauges_follow_the_latest_reading():
    ok = Job(
        "timescaledb", "1000", "policy_refresh_continuous_aggregate", "readings_1m", False, 0, 42.0, "success"
    )
    bad = Job("timescaledb", "1001", "policy_compression", "readings", False, 7, None, "failed")
    late = Job("citybrain", "retention_prune", "retention_prune", None, True, 0, 9000.0, "success")
    metrics.observe_job_health([ok, bad, late])
    labels = dict(source="timescaledb", job="1001", kind="policy_compression", relation="readings")
    assert value("citybrain_storage_job_failing", **labels) == 1
    assert value("citybrain_storage_job_healthy", **labels) == 0
    assert value("citybrain_storage_job_failures", **labels) == 7
    assert math.isnan(REGISTRY.get_sample_value("citybrain_storage_job_last_success_age_seconds", labels))
    prune = dict(source="citybrain", job="retention_prune", kind="retention_prune", relation="")
    assert (
        value("citybrain_storage_job_overdue", **prune) == 1
        and value("citybrain_storage_job_healthy", **prune) == 0
    )
    assert (
        value(
            "citybrain_storage_job_healthy",
            source="timescaledb",
            job="1000",
            kind="policy_refresh_continuous_aggregate",
            relation="readings_1m",
        )
        == 1
    )
    metrics.observe_job_health([ok])  # a deleted job leaves no stale series behind
    assert REGISTRY.get_sample_value("citybrain_storage_job_failing", labels) is None


def test_tick_durations_are_timed():
    with metrics.time_tick("test_tick"):
        pass
    assert value("citybrain_tick_seconds_count", tick="test_tick") == 1


def test_the_endpoint_serves_prometheus_text_and_stops():
    server = metrics.start_metrics_server(0)
    try:
        metrics.record_late("test.endpoint", 1)
        with urllib.request.urlopen(server.url, timeout=5) as resp:
            text = resp.read().decode()
        assert resp.status == 200
        assert 'citybrain_late_events_total{topic="test.endpoint"} 1.0' in text
        assert "# TYPE citybrain_batch_write_seconds histogram" in text
    finally:
        server.close()


def test_a_busy_port_is_named_with_the_setting_to_change():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(metrics.MetricsError, match=f"127.0.0.1:{port} .*CITYBRAIN_METRICS_PORT"):
            metrics.start_metrics_server(port)


def test_each_process_role_has_its_own_port():
    assert [metrics.port_for(9464, role) for role in ("worker", "dashboard", "simulator")] == [
        9464,
        9465,
        9466,
    ]
    assert metrics.port_for(None, "worker") is None
