"""Who hears about an alert: notifiers behind one small protocol, routed by severity.

Only what an officer must act on is sent: an alert opening, announced when
its mute ends, escalating, repeated while nobody acknowledges it, clearing;
never while it is muted. Messages go out per group (see grouping): one
message lists every alert of the group. Besides the log and a generic JSON
webhook, the group robots Chinese government offices use: WeCom (企业微信)
and DingTalk (钉钉), in Chinese, with district names and a link to each
alert. HTTP notifiers retry with exponential backoff; every attempt's outcome
comes back as a Delivery, which the dispatcher records.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from citybrain.alerts.grouping import Notification
from citybrain.alerts.rules import Robot, RulesConfig, Webhook
from citybrain.events import AlertEvent

log = logging.getLogger("citybrain.alerts")
NOTIFY_ON = {"open", "unmute", "escalate", "repeat", "clear"}

SEVERITY_ZH = {"critical": "紧急", "major": "重要", "minor": "一般", "warning": "提示"}
ACTION_ZH = {
    "open": "新告警",
    "unmute": "静默结束",
    "escalate": "升级",
    "repeat": "仍未确认",
    "clear": "已恢复",
}


@dataclass(frozen=True)
class Delivery:
    receiver: str
    ok: bool
    attempts: int
    error: str | None = None


class Notifier(Protocol):
    name: str

    def send_group(self, notification: Notification) -> Delivery:
        """Deliver one grouped message. Never raises."""


def single(event: AlertEvent) -> Notification:
    return Notification(event.dedup_key, event.severity, (event,))


class Texts:
    """Message text: district names instead of codes, a link to each alert when configured."""

    def __init__(
        self, district_names: Mapping[str, str] | None = None, alert_link: str | None = None
    ) -> None:
        self.names = dict(district_names or {})
        self.alert_link = alert_link

    def district(self, adcode: str | None) -> str:
        return self.names.get(adcode or "", adcode or "全市")

    def link(self, alert_id: int) -> str | None:
        return self.alert_link.replace("{id}", str(alert_id)) if self.alert_link else None

    def headline(self, n: Notification) -> str:
        first = n.events[0]
        districts = sorted({self.district(e.district) for e in n.events})
        where = "、".join(districts[:3]) + (f"等{len(districts)}个区县" if len(districts) > 3 else "")
        count = f"（{len(n.events)}条）" if len(n.events) > 1 else ""
        return f"【{SEVERITY_ZH[first.severity]}告警】{where} {first.rule_id}{count}"

    def line(self, e: AlertEvent) -> str:
        parts = [f"{ACTION_ZH.get(e.action, e.action)}：{e.title}", f"区县：{self.district(e.district)}"]
        if e.escalation_level:
            parts.append(f"升级{e.escalation_level}级")
        if e.action == "unmute" and e.muted_for_s:
            parts.append(f"静默{e.muted_for_s / 60:.0f}分钟")
        if e.assignee:
            parts.append(f"处置人：{e.assignee}")
        link = self.link(e.alert_id)
        text = "，".join(parts)
        return f"{text}，[查看告警 #{e.alert_id}]({link})" if link else f"{text}（告警 #{e.alert_id}）"

    def markdown(self, n: Notification, max_bytes: int = 3800) -> str:
        """Headline and one line per alert, cut to fit the robot's limit (WeCom: 4096 bytes) with a
        closing line saying how many more there are."""
        lines = [f"### {self.headline(n)}"]
        size = len(lines[0].encode())
        for i, e in enumerate(n.events):
            line = f"- {self.line(e)}"
            if size + len(line.encode()) + 40 > max_bytes:
                lines.append(f"- ……另有{len(n.events) - i}条告警，请在值班台查看")
                break
            lines.append(line)
            size += len(line.encode()) + 1
        return "\n".join(lines)


class LogNotifier:
    name = "log"

    def __init__(self, texts: Texts | None = None) -> None:
        self.texts = texts or Texts()

    def send(self, event: AlertEvent) -> bool:
        return self.send_group(single(event)).ok

    def send_group(self, n: Notification) -> Delivery:
        for e in n.events:
            log.warning(
                "ALERT %s %s [%s] %s (level %d)%s",
                e.action.upper(),
                e.severity,
                e.dedup_key,
                e.title,
                e.escalation_level,
                f" group {n.group_key}" if len(n.events) > 1 else "",
            )
        return Delivery(self.name, True, 1)


class _Http:
    """POST JSON with retries and exponential backoff; ``check`` reads a 2xx answer's body for errors."""

    name = "http"

    def __init__(self, cfg: Webhook | Robot, sleep: Callable[[float], None] = time.sleep) -> None:
        self.cfg = cfg
        self.sleep = sleep

    def url(self) -> str:
        return str(self.cfg.url)

    @staticmethod
    def check(body: bytes) -> str | None:
        return None

    def post(self, payload: dict, what: str) -> Delivery:
        body = json.dumps(payload, ensure_ascii=False, default=str).encode()
        delay, reason = self.cfg.backoff_s, "not attempted"
        for attempt in range(1, self.cfg.retries + 2):
            request = urllib.request.Request(
                self.url(),
                data=body,
                method="POST",
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
            try:
                with urllib.request.urlopen(request, timeout=self.cfg.timeout_s) as resp:
                    answer = resp.read()
                    reason = self.check(answer) if 200 <= resp.status < 300 else f"HTTP {resp.status}"
            except urllib.error.HTTPError as exc:
                reason = f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError) as exc:
                reason = str(getattr(exc, "reason", exc))
            if reason is None:
                return Delivery(self.name, True, attempt)
            if attempt <= self.cfg.retries:
                log.info("%s attempt %d failed (%s); retrying in %.1f s", self.name, attempt, reason, delay)
                self.sleep(delay)
                delay *= 2
        log.error("%s gave up on %s after %d attempts: %s", self.name, what, self.cfg.retries + 1, reason)
        return Delivery(self.name, False, self.cfg.retries + 1, reason)


class WebhookNotifier(_Http):
    """The generic webhook: one event as JSON, or a group as ``{group_key, severity, events: [...]}``."""

    name = "webhook"

    def send(self, event: AlertEvent) -> bool:
        return self.post(json.loads(event.model_dump_json()), event.dedup_key).ok

    def send_group(self, n: Notification) -> Delivery:
        return self.post(
            {
                "group_key": n.group_key,
                "severity": n.severity,
                "events": [json.loads(e.model_dump_json()) for e in n.events],
            },
            n.group_key,
        )


class _Robot(_Http):
    """Group robots answer HTTP 200 with ``{"errcode": 0}`` on success and another errcode on failure."""

    def __init__(self, cfg: Robot, texts: Texts, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(cfg, sleep)
        self.texts = texts

    @staticmethod
    def check(body: bytes) -> str | None:
        try:
            answer = json.loads(body or b"{}")
        except ValueError:
            return "answer is not JSON"
        code = answer.get("errcode", 0)
        return None if code == 0 else f"errcode {code}: {answer.get('errmsg', '')}"

    def send(self, event: AlertEvent) -> bool:
        return self.send_group(single(event)).ok


class WeComNotifier(_Robot):
    """企业微信群机器人: markdown message."""

    name = "wecom"

    def send_group(self, n: Notification) -> Delivery:
        return self.post(
            {"msgtype": "markdown", "markdown": {"content": self.texts.markdown(n)}}, n.group_key
        )


class DingTalkNotifier(_Robot):
    """钉钉群机器人: markdown message, signed (timestamp + HMAC-SHA256) when the robot has a secret."""

    name = "dingtalk"

    def __init__(
        self,
        cfg: Robot,
        texts: Texts,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(cfg, texts, sleep)
        self.clock = clock

    def url(self) -> str:
        base = str(self.cfg.url)
        if not self.cfg.secret:
            return base
        stamp = str(int(self.clock().timestamp() * 1000))
        digest = hmac.new(
            self.cfg.secret.encode(), f"{stamp}\n{self.cfg.secret}".encode(), hashlib.sha256
        ).digest()
        sign = urllib.parse.quote_plus(base64.b64encode(digest).decode())
        return f"{base}{'&' if '?' in base else '?'}timestamp={stamp}&sign={sign}"

    def send_group(self, n: Notification) -> Delivery:
        return self.post(
            {
                "msgtype": "markdown",
                "markdown": {"title": self.texts.headline(n), "text": self.texts.markdown(n)},
            },
            n.group_key,
        )


class Router:
    def __init__(
        self,
        cfg: RulesConfig,
        district_names: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        texts = Texts(district_names, cfg.alert_link)
        available: dict[str, Notifier] = {"log": LogNotifier(texts)}
        if cfg.webhook.url is not None:
            available["webhook"] = WebhookNotifier(cfg.webhook, sleep)
        if cfg.wecom.url is not None:
            available["wecom"] = WeComNotifier(cfg.wecom, texts, sleep)
        if cfg.dingtalk.url is not None:
            available["dingtalk"] = DingTalkNotifier(cfg.dingtalk, texts, sleep)
        self.routes = {
            sev.value: [available[n] for n in route.receivers if n in available]
            for sev, route in cfg.notify.items()
        }

    def send(self, notification: Notification) -> list[Delivery]:
        """Send one grouped message to every receiver of its severity's route."""
        return [n.send_group(notification) for n in self.routes.get(notification.severity, [])]

    def deliver(self, event: AlertEvent) -> list[str]:
        """Send one event at once, ungrouped; returns the notifiers that delivered it."""
        if event.action not in NOTIFY_ON or event.muted:
            return []
        return [d.receiver for d in self.send(single(event)) if d.ok]
