"""The faust application: the ingest loop, and timers on the group leader.

Ingest is a faust task owning a batch consumer (``consumer.py``): it stores
each batch's rows and dead letters in one transaction and commits offsets
only afterwards, so a worker killed mid-batch replays the batch and the
idempotent writer turns the replay into a no-op.

Timers on the group leader detect appeal hot spots, compute district risk and evaluate the alert
rules, so with several workers each is done once; every worker refreshes its
device lookup, records its heartbeat (with the ingest partitions it holds),
and prunes past-retention rows on plain PostgreSQL.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import faust

from citybrain import logs, metrics
from citybrain.alerts.dispatch import Dispatcher
from citybrain.alerts.rules import RulesConfig
from citybrain.alerts.service import AlertService
from citybrain.events import Topic
from citybrain.geo.city import City
from citybrain.hotspots.config import HotspotConfig
from citybrain.hotspots.detect import city_locator
from citybrain.risk.config import RiskConfig
from citybrain.settings import Settings
from citybrain.store import health, heartbeats, maintenance
from citybrain.store.maintenance import PRUNE_EVERY_S
from citybrain.store.policies import StorageConfig
from citybrain.store.registry import load_lookup
from citybrain.store.writer import TABLES
from citybrain.stream import alerting, indicators
from citybrain.stream.consumer import BATCH_FAILED, ConsumerConfig, IngestLoop, dead_letter_sender
from citybrain.stream.hotspots import HotspotTicker
from citybrain.stream.ingest import Limits, Lookup
from citybrain.stream.sink import DurableSink

log = logging.getLogger("citybrain.stream")

LOOKUP_REFRESH_S = 60.0
JOB_HEALTH_EVERY_S = 60.0


def broker_url(bootstrap: str) -> str:
    return ";".join(f"kafka://{host.strip()}" for host in bootstrap.split(","))


def fetch_lookup(database_url: str) -> Lookup:
    return Lookup(*load_lookup(database_url))


def survive(timer: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    """A failing tick (database or broker away) is logged and tried again next period, never fatal."""

    @functools.wraps(timer)
    async def run() -> None:
        try:
            await timer()
        except Exception:
            log.exception("%s failed; trying again at the next tick", timer.__name__)

    return run


class WorkerApp(faust.App):
    """Starts the ingest loop with the app, beside faust's own group join rather than after it."""

    ingest_loop: IngestLoop | None = None

    async def on_start(self) -> None:
        await super().on_start()
        if self.ingest_loop is not None:
            self.add_future(self._ingest())

    async def _ingest(self) -> None:
        try:
            await self.ingest_loop.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.critical("the ingest loop failed; stopping so its batch is replayed", exc_info=True)
            logging.shutdown()
            os._exit(BATCH_FAILED)


def create_app(settings: Settings) -> faust.App:
    if not settings.kafka_bootstrap or not settings.database_url:
        raise ValueError("the worker needs CITYBRAIN_KAFKA_BOOTSTRAP and CITYBRAIN_DATABASE_URL")
    (settings.data_dir / "faust").mkdir(parents=True, exist_ok=True)  # faust creates only the last level
    app = WorkerApp(
        settings.worker_id,
        broker=broker_url(settings.kafka_bootstrap),
        store="memory://",
        value_serializer="raw",
        key_serializer="raw",
        topic_partitions=settings.partitions,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=10.0,
        broker_heartbeat_interval=1.0,
        broker_rebalance_timeout=10.0,
        web_enabled=False,
        datadir=str(settings.data_dir / "faust" / "{conf.name}"),  # not the current directory
    )
    database_url = settings.database_url
    risk = RiskConfig.load(settings.config_dir)
    rules = RulesConfig.load(settings.config_dir)
    storage = StorageConfig.load(settings.config_dir)
    hotspot_cfg = HotspotConfig.load(settings.config_dir)
    state = {"lookup": fetch_lookup(database_url)}
    dlq = app.topic(Topic.DLQ, partitions=settings.partitions)
    limits = Limits(
        max_message_bytes=settings.max_message_bytes,
        max_future=timedelta(seconds=settings.max_future_s),
        max_age=timedelta(days=min(storage.raw_retention_days, settings.max_event_age_days or 10**5)),
    )
    for topic in TABLES:  # declared so faust creates them with the configured partitions
        app.topic(topic, partitions=settings.partitions)
    ingest_loop = IngestLoop(
        ConsumerConfig(
            settings.kafka_bootstrap,
            f"{settings.worker_id}-ingest",
            tuple(TABLES),
            settings.batch_size,
            settings.batch_within_s,
            settings.max_message_bytes,
        ),
        DurableSink(database_url, TABLES, settings.dead_letter_payload_bytes),
        lambda: state["lookup"],
        limits,
        risk,
        dead_letter_sender(dlq.send),
    )

    app.ingest_loop = ingest_loop
    risk_topic = app.topic(Topic.RISK, partitions=settings.partitions)

    @app.timer(risk.tick_s, on_leader=True)
    @survive
    async def compute_risk() -> None:
        with metrics.time_tick("risk"):
            result = await asyncio.to_thread(indicators.tick, database_url, risk, datetime.now(UTC))
        pending = [
            await risk_topic.send(key=r.district.encode(), value=r.to_bytes()) for r in result.published
        ]
        await asyncio.gather(*pending)

    hotspots = HotspotTicker(database_url, hotspot_cfg, city_locator(City.load(settings.config_dir)))

    @app.timer(hotspot_cfg.tick_s, on_leader=True)
    @survive
    async def detect_hotspots() -> None:
        # appeal hot spots from the cases stored since the last tick: never on the ingest path
        with metrics.time_tick("hotspots"):
            await asyncio.to_thread(hotspots.tick, datetime.now(UTC))

    @app.timer(PRUNE_EVERY_S)
    @survive
    async def prune() -> None:
        # TimescaleDB drops old chunks by policy; plain tables need deleting (each run recorded)
        deleted = await asyncio.to_thread(maintenance.run_prune, database_url, PRUNE_EVERY_S)
        if deleted:
            log.info("deleted %d rows past retention", deleted)

    # Late rows reach TimescaleDB's rollups through a TimescaleDB job owned by the schema owner (migrations
    # 014, 015): refresh_continuous_aggregate refuses the application role this worker connects as.

    @app.timer(JOB_HEALTH_EVERY_S)
    @survive
    async def watch_storage_jobs() -> None:
        metrics.observe_job_health(await asyncio.to_thread(health.read_job_health, database_url))

    alert_service = AlertService(database_url)
    dispatcher = Dispatcher(database_url, rules)
    alerts_topic = app.topic(Topic.ALERTS, partitions=settings.partitions)

    @app.timer(rules.tick_s, on_leader=True)
    @survive
    async def evaluate_alerts() -> None:
        with metrics.time_tick("alerts"):
            events = await asyncio.to_thread(alerting.tick, alert_service, rules, risk, datetime.now(UTC))
        pending = [await alerts_topic.send(key=e.dedup_key.encode(), value=e.to_bytes()) for e in events]
        await asyncio.gather(*pending)
        # notifications go out per group; receivers retry with backoff: never hold up the next tick
        asyncio.get_running_loop().run_in_executor(None, dispatcher.flush)

    me = heartbeats.Identity(settings.worker_id)

    @app.timer(heartbeats.EVERY_S)
    @survive
    async def heartbeat() -> None:
        # which workers are alive and which input partitions each holds (the operations page)
        await asyncio.to_thread(heartbeats.beat, database_url, me, ingest_loop.partitions)

    @app.timer(LOOKUP_REFRESH_S)
    @survive
    async def refresh_lookup() -> None:
        # devices added to the registry while the worker runs become known without a restart
        state["lookup"] = await asyncio.to_thread(fetch_lookup, database_url)

    return app


def run_worker(settings: Settings) -> None:
    app = create_app(settings)
    if settings.metrics_port is not None:
        server = metrics.start_metrics_server(
            metrics.port_for(settings.metrics_port, "worker"), settings.metrics_host
        )
        log.info("metrics on %s", server.url)
    # logging is citybrain's (citybrain/logs.py): faust's, aiokafka's and ours at the same level, same format
    logs.configure(settings.log_level, libraries=settings.log_level)
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True, override_logging=False)
    worker.execute_from_commandline()
