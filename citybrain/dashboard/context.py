"""Everything a page needs, in one typed object built once per process: the city, the
rules, the settings that shape the screens, and the cached data sources.

Pages call ``context()`` instead of reading ``server.config["…"]`` strings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from zoneinfo import ZoneInfo

from citybrain.alerts.instructions import InstructionService
from citybrain.alerts.rules import RulesConfig
from citybrain.alerts.service import AlertService
from citybrain.config import ConfigError
from citybrain.dashboard.leader_sources import LeaderSources
from citybrain.dashboard.sources import Sources
from citybrain.dashboard.wall_config import WallConfig
from citybrain.events import Topic
from citybrain.geo.city import City
from citybrain.lag import ingest_group
from citybrain.risk.config import RiskConfig
from citybrain.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Context:
    settings: Settings
    city: City
    risk: RiskConfig
    rules: RulesConfig
    sources: Sources
    wall: WallConfig
    district_names: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings) -> Context:
        city = City.load(settings.config_dir)
        risk = RiskConfig.load(settings.config_dir)
        rules = RulesConfig.load(settings.config_dir)
        wall = WallConfig.load(settings.config_dir)
        unknown = sorted(set(wall.core_districts) - {d.adcode for d in city.districts})
        if unknown:
            raise ConfigError(
                f"{settings.config_dir / 'wall.yaml'}: core_districts: not in the city: {', '.join(unknown)}"
            )
        sources = Sources(
            settings.database_url,
            ttl_s=settings.dashboard_refresh_s,
            risk_window_s=risk.windows_s[-1],
            kafka_bootstrap=settings.kafka_bootstrap,
            ingest_group=ingest_group(settings.worker_id),
            silent_after_s=risk.sensor_silent_after_s,
            tz=city.tz,
        )
        names = {d.adcode: {"zh": d.name_zh, "en": d.name_en} for d in city.districts}
        return cls(settings, city, risk, rules, sources, wall, names)

    @property
    def refresh_ms(self) -> int:
        return int(self.settings.dashboard_refresh_s * 1000)

    @property
    def tz(self) -> ZoneInfo:
        return self.city.tz

    def local(self, moment: datetime) -> datetime:
        """A stored (UTC) time in the city's time zone: screens never show UTC."""
        return moment.astimezone(self.city.tz)

    def district_name(self, adcode: str | None, lang: str) -> str:
        if not adcode:
            return ""
        return self.district_names.get(adcode, {}).get(lang, adcode)

    @cached_property
    def alerts(self) -> AlertService:
        """The alerts service the console acts through; it tells the rest of the system on alerts.events."""
        return AlertService(self.settings.database_url, publish=_publisher(self.settings.kafka_bootstrap))

    @cached_property
    def leader(self) -> LeaderSources:
        """The leaders' pages' readers (dashboard/leader_sources.py), on the same pool."""
        return LeaderSources(
            self.sources,
            ttl_s=self.settings.dashboard_refresh_s,
            risk_window_s=self.risk.windows_s[-1],
            silent_after_s=self.risk.sensor_silent_after_s,
            tz=self.city.tz,
        )

    @cached_property
    def instructions(self) -> InstructionService:
        """Leaders' instructions (批示): given and completed through this service, which checks the roles."""
        return InstructionService(self.settings.database_url)

    def rule(self, rule_id: str):
        return next((r for r in self.rules.rules if r.id == rule_id), None)


def _publisher(bootstrap: str | None):
    """Publish duty actions like the worker does; the database is the record, so a broker hiccup is logged."""
    if not bootstrap:
        return None
    producer = None

    def publish(event) -> None:
        nonlocal producer
        try:
            if producer is None:
                from kafka import KafkaProducer

                producer = KafkaProducer(bootstrap_servers=bootstrap, client_id="citybrain-dashboard")
            producer.send(Topic.ALERTS.value, key=event.dedup_key.encode(), value=event.to_bytes()).get(
                timeout=10
            )
        except Exception:  # the action is committed; the event is what failed
            log.exception(
                "could not publish %s of alert %s on %s", event.action, event.alert_id, Topic.ALERTS.value
            )

    return publish


_context: Context | None = None


def configure(ctx: Context) -> Context:
    global _context
    _context = ctx
    return ctx


def context() -> Context:
    if _context is None:
        raise RuntimeError("the dashboard context is not configured (create_app first)")
    return _context
