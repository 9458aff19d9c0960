"""One transaction per batch, across tables, that outlives a database outage.

A batch's rows for every input table and its dead letters (those found while
preparing it, and those only the database can find: conflicting duplicates
and rows it refuses) are committed together; only then may the consumer
commit the batch's offsets. When PostgreSQL is unreachable the batch is
retried with exponential backoff on a fresh connection: the stream waits in
Kafka, nothing is dropped and the worker does not crash.

The sink has ``LANES`` connections, so a batch's step 1 (inserting its new
rows, store/writer.py) runs while the batch before it holds the step-2 lock:
on two cores that overlap is what takes a table whose batches fold into
current state (cameras, cases) past 50,000 events/s. With three, the next
batch stages while one waits for the lock and another holds it (case events
45,000–51,000 events/s with two lanes, 60,000 with three, in alternating
runs on the same machine). Step 1's insert still runs in the order the
batches were fetched (``_Turns``), so of two events reusing an id with other
content the one delivered first is stored and the other dead-lettered, as
with one batch at a time. Only the insert waits for its turn: the COPY into
the session's staging table before it and the reduction for the fold after
it touch nothing another batch reads (draining 300,000 events, alternating
runs: camera status 54,000–55,000 → 65,000–66,000 events/s, readings
80,000–84,000 → 84,000–96,000; case events 52,000–54,000 → 46,000–59,000).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import psycopg

from citybrain.store import dead_letters
from citybrain.store.dead_letters import DeadLetterRow
from citybrain.store.writer import BatchWriter, TableSpec, WriteResult, lock_apply
from citybrain.stream.dlq import stored
from citybrain.stream.ingest import DeadLetter, Prepared

log = logging.getLogger("citybrain.stream")
MAX_BACKOFF_S = 30.0
LANES = 3  # batches stored at once; step 2 is one at a time anyway, so more would only wait
OUTAGE = (psycopg.OperationalError, psycopg.InterfaceError)


def _why(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@dataclass
class Stored:
    """What one committed batch did."""

    results: dict[str, WriteResult] = field(default_factory=dict)  # topic → result
    dead: list[DeadLetterRow] = field(default_factory=list)

    @property
    def inserted(self) -> int:
        return sum(r.inserted for r in self.results.values())

    @property
    def late(self) -> int:
        return sum(r.late for r in self.results.values())


class _Lane:
    """One connection and its table writers; used by one batch at a time."""

    def __init__(self, database_url: str, tables: dict[str, TableSpec]) -> None:
        self.database_url = database_url
        self.tables = tables
        self.conn: psycopg.Connection | None = None
        self.writers: dict[str, BatchWriter] = {}

    def connect(self) -> psycopg.Connection:
        if self.conn is None or self.conn.closed:
            self.conn = psycopg.connect(self.database_url)
            self.writers = {topic: BatchWriter(self.conn, spec) for topic, spec in self.tables.items()}
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class _Turns:
    """Step 1 of the batches in the order they were fetched: a batch stages its rows only once every batch
    fetched before it has (their rows are then in the table, uncommitted, and a reuse of their ids waits for
    them). A batch whose transaction fails (an outage) takes its turn back, so it stages again before those
    after it that have not staged yet — whatever the batches beside it did meanwhile: the turns are the set
    of tickets still to stage, not a counter a late step back could leave behind a finished batch."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._issued = 0
        self._to_stage: set[int] = set()  # at most a few: the batches in flight

    def ticket(self) -> int:
        with self._changed:
            self._issued += 1
            self._to_stage.add(self._issued - 1)
            return self._issued - 1

    def wait(self, ticket: int) -> None:
        with self._changed:
            self._changed.wait_for(lambda: all(t >= ticket for t in self._to_stage))

    def done(self, ticket: int) -> None:
        with self._changed:
            self._to_stage.discard(ticket)
            self._changed.notify_all()

    def again(self, ticket: int) -> None:
        with self._changed:
            self._to_stage.add(ticket)


class DurableSink:
    def __init__(
        self, database_url: str, tables: dict[str, TableSpec], max_payload: int, first_backoff_s: float = 1.0
    ) -> None:
        self.max_payload = max_payload
        self.first_backoff_s = first_backoff_s
        self._lanes = [_Lane(database_url, tables) for _ in range(LANES)]
        self._free: asyncio.Queue[_Lane] = asyncio.Queue()
        for lane in self._lanes:
            self._free.put_nowait(lane)
        self._turns = _Turns()

    def connect(self) -> None:
        """Open every lane's connection and writers now, so the first batches after a start do not wait for
        them (about 30 ms a lane). A lane the database refuses now connects with its first batch, which
        waits out the outage."""
        for lane in self._lanes:
            try:
                lane.connect()
            except OUTAGE as exc:
                lane.close()
                log.warning("database unavailable at start (%s); the first batches will retry", _why(exc))
                return

    def write_once(
        self, parts: Sequence[Prepared], now: datetime, late_cutoff: datetime, lane: _Lane, turn: int
    ) -> Stored:
        try:
            return self._write_once(parts, now, late_cutoff, lane, turn)
        except BaseException:
            self._turns.again(turn)
            raise

    def _write_once(
        self, parts: Sequence[Prepared], now: datetime, late_cutoff: datetime, lane: _Lane, turn: int
    ) -> Stored:
        conn = lane.connect()
        out = Stored()
        with conn.transaction():
            writers = [(part, lane.writers[part.topic]) for part in parts]
            loaded = {part.topic: writer.load(part.rows) for part, writer in writers}  # own tables only
            self._turns.wait(turn)
            staged = {part.topic: writer.stage(part.rows, loaded[part.topic]) for part, writer in writers}
            self._turns.done(turn)
            for part, writer in writers:
                writer.reduce(staged[part.topic])
            lock_apply(conn)
            letters: list[DeadLetter] = []
            for part, writer in writers:
                result = writer.apply(staged[part.topic], now, late_cutoff)
                out.results[part.topic] = result
                letters += part.dead
                letters += [
                    DeadLetter(
                        part.sources[i],
                        "conflicting_duplicate",
                        "an event with this event_id and event_time is stored with other content",
                    )
                    for i in result.conflicts
                ]
                letters += [DeadLetter(part.sources[i], "db_rejected", why) for i, why in result.rejected]
            out.dead = [stored(d, self.max_payload) for d in letters]
            dead_letters.insert(conn, out.dead)
        return out

    async def write(self, parts: Sequence[Prepared], now: datetime, late_cutoff: datetime) -> Stored:
        """Store one batch on a free lane (waits for one), retrying it through an outage. Batches must be
        handed over in the order they were fetched."""
        turn = self._turns.ticket()
        lane = await self._free.get()
        try:
            return await self._write(lane, parts, now, late_cutoff, turn)
        finally:
            self._turns.done(turn)  # also when cancelled at shutdown: the batches after it must not wait
            self._free.put_nowait(lane)

    async def _write(
        self, lane: _Lane, parts: Sequence[Prepared], now: datetime, late_cutoff: datetime, turn: int
    ) -> Stored:
        delay = self.first_backoff_s
        while True:
            try:
                return await asyncio.to_thread(self.write_once, parts, now, late_cutoff, lane, turn)
            except OUTAGE as exc:
                log.error(
                    "database unavailable (%s); retrying the batch of %d events in %.0f s",
                    _why(exc),
                    sum(len(p.rows) + len(p.dead) for p in parts),
                    delay,
                )
                await asyncio.to_thread(lane.close)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)

    def close(self) -> None:
        for lane in self._lanes:
            lane.close()
