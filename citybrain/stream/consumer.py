"""The ingest loop: a faust task that owns an aiokafka consumer and works in whole batches.

Why not a faust agent per topic: faust's per-event stream path (fetcher →
conductor → stream → ``take_events``) costs about 100 µs of main-thread CPU
per event, capping a worker near 9,000 events/s whatever the batch size.
Here ``getmany`` fetches up to ``batch_size`` records of the three input
topics (while a backlog drains, several fetches make one batch), ``prepare``
turns them into rows and dead letters with compiled decoders, and the sink
stores all of it in one transaction on a thread while
the next batches are fetched, prepared and stored (up to ``sink.LANES`` at
once, each on its own connection). Faust still runs the worker: the
app, its leader election and timers (risk, alerts), its producer for the
dead-letter copies, start-up and shutdown.

Delivery: offsets are committed only after the batch's transaction has
committed and its dead-letter copies are acknowledged, in batch order (a
batch stored before the one fetched ahead of it waits for it to commit its
offsets). A worker killed at any moment replays from the last commit, and the sink's
idempotence turns the replay into a no-op. A rebalance waits for the batches
in flight before partitions are given up. Anything unexpected at the batch
level (not an outage, which the sink waits out) stops the worker with exit
code ``BATCH_FAILED`` before offsets move, so the batch is replayed, never
skipped.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import logging
import os
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError

from citybrain import metrics
from citybrain.risk import windows
from citybrain.risk.config import RiskConfig
from citybrain.store.dead_letters import DeadLetterRow
from citybrain.stream.dlq import topic_copy
from citybrain.stream.ingest import Limits, Lookup, Prepared, prepare
from citybrain.stream.sink import LANES, DurableSink

log = logging.getLogger("citybrain.stream")
BATCH_FAILED = 70
# How long the broker may hold a fetch while it has nothing new. Kafka answers at once when any partition has
# a record, but the embedded broker holds the whole fetch while one of the partitions asked for is empty: at
# aiokafka's default of 500 ms a backlog's last records, once some partitions were drained, waited half a
# second (a backlog of 100,000 readings drained at 71,000–74,000 events/s, at 50 ms 84,000–96,000). An
# idle worker asks 20 times a second instead of twice, which costs nothing measurable.
FETCH_MAX_WAIT_MS = 50


@dataclass(frozen=True)
class ConsumerConfig:
    bootstrap: str
    group_id: str
    topics: tuple[str, ...]
    batch_size: int
    batch_within_s: float
    max_message_bytes: int


class _WaitForBatch(ConsumerRebalanceListener):
    def __init__(self, loop: IngestLoop) -> None:
        self.ingest = loop

    async def on_partitions_revoked(self, revoked) -> None:
        await self.ingest.settle()
        self.ingest.partitions = frozenset()

    async def on_partitions_assigned(self, assigned) -> None:
        self.ingest.partitions = frozenset((tp.topic, tp.partition) for tp in assigned)
        held = [f"{tp.topic}[{tp.partition}]" for tp in sorted(assigned)]
        log.info("ingest partitions: %s", ", ".join(held), extra={"partitions": held})


class IngestLoop:
    def __init__(
        self,
        cfg: ConsumerConfig,
        sink: DurableSink,
        lookup: Callable[[], Lookup],
        limits: Limits,
        risk: RiskConfig,
        send_dead: Callable[[list[DeadLetterRow]], Awaitable[None]],
    ) -> None:
        self.cfg = cfg
        self.sink = sink
        self.lookup = lookup
        self.limits = limits
        self.risk = risk
        self.send_dead = send_dead
        self.consumer: AIOKafkaConsumer | None = None
        self._inflight: collections.deque[asyncio.Task] = collections.deque()  # oldest first
        self._lags: dict[TopicPartition, int] = {}
        # (topic, partition) held, as the rebalance listener says (for the worker's heartbeat)
        self.partitions: frozenset[tuple[str, int]] = frozenset()

    def _consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            bootstrap_servers=self.cfg.bootstrap.split(","),
            group_id=self.cfg.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            # big enough for one oversized message (it is dead-lettered, not stuck) and for a fast backlog
            max_partition_fetch_bytes=max(8 * 1024 * 1024, self.cfg.max_message_bytes * 2),
            fetch_max_bytes=64 * 1024 * 1024,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
            rebalance_timeout_ms=10_000,
        )

    async def run(self) -> None:
        spare_the_collector()
        self.consumer = self._consumer()
        await self.consumer.start()
        await asyncio.to_thread(self.sink.connect)
        self.consumer.subscribe(list(self.cfg.topics), listener=_WaitForBatch(self))
        try:
            while True:
                fetched = await self._fetch()
                if not fetched:
                    await self.settle()
                    continue
                self._observe_lag(fetched)
                now = datetime.now(UTC)
                parts = self.prepare(fetched, now)
                offsets = {tp: records[-1].offset + 1 for tp, records in fetched.items()}
                while len(self._inflight) >= LANES:
                    await self._wait_oldest()
                before = self._inflight[-1] if self._inflight else None
                self._inflight.append(asyncio.create_task(self._store(parts, offsets, now, before)))
        finally:
            await self.settle()
            await self.consumer.stop()
            await asyncio.to_thread(self.sink.close)

    async def _fetch(self) -> dict[TopicPartition, list]:
        """The next batch: what the next fetch brings, and while a partition is behind (a backlog), what the
        fetches after it bring, up to ``batch_size``. The embedded broker answers a fetch with about 1 MiB a
        partition, 26,000 readings from four; a batch costs the database about 50 ms whatever its size (the
        rollups, the folds into 1,760 sensors), so two fetches in one batch halve that share."""
        size = self.cfg.batch_size
        wait_ms = int(self.cfg.batch_within_s * 1000)
        fetched = await self.consumer.getmany(timeout_ms=wait_ms, max_records=size)
        count = sum(map(len, fetched.values()))
        while count < size and self._behind(fetched):
            more = await self.consumer.getmany(timeout_ms=FETCH_MAX_WAIT_MS, max_records=size - count)
            if not more:
                break
            for tp, records in more.items():
                fetched[tp] = fetched.get(tp, []) + records
            count += sum(map(len, more.values()))
        return fetched

    def _behind(self, fetched: dict[TopicPartition, list]) -> bool:
        return any((self._lag(tp, records) or 0) > 0 for tp, records in fetched.items())

    def _lag(self, tp: TopicPartition, records: list) -> int | None:
        """Messages of the partition after the last of these records, as of the last fetch (None: unknown)."""
        end = self.consumer.highwater(tp)
        return None if end is None else end - (records[-1].offset + 1)

    def _observe_lag(self, fetched: dict[TopicPartition, list]) -> None:
        """Messages behind the end of each partition, as of this fetch (the operations view of a backlog)."""
        assigned = self.consumer.assignment()
        self._lags = {tp: lag for tp, lag in self._lags.items() if tp in assigned}
        for tp, records in fetched.items():
            if (lag := self._lag(tp, records)) is not None:
                self._lags[tp] = lag
        metrics.set_consumer_lag({(tp.topic, tp.partition): lag for tp, lag in self._lags.items()})

    def prepare(self, fetched: dict[TopicPartition, list], now: datetime) -> list[Prepared]:
        by_topic: dict[str, list] = defaultdict(list)
        for tp, records in fetched.items():
            by_topic[tp.topic] += records
        lookup = self.lookup()
        return [prepare(topic, records, lookup, now, self.limits) for topic, records in by_topic.items()]

    async def settle(self) -> None:
        """Wait for the batches in flight to be stored and committed."""
        while self._inflight:
            await self._wait_oldest()

    async def _wait_oldest(self) -> None:
        """Wait for the oldest batch in flight; it stays listed until done, so a rebalance that settles
        meanwhile waits for it too."""
        task = self._inflight[0]
        await asyncio.wait({task})
        if self._inflight and self._inflight[0] is task:
            self._inflight.popleft()
        task.result()  # a batch's failure is the loop's

    async def _store(
        self,
        parts: list[Prepared],
        offsets: dict[TopicPartition, int],
        now: datetime,
        before: asyncio.Task | None,
    ) -> None:
        try:
            started = time.perf_counter()
            stored = await self.sink.write(parts, now, windows.late_cutoff(now, self.risk))
            seconds = time.perf_counter() - started
            if stored.dead:
                await self.send_dead(stored.dead)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.critical(
                "a batch failed as a whole; stopping before its offsets move, so it is replayed",
                exc_info=True,
            )
            logging.shutdown()
            os._exit(BATCH_FAILED)
        if before is not None:  # offsets move in the order the batches were fetched
            await before
        try:
            await self.consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:  # partitions moved on: the new owner replays
            log.warning("offsets not committed (%s); the batch will be replayed, idempotently", exc)
        for part in parts:
            result = stored.results[part.topic]
            metrics.record_batch(part.topic, len(part.rows) + len(part.dead), result.inserted, seconds)
            metrics.record_late(part.topic, result.late)
            metrics.record_dead_letters(
                part.topic, [d.reason for d in stored.dead if d.source_topic == part.topic]
            )


GC_THRESHOLDS = (500_000, 50, 100)


def spare_the_collector() -> None:
    """Batches allocate about ten short-lived objects an event (records, structs, row tuples). At Python's
    default thresholds that starts a young collection every 70 events and, every few hundred thousand, a
    full one that walks the whole heap of a started worker (faust, shapely, the registry). Freezing the heap
    as it is once the worker has started, and collecting young objects every 50,000 allocations, took a
    third of the worker's CPU per event. Every 500,000 takes a tenth more off (worker CPU per reading 1.19
    → 1.03 of PostgreSQL's in three alternating drains of 300,000), most likely because a batch's rows
    live while up to three batches are stored: at 50,000 they outlived young collections into the middle
    generation, which is walked whole every 20 of them. Reference cycles are still collected (young ones
    at most 500,000 allocations late); memory stays bounded (``bench pipeline`` prints peak RSS)."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def dead_letter_sender(send) -> Callable[[list[DeadLetterRow]], Awaitable[None]]:
    """Wrap a topic's ``send`` (faust) into: copy these dead letters to the DLQ and wait for the acks."""

    async def send_dead(rows: list[DeadLetterRow]) -> None:
        pending = []
        for row in rows:
            key, value, headers = topic_copy(row)
            pending.append(await send(key=key, value=value, headers=headers))
        await asyncio.gather(*pending)
        for row in rows:
            log.warning(
                "dead letter %s from %s[%d]@%d: %s",
                row.reason,
                row.source_topic,
                row.source_partition,
                row.source_offset,
                row.detail,
                extra={
                    "topic": row.source_topic,
                    "reason": row.reason,
                    "partition": row.source_partition,
                    "offset": row.source_offset,
                },
            )

    return send_dead
