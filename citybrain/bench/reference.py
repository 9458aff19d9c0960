"""A minimal reference consumer: what a plain aiokafka + COPY loop achieves on the same backlog.

No faust, no framework: ``getmany`` of up to 20,000 records, orjson and dict
lookups against the sensor registry, the same batch writer (staging COPY,
``ON CONFLICT DO NOTHING``, rollups) in a thread while the next batch is
fetched. The worker's rate divided by this one says what citybrain's own
machinery costs.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from datetime import UTC, datetime

import orjson
import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition

from citybrain.events import SENSOR_SPECS, Topic
from citybrain.store.registry import load_lookup
from citybrain.store.writer import READINGS, BatchWriter
from citybrain.stream.consumer import FETCH_MAX_WAIT_MS


def _rows(records, sensors: dict[str, tuple[str, str]]) -> list[tuple]:
    rows = []
    for r in records:
        try:
            e = orjson.loads(r.value)
            district, kind = sensors[e["device_id"]]
            value = e["value"]
            unit, low, high = SENSOR_SPECS[kind]
            if (
                kind != e["kind"]
                or unit != e["unit"]
                or type(value) is not float
                or not low <= value <= high
                or not math.isfinite(value)
            ):
                continue
            rows.append(
                (
                    uuid.UUID(e["event_id"]),
                    datetime.fromisoformat(e["event_time"]),
                    e["device_id"],
                    district,
                    kind,
                    value,
                    unit,
                )
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            continue
    return rows


def drain(bootstrap: str, url: str, partitions: int, n: int) -> float:
    """Seconds for the reference consumer to store ``n`` readings from the start of the topic."""
    _, sensors, _ = load_lookup(url)

    async def run() -> float:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            group_id=None,
            fetch_max_bytes=64 * 1024 * 1024,
            max_partition_fetch_bytes=8 * 1024 * 1024,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,  # the same broker, so the same fetch as the worker's
        )
        await consumer.start()
        conn = psycopg.connect(url)
        writer = BatchWriter(conn, READINGS)
        try:
            parts = [TopicPartition(Topic.READINGS.value, p) for p in range(partitions)]
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            stored, pending, started = 0, None, time.perf_counter()
            while stored < n:
                batches = await consumer.getmany(timeout_ms=500, max_records=20_000)
                rows = [row for records in batches.values() for row in _rows(records, sensors)]
                if pending is not None:
                    stored += (await pending).inserted
                pending = (
                    asyncio.ensure_future(asyncio.to_thread(writer.write, rows, datetime.now(UTC)))
                    if rows
                    else None
                )
                if pending is None and not batches and stored < n:
                    await asyncio.sleep(0)
            return time.perf_counter() - started
        finally:
            conn.close()
            await consumer.stop()

    return asyncio.run(run())
