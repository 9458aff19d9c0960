"""The faust application: one agent per input topic, each writing in batches, and timers.

Offsets are acknowledged only after ``take_events`` hands back control, i.e.
after the batch's rows are committed in PostgreSQL and its dead letters are
confirmed by the broker: a worker killed mid-batch replays the batch, and the
idempotent writer turns the replay into a no-op.

Timers on the group leader compute district risk and evaluate the alert
rules, so with several workers each is done once; every worker refreshes its
device lookup, and prunes past-retention rows on plain PostgreSQL.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import faust
import psycopg

from citybrain.alerts.notifiers import Router
from citybrain.alerts.rules import RulesConfig
from citybrain.alerts.service import AlertService
from citybrain.events import Topic
from citybrain.risk import windows
from citybrain.risk.config import RiskConfig
from citybrain.settings import Settings
from citybrain.store.migrate import storage_mode
from citybrain.store.policies import StorageConfig, prune_plain
from citybrain.store.registry import load_lookup
from citybrain.store.writer import CAMERA_STATUS, CASE_EVENTS, READINGS, TableSpec
from citybrain.stream import alerting, indicators
from citybrain.stream.ingest import DeadLetter, Lookup, Message, prepare
from citybrain.stream.sink import DurableSink

log = logging.getLogger("citybrain.stream")

TABLES: dict[str, TableSpec] = {
    Topic.READINGS: READINGS,
    Topic.CAMERA_STATUS: CAMERA_STATUS,
    Topic.CASE_EVENTS: CASE_EVENTS,
}
LOOKUP_REFRESH_S = 60.0
PRUNE_EVERY_S = 3600.0


def broker_url(bootstrap: str) -> str:
    return ";".join(f"kafka://{host.strip()}" for host in bootstrap.split(","))


def fetch_lookup(database_url: str) -> Lookup:
    return Lookup(*load_lookup(database_url))


def dead_letter_headers(d: DeadLetter) -> dict[str, bytes]:
    m = d.message
    return {
        "reason": d.reason.encode(),
        "detail": d.detail.encode(),
        "source_topic": m.topic.encode(),
        "source_partition": str(m.partition).encode(),
        "source_offset": str(m.offset).encode(),
    }


def survive(timer: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    """A failing tick (database or broker away) is logged and tried again next period, never fatal."""

    @functools.wraps(timer)
    async def run() -> None:
        try:
            await timer()
        except Exception:
            log.exception("%s failed; trying again at the next tick", timer.__name__)

    return run


def create_app(settings: Settings) -> faust.App:
    if not settings.kafka_bootstrap or not settings.database_url:
        raise ValueError("the worker needs CITYBRAIN_KAFKA_BOOTSTRAP and CITYBRAIN_DATABASE_URL")
    app = faust.App(
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
    )
    database_url = settings.database_url
    risk = RiskConfig.load(settings.config_dir)
    rules = RulesConfig.load(settings.config_dir)
    storage = StorageConfig.load(settings.config_dir)
    state = {"lookup": fetch_lookup(database_url)}
    dlq = app.topic(Topic.DLQ, partitions=settings.partitions)
    max_future = timedelta(seconds=settings.max_future_s)

    async def send_dead(letters: list[DeadLetter]) -> None:
        pending = [
            await dlq.send(key=d.message.key, value=d.message.value or b"", headers=dead_letter_headers(d))
            for d in letters
        ]
        await asyncio.gather(*pending)
        for d in letters:
            log.warning("dead letter %s from %s[%d]@%d: %s", d.reason, d.message.topic,
                        d.message.partition, d.message.offset, d.detail)

    def make_agent(topic_name: str, spec: TableSpec) -> None:
        topic = app.topic(topic_name, partitions=settings.partitions)

        async def ingest(stream: faust.StreamT) -> None:
            sink = DurableSink(database_url, spec, topic_name)
            try:
                async for events in stream.take_events(settings.batch_size, within=settings.batch_within_s):
                    messages = [
                        Message(e.message.topic, e.message.partition, e.message.offset, e.message.key, e.value)
                        for e in events
                    ]
                    now = datetime.now(UTC)
                    rows, sources, dead = prepare(messages, state["lookup"], now, max_future)
                    late = [row[3] for row in rows if windows.is_late(row[1], now, risk)]  # row[3]: district
                    result = await sink.write(rows, late, now)
                    dead += [DeadLetter(sources[i], "db_rejected", why) for i, why in result.rejected]
                    if dead:
                        await send_dead(dead)
                    log.debug("%s: %d events, %d new rows, %d dead", topic_name, len(events), result.inserted, len(dead))
            finally:
                await asyncio.to_thread(sink.close)

        app.agent(topic, name=f"ingest-{spec.name}")(ingest)

    for topic_name, spec in TABLES.items():
        make_agent(topic_name, spec)

    risk_topic = app.topic(Topic.RISK, partitions=settings.partitions)

    @app.timer(risk.tick_s, on_leader=True)
    @survive
    async def compute_risk() -> None:
        result = await asyncio.to_thread(indicators.tick, database_url, risk, datetime.now(UTC))
        pending = [await risk_topic.send(key=r.district.encode(), value=r.to_bytes()) for r in result.published]
        await asyncio.gather(*pending)

    @app.timer(PRUNE_EVERY_S)
    @survive
    async def prune() -> None:
        # TimescaleDB drops old chunks by policy; plain PostgreSQL needs deleting
        def run() -> int:
            with psycopg.connect(database_url) as conn:
                return prune_plain(conn, storage) if storage_mode(conn) == "plain" else 0

        deleted = await asyncio.to_thread(run)
        if deleted:
            log.info("deleted %d rows past retention", deleted)

    alert_service = AlertService(database_url)
    router = Router(rules)
    alerts_topic = app.topic(Topic.ALERTS, partitions=settings.partitions)

    @app.timer(rules.tick_s, on_leader=True)
    @survive
    async def evaluate_alerts() -> None:
        events = await asyncio.to_thread(alerting.tick, alert_service, rules, risk, datetime.now(UTC))
        pending = [await alerts_topic.send(key=e.dedup_key.encode(), value=e.to_bytes()) for e in events]
        await asyncio.gather(*pending)
        loop = asyncio.get_running_loop()
        for event in events:  # webhooks retry with backoff: never hold up the next tick
            loop.run_in_executor(None, router.deliver, event)

    @app.timer(LOOKUP_REFRESH_S)
    @survive
    async def refresh_lookup() -> None:
        # devices added to the registry while the worker runs become known without a restart
        state["lookup"] = await asyncio.to_thread(fetch_lookup, database_url)

    return app


def run_worker(settings: Settings) -> None:
    app = create_app(settings)
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True)
    worker.execute_from_commandline()
