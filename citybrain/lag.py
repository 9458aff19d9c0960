"""Consumer lag as the broker sees it: the worker group's committed offsets against the end of each
partition of the input topics, read with kafka-python's admin client.

Lag measured here counts what is stored *and* committed: a batch the worker holds in memory still
counts as lag until its transaction has committed and its offsets have moved. The worker's own
``citybrain_consumer_lag`` metric measures from its fetch position instead. The dashboard reads this
through a cached reader (``dashboard/sources.py``), so many screens cost one broker round trip per
interval per process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from kafka import KafkaAdminClient, TopicPartition
from kafka.admin import OffsetSpec

from citybrain.events import TOPIC_MODELS

TIMEOUT_MS = 5000
T = TypeVar("T")


def ingest_group(worker_id: str) -> str:
    """The consumer group of the worker's ingest loop (see ``stream/app.py``)."""
    return f"{worker_id}-ingest"


INPUT_TOPICS = tuple(t.value for t in TOPIC_MODELS)


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int | None  # None: the group has committed nothing on this partition yet
    end: int  # the offset the next message will get
    lag: int  # messages not yet committed by the group


class LagProbe:
    """One admin client kept open between reads (and opened again after a failure)."""

    def __init__(self, bootstrap: str, group: str, topics: tuple[str, ...] = INPUT_TOPICS) -> None:
        self.bootstrap, self.group, self.topics = bootstrap, group, topics
        self._admin: KafkaAdminClient | None = None
        self._lock = threading.Lock()

    def read(self) -> list[PartitionLag]:
        return self._using(self._read)

    def committed(self, parts: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """The group's committed offset of each of ``parts`` (absent: nothing committed yet). One request
        where ``read`` makes four, for a caller that knows where the partitions end (a benchmark waiting
        for a backlog it produced, which must not take CPU from what it measures)."""
        wanted = [TopicPartition(topic, partition) for topic, partition in parts]

        def offsets(admin: KafkaAdminClient) -> dict[tuple[str, int], int]:
            marks = admin.list_group_offsets({self.group: wanted}).get(self.group, {})
            return {(tp.topic, tp.partition): m.offset for tp, m in marks.items() if m and m.offset >= 0}

        return self._using(offsets)

    def _using(self, request: Callable[[KafkaAdminClient], T]) -> T:
        with self._lock:
            try:
                if self._admin is None:
                    self._admin = KafkaAdminClient(
                        bootstrap_servers=self.bootstrap,
                        client_id="citybrain-lag",
                        request_timeout_ms=TIMEOUT_MS,
                    )
                return request(self._admin)
            except Exception:
                self.close_unlocked()
                raise

    def _read(self, admin: KafkaAdminClient) -> list[PartitionLag]:
        parts = [
            TopicPartition(t["name"], p["partition_index"])
            for t in admin.describe_topics(list(self.topics))
            if not t.get("error_code")
            for p in t["partitions"]
        ]
        if not parts:
            return []
        ends = admin.list_partition_offsets({tp: OffsetSpec.LATEST for tp in parts})
        starts = admin.list_partition_offsets({tp: OffsetSpec.EARLIEST for tp in parts})
        committed = admin.list_group_offsets({self.group: parts}).get(self.group, {})
        out = []
        for tp in sorted(parts):
            mark = committed.get(tp)
            done = mark.offset if mark is not None and mark.offset >= 0 else None
            # the group never commits past the end; a broker that reports the end of a partition too low
            # (the embedded one may count a producer's batch as one record) is corrected by the commit
            end = max(ends[tp].offset, done or 0)
            out.append(
                PartitionLag(
                    tp.topic,
                    tp.partition,
                    done,
                    end,
                    max(end - (done if done is not None else starts[tp].offset), 0),
                )
            )
        return out

    def close_unlocked(self) -> None:
        if self._admin is not None:
            try:
                self._admin.close()
            finally:
                self._admin = None

    def close(self) -> None:
        with self._lock:
            self.close_unlocked()
