"""Publishing simulated traffic fast enough for a city's worst hour.

kafka-python is the producer the rest of citybrain uses (scenarios, the
CLI, adapters), but its per-record ``send`` costs about 70 µs of Python on
this class of machine, capping one process near 14,000 events/s. The
simulator must offer 50,000/s and more, so it builds whole record batches
with aiokafka's batch API (``create_batch`` / ``send_batch``, well over
500,000 events/s) and partitions keys with the same murmur2 partitioner as
kafka-python and the Java client, so a device's events land on the same
partition whoever sends them.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2

from citybrain import metrics

KEYS_REMEMBERED = 1 << 18  # every camera and sensor of a city like Chengdu, and the open cases


@lru_cache(maxsize=KEYS_REMEMBERED)
def key_hash(key: bytes) -> int:
    """The Java client's (and kafka-python's) partitioning hash of a key. Pure Python murmur2 costs about
    4 µs, as much as building the event; a city's keys repeat (devices, open cases), so it is remembered."""
    return murmur2(key) & 0x7FFFFFFF


class BatchPublisher:
    def __init__(self, bootstrap: str, client_id: str = "citybrain-sim") -> None:
        self.producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap.split(","),
            client_id=client_id,
            acks=1,
            linger_ms=0,
            max_batch_size=1024 * 1024,
        )
        self._partitions: dict[str, list[int]] = {}
        self._unacknowledged: list[asyncio.Future] = []

    async def start(self) -> None:
        await self.producer.start()

    async def stop(self) -> None:
        await self.producer.stop()

    async def _partitions_of(self, topic: str) -> list[int]:
        if topic not in self._partitions:
            self._partitions[topic] = sorted(await self.producer.partitions_for(topic))
        return self._partitions[topic]

    async def publish(self, messages: Iterable[tuple[str, bytes, bytes]], wait: bool = True) -> int:
        """Send (topic, key, value) messages; returns how many.

        With ``wait`` it returns once the broker has acknowledged them; without, the acknowledgements are
        collected for ``flush`` (a paced sender must not stall a slice on the previous one's round trip).
        """
        batches: dict[tuple[str, int], object] = {}
        pending = []
        sent = 0
        per_topic: Counter[str] = Counter()
        for topic, key, value in messages:
            parts = self._partitions.get(topic) or await self._partitions_of(topic)
            partition = parts[key_hash(key) % len(parts)]
            batch = batches.get((topic, partition))
            if batch is None:
                batch = batches[(topic, partition)] = self.producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None) is None:  # full: send it, start another
                pending.append(await self.producer.send_batch(batch, topic, partition=partition))
                batch = batches[(topic, partition)] = self.producer.create_batch()
                batch.append(key=key, value=value, timestamp=None)
            sent += 1
            per_topic[topic] += 1
        for (topic, partition), batch in batches.items():
            pending.append(await self.producer.send_batch(batch, topic, partition=partition))
        for topic, count in per_topic.items():  # one increment per topic and call, as handed to the broker
            metrics.SIM_EVENTS_SENT.labels(topic=topic).inc(count)
        self._unacknowledged += pending
        if wait:
            await self.flush()
        return sent

    async def flush(self) -> None:
        """Wait for every message sent so far to be acknowledged."""
        pending, self._unacknowledged = self._unacknowledged, []
        await asyncio.gather(*pending)
