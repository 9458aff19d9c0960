"""Batch writing that outlives a database outage.

When PostgreSQL is unreachable the write is retried with exponential
backoff, and the agent waits: the stream backs up in Kafka (offsets are not
acknowledged), nothing is dropped and the worker does not crash. The
connection is reopened on the next attempt.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime

import psycopg

from citybrain.store.risk import record_late
from citybrain.store.writer import BatchWriter, TableSpec, WriteResult

log = logging.getLogger("citybrain.stream")
MAX_BACKOFF_S = 30.0
OUTAGE = (psycopg.OperationalError, psycopg.InterfaceError)


class DurableSink:
    def __init__(self, database_url: str, spec: TableSpec, topic: str, first_backoff_s: float = 1.0) -> None:
        self.database_url = database_url
        self.spec = spec
        self.topic = topic
        self.first_backoff_s = first_backoff_s
        self._writer: BatchWriter | None = None

    def _write_once(self, rows: Sequence[tuple], late: list[str], now: datetime) -> WriteResult:
        if self._writer is None or self._writer.conn.closed:
            self._writer = BatchWriter(psycopg.connect(self.database_url), self.spec)
        result = self._writer.write(rows)
        if late:
            log.info("%s: %d events arrived after their window was final", self.topic, len(late))
            record_late(self._writer.conn, self.topic, now.replace(second=0, microsecond=0), late)
        return result

    async def write(self, rows: Sequence[tuple], late: list[str], now: datetime) -> WriteResult:
        delay = self.first_backoff_s
        while True:
            try:
                return await asyncio.to_thread(self._write_once, rows, late, now)
            except OUTAGE as exc:
                log.error("%s: database unavailable (%s); retrying the batch of %d in %.0f s",
                          self.topic, str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                          len(rows), delay)
                await asyncio.to_thread(self.close)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.conn.close()
            self._writer = None
