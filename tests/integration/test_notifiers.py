"""Notifiers: a real HTTP endpoint on loopback that fails before it succeeds."""

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from citybrain.alerts.notifiers import Router, WebhookNotifier
from citybrain.alerts.rules import RulesConfig, Webhook
from citybrain.events import AlertEvent


def event(**over) -> AlertEvent:
    doc = dict(event_time=datetime.now(UTC), action="open", actor="citybrain", alert_id=1, dedup_key="gas_alarm:iot-1",
               rule_id="gas_alarm", severity="critical", title="gas 40 at iot-1", district="510104", status="active",
               acknowledged=False, resolved=False, escalation_level=0, value=40.0)
    return AlertEvent(**{**doc, **over})


@pytest.fixture
def endpoint():
    """An HTTP endpoint answering 503 to the first two POSTs, then 204; it records every body."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(503 if len(received) <= 2 else 204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


def test_webhook_retries_with_backoff_until_delivered(endpoint):
    url, received = endpoint
    sleeps = []
    notifier = WebhookNotifier(Webhook(url=url, retries=4, backoff_s=0.5, timeout_s=2), sleep=sleeps.append)
    assert notifier.send(event()) is True
    assert len(received) == 3 and received[-1]["dedup_key"] == "gas_alarm:iot-1"
    assert sleeps == [0.5, 1.0]


def test_webhook_gives_up_after_its_retries(endpoint):
    url, received = endpoint
    notifier = WebhookNotifier(Webhook(url=url, retries=1, backoff_s=0), sleep=lambda s: None)
    assert notifier.send(event()) is False
    assert len(received) == 2


def test_routing_by_severity_and_muting(endpoint):
    url, received = endpoint
    cfg = RulesConfig.model_validate({
        "rules": [{"id": "gas_alarm", "type": "sensor_threshold", "severity": "critical", "kind": "gas", "above": 25,
                   "hold_s": 0, "clear_hold_s": 0, "escalate_after_s": 60}],
        "notify": {"critical": ["log", "webhook"], "warning": ["log"]},
        "webhook": {"url": url, "retries": 3, "backoff_s": 0},
    })
    router = Router(cfg)
    assert router.deliver(event()) == ["log", "webhook"]
    assert router.deliver(event(severity="warning")) == ["log"]
    assert router.deliver(event(muted="inhibited")) == []
    assert router.deliver(event(action="update")) == []
