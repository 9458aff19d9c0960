"""Notifiers: real HTTP endpoints on loopback that fail before they succeed."""

import base64
import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from citybrain.alerts.grouping import Notification
from citybrain.alerts.notifiers import (
    Delivery,
    DingTalkNotifier,
    Router,
    Texts,
    WebhookNotifier,
    WeComNotifier,
)
from citybrain.alerts.rules import Robot, RulesConfig, Webhook
from citybrain.events import AlertEvent


def event(**over) -> AlertEvent:
    doc = dict(
        event_time=datetime.now(UTC),
        action="open",
        actor="citybrain",
        alert_id=1,
        dedup_key="gas_alarm:iot-1",
        rule_id="gas_alarm",
        severity="critical",
        title="gas 40 at iot-1",
        district="510104",
        status="active",
        acknowledged=False,
        resolved=False,
        escalation_level=0,
        value=40.0,
    )
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
    cfg = RulesConfig.model_validate(
        {
            "rules": [
                {
                    "id": "gas_alarm",
                    "type": "sensor_threshold",
                    "severity": "critical",
                    "kind": "gas",
                    "above": 25,
                    "hold_s": 0,
                    "clear_hold_s": 0,
                    "escalate_after_s": 60,
                }
            ],
            "notify": {"critical": ["log", "webhook"], "warning": ["log"]},
            "webhook": {"url": url, "retries": 3, "backoff_s": 0},
        }
    )
    router = Router(cfg)
    assert router.deliver(event()) == ["log", "webhook"]
    assert router.deliver(event(severity="warning")) == ["log"]
    assert router.deliver(event(muted="inhibited")) == []
    assert router.deliver(event(action="update")) == []


@pytest.fixture
def robot():
    """A group-robot endpoint: HTTP 200 always, errcode 45009 (rate limited) to the first POST, then 0."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            answer = (
                {"errcode": 45009, "errmsg": "api freq out of limit"}
                if len(received) == 1
                else {"errcode": 0}
            )
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/robot/send?access_token=t0k", received
    server.shutdown()


def group(*events):
    return Notification("critical|rule=gas_alarm|district=510104", "critical", events)


def test_wecom_robot_gets_chinese_markdown_and_retries_on_an_errcode(robot):
    url, received = robot
    sleeps = []
    notifier = WeComNotifier(
        Robot(url=url, retries=2, backoff_s=0.5),
        Texts({"510104": "锦江区"}, "http://wall.example/alerts/{id}"),
        sleep=sleeps.append,
    )
    delivery = notifier.send_group(
        group(event(), event(alert_id=2, dedup_key="gas_alarm:iot-2", title="gas 31"))
    )
    assert delivery == Delivery("wecom", True, 2) and sleeps == [0.5]
    path, body = received[-1]
    assert body["msgtype"] == "markdown"
    text = body["markdown"]["content"]
    assert text.startswith("### 【紧急告警】锦江区 gas_alarm（2条）")
    assert "[查看告警 #2](http://wall.example/alerts/2)" in text


def test_dingtalk_robot_signs_its_requests_and_a_failure_is_reported_with_the_reason(robot):
    url, received = robot
    clock = lambda: datetime(2026, 11, 22, 8, 0, tzinfo=UTC)  # noqa: E731
    notifier = DingTalkNotifier(
        Robot(url=url, secret="SEC123", retries=0),
        Texts({"510104": "锦江区"}),
        sleep=lambda s: None,
        clock=clock,
    )
    delivery = notifier.send_group(group(event()))
    assert delivery == Delivery("dingtalk", False, 1, "errcode 45009: api freq out of limit")
    path, body = received[0]
    query = parse_qs(urlsplit(path).query)
    stamp = str(int(clock().timestamp() * 1000))
    expected = base64.b64encode(
        hmac.new(b"SEC123", f"{stamp}\nSEC123".encode(), hashlib.sha256).digest()
    ).decode()
    assert query == {"access_token": ["t0k"], "timestamp": [stamp], "sign": [expected]}
    assert body["markdown"]["title"] == "【紧急告警】锦江区 gas_alarm"
    assert "新告警：gas 40 at iot-1，区县：锦江区" in body["markdown"]["text"]
    assert notifier.send_group(group(event())).ok  # the robot accepts the next one
