"""The whole pipeline against the machine's raw limits, measured in the same run.

Raw limits: how fast kafka-python can produce the events, how fast a bare
consumer can read them back (aiokafka, no processing), and how fast a bare
COPY writes the same rows. Then the real worker draining a backlog of each
input topic (timed from partition assignment to the last row stored and
its offset committed), a minimal reference consumer on the same readings
backlog, two workers on another of its size, event-to-database latency at
Chengdu's live load and at ten times it, and the worker's peak memory.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition
from kafka import KafkaProducer

from citybrain.bench import reference
from citybrain.bench.ingest import bare_copy
from citybrain.bench.runner import scratch_databases
from citybrain.bench.wall_latency import flood_to_wall
from citybrain.events import SENSOR_SPECS, CameraStatus, CaseEvent, IoTReading, SensorKind, Topic
from citybrain.geo.city import City
from citybrain.geo.registry import Devices, build_registry
from citybrain.lag import INPUT_TOPICS, LagProbe, ingest_group
from citybrain.runtime import broker
from citybrain.runtime.supervisor import Supervisor, stop_process_group
from citybrain.settings import Settings
from citybrain.sim import city_sim
from citybrain.sim.city_sim import BASELINE, CitySimulator  # BASELINE: a healthy city's levels
from citybrain.sim.publish import BatchPublisher
from citybrain.store.registry import seed_city
from citybrain.store.writer import TABLES

TABLES_TO_TOPICS = {spec.name: topic for topic, spec in TABLES.items()}

LIVE_RATE = 2_000  # events/s: Chengdu's live load
LIVE_SPACING = timedelta(seconds=1 / LIVE_RATE)
LATENCY_RATES = (LIVE_RATE, 10 * LIVE_RATE)
LATENCY_SECONDS = 5
BACKLOG_EVENTS = (
    1_000_000  # a 30-minute outage at Chengdu's 2,000 events/s is 3.6 million; memory must stay flat
)


STAMP = datetime(2000, 1, 1, tzinfo=UTC)  # stands in for the send time in latency messages
STAMP_JSON = b'"2000-01-01T00:00:00Z"'


def sent_times(n: int, end: datetime | None = None) -> list[datetime]:
    """When ``n`` events of a backlog happened, in order, at Chengdu's live rate up to ``end`` (now): a
    backlog is what the city sent while nobody consumed it (the COPY-only rows are in time order too)."""
    end = end or datetime.now(UTC)
    return [end - (n - 1 - i) * LIVE_SPACING for i in range(n)]


def readings(
    sensors: Devices, n: int, at: datetime | None = None, end: datetime | None = None
) -> list[tuple[str, bytes]]:
    """``n`` readings: all at ``at`` (stamped with their send time later), else a backlog up to ``end``."""
    times = [at] * n if at else sent_times(n, end)
    out = []
    for i in range(n):
        j = i % len(sensors)
        kind = SensorKind(sensors.kind[j])
        unit = SENSOR_SPECS[kind][0]
        event = IoTReading(
            event_time=times[i], device_id=sensors.ids[j], kind=kind, value=BASELINE[kind][0], unit=unit
        )
        out.append((sensors.ids[j], event.to_bytes()))
    return out


def camera_reports(cameras: Devices, n: int) -> list[tuple[str, bytes]]:
    times = sent_times(n)
    return [
        (
            str(cameras.ids[i % len(cameras)]),
            CameraStatus(
                event_time=times[i],
                camera_id=str(cameras.ids[i % len(cameras)]),
                status="offline" if i % 7 == 0 else "online",
            ).to_bytes(),
        )
        for i in range(n)
    ]


def case_events(cameras: Devices, n: int) -> list[tuple[str, bytes]]:
    """Whole lifecycles: created, assigned, resolved, closed (the fold's realistic work)."""
    times = sent_times(n)
    out = []
    stages = ("created", "assigned", "resolved", "closed")
    for i in range(n):
        case, stage = f"bench-{i // 4}", stages[i % 4]
        extra = (
            {"deadline": times[i] + timedelta(hours=4)}
            if stage == "created"
            else {"satisfaction": 5}
            if stage == "closed"
            else {"assignee": "unit-7"}
            if stage == "assigned"
            else {}
        )
        e = CaseEvent(
            event_time=times[i],
            case_id=case,
            type=stage,
            category="noise",
            district=str(cameras.district[(i // 4) % len(cameras)]),
            **extra,
        )
        out.append((case, e.to_bytes()))
    return out


def running_city(url: str) -> None:
    """Every camera has reported before, as in a city that has been running: a backlog's reports then mostly
    confirm a status (each camera's first report ever, from no status at all, happens once)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "UPDATE cameras SET status = 'online', status_since = now() - interval '1 day',"
            " status_time = now() - interval '1 day'"
        )
        conn.execute("VACUUM ANALYZE cameras")


def produce(bootstrap: str, topic: str, messages: list[tuple[str, bytes]]) -> float:
    # the plain producer's own ceiling, leader acknowledgement only (idempotence would need acks=all)
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=5, batch_size=256 * 1024, acks=1, enable_idempotence=False
    )
    started = time.perf_counter()
    for key, value in messages:
        producer.send(topic, key=key.encode(), value=value)
    producer.flush()
    elapsed = time.perf_counter() - started
    producer.close()
    return elapsed


def consume_only(bootstrap: str, partitions: int, n: int) -> float:
    async def run() -> float:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            group_id=None,
            fetch_max_bytes=16 * 1024 * 1024,
            max_partition_fetch_bytes=8 * 1024 * 1024,
        )
        await consumer.start()
        try:
            parts = [TopicPartition(Topic.READINGS.value, p) for p in range(partitions)]
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            got, started = 0, time.perf_counter()
            while got < n:
                batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
                got += sum(len(records) for records in batches.values())
            return time.perf_counter() - started
        finally:
            await consumer.stop()

    return asyncio.run(run())


def copy_only(url: str, rows: list[tuple]) -> float:
    """Rows/s of a bare COPY of the rows into an empty table like ``readings`` (its columns, defaults and
    key), dropped after: ``readings`` keeps the worker's rows, which later phases count."""
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE copy_only (LIKE readings INCLUDING ALL)")
        conn.commit()
        try:
            return len(rows) / bare_copy(conn, rows, 20_000, table="copy_only")
        finally:
            conn.execute("DROP TABLE copy_only")
            conn.commit()


def count_rows(url: str, table: str = "readings") -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


HELD = re.compile(r"[\w.-]+\[\d+\]")


def held_partitions(log: Path) -> frozenset[str] | None:
    """The partitions a worker said it holds last (``topic[n]`` names), or None before it said any."""
    lines = [line for line in log.read_text(errors="replace").splitlines() if "ingest partitions:" in line]
    return frozenset(HELD.findall(lines[-1].split("ingest partitions:", 1)[1])) if lines else None


class Workers:
    """Worker processes of one run, their peak memory, and the moment they can consume."""

    def __init__(
        self, start: Callable[[str, str], tuple[object, Path]], partitions: int, bootstrap: str
    ) -> None:
        self.start_one = start
        self.bootstrap = bootstrap
        self.all_partitions = len(INPUT_TOPICS) * partitions
        self.procs: list = []
        self.peak_rss = 0

    def start(self, url: str, group: str, n: int = 1) -> float:
        """Start ``n`` workers; returns once they have split every input partition between them
        (perf_counter time). With two or more, the first to join takes everything and gives some back when
        the next joins: timing from the first assignment would count that rebalance as draining time."""
        started = [self.start_one(url, group) for _ in range(n)]
        self.procs += [proc for proc, _ in started]
        deadline = time.perf_counter() + 120
        while True:
            held = [held_partitions(log) for _, log in started]
            if (
                None not in held
                and len(frozenset().union(*held)) == sum(map(len, held)) == self.all_partitions
            ):
                return time.perf_counter()
            self.check()
            if time.perf_counter() > deadline:
                raise RuntimeError(f"the workers did not split the partitions within 120 s: {held}")
            time.sleep(0.01)

    def check(self) -> None:
        for proc in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"a worker exited with code {proc.returncode}")
            try:
                self.peak_rss = max(self.peak_rss, psutil.Process(proc.pid).memory_info().rss)
            except psutil.NoSuchProcess:
                pass

    def wait_for_rows(self, url: str, table: str, n: int, timeout_s: float = 900.0) -> float:
        started = time.perf_counter()
        while count_rows(url, table) < n:
            self.check()
            if time.perf_counter() - started > timeout_s:
                raise RuntimeError(f"the worker stored fewer than {n} rows in {table} in {timeout_s:.0f} s")
            time.sleep(0.02)
        return time.perf_counter()

    def wait_for_commits(self, group: str, tables: Iterable[str], timeout_s: float = 900.0) -> None:
        """Until the workers' group has committed every offset of the tables' topics (a worker commits a
        batch's offsets once its transaction has committed). Where the backlog ends is read once (it is on
        the broker before the workers start); then each poll is one small request for the group's offsets:
        reading the whole lag every 20 ms took a sixth of a core from the two being measured, and counting
        rows would take a quarter."""
        topics = tuple(TABLES_TO_TOPICS[table] for table in tables)
        probe = LagProbe(self.bootstrap, ingest_group(group), topics)
        started = time.perf_counter()
        try:
            ends = {(p.topic, p.partition): p.end for p in probe.read() if p.lag}
            while ends:
                self.check()
                if time.perf_counter() - started > timeout_s:
                    raise RuntimeError(f"the workers did not commit {', '.join(topics)} in {timeout_s:.0f} s")
                time.sleep(0.02)
                done = probe.committed(ends)
                ends = {part: end for part, end in ends.items() if done.get(part, -1) < end}
        finally:
            probe.close()

    def stop(self) -> None:
        for proc in self.procs:
            stop_process_group(proc, grace_s=5)
        self.procs = []


def drain(workers: Workers, url: str, group: str, expected: dict[str, int], count: int = 1) -> float:
    """Events/s for ``count`` fresh workers to store a backlog (table → the rows it must reach), from the
    moment they hold their partitions to the moment the rows are counted (after the commits are seen)."""

    def stored() -> int:
        return sum(count_rows(url, table) for table in expected)

    before = stored()
    ready = workers.start(url, group, count)
    if count > 1:  # the first drains alone until the last has joined and the partitions are split
        before = stored()
    workers.wait_for_commits(group, expected)
    done = max(workers.wait_for_rows(url, table, n) for table, n in expected.items())
    workers.stop()
    return (sum(expected.values()) - before) / (done - ready)


def latency(
    bootstrap: str,
    url: str,
    workers: Workers,
    sensors: Devices,
    rate: int,
    group: str,
    seconds: float = LATENCY_SECONDS,
) -> dict:
    """p50/p95 event→database latency while producing ``rate`` readings a second for ``seconds``."""
    workers.start(url, group)
    before = count_rows(url)
    messages = [(key.encode(), value) for key, value in readings(sensors, int(rate * seconds), at=STAMP)]
    offered = asyncio.run(_offer(bootstrap, messages, rate))
    workers.wait_for_commits(group, ["readings"])
    workers.wait_for_rows(url, "readings", before + len(messages))
    workers.stop()
    with psycopg.connect(url) as conn:
        lat = sorted(
            r[0]
            for r in conn.execute(
                "SELECT (extract(epoch FROM ingested_at - event_time) * 1000)::float8 FROM readings"
                " ORDER BY ingested_at DESC LIMIT %s",
                (len(messages),),
            )
        )
    return {
        "rate_per_s": rate,
        "offered_per_s": round(offered),
        "samples": len(lat),
        "p50": round(statistics.median(lat), 1),
        "p95": round(lat[int(0.95 * (len(lat) - 1))], 1),
    }


async def _offer(bootstrap: str, messages: list[tuple[bytes, bytes]], rate: int) -> float:
    """Send at ``rate`` a second in 10 ms slices, each stamped with its send time; returns the rate achieved.

    Uses the simulator's batch publisher: kafka-python alone cannot offer 20,000 events/s here.
    """
    publisher = BatchPublisher(bootstrap, client_id="citybrain-bench")
    await publisher.start()
    try:
        t0 = time.perf_counter()
        step = max(1, rate // 100)
        for i in range(0, len(messages), step):
            now = b'"' + datetime.now(UTC).isoformat().encode() + b'"'
            await publisher.publish(
                (
                    (Topic.READINGS.value, key, value.replace(STAMP_JSON, now))
                    for key, value in messages[i : i + step]
                ),
                wait=False,
            )
            await asyncio.sleep(max(0.0, t0 + (i + step) / rate - time.perf_counter()))
        await publisher.flush()
        return len(messages) / (time.perf_counter() - t0)
    finally:
        await publisher.stop()


def publish_backlog(bootstrap: str, sensors: Devices, n: int, chunk: int = 100_000) -> None:
    """Put ``n`` readings on the broker in chunks (the simulator's batch publisher), so a backlog of millions
    costs the benchmark a chunk of memory, not the whole backlog."""

    async def run() -> None:
        publisher = BatchPublisher(bootstrap, client_id="citybrain-bench")
        await publisher.start()
        try:
            end = datetime.now(UTC)
            for start in range(0, n, chunk):
                size = min(chunk, n - start)  # one backlog in time order, up to now
                messages = readings(sensors, size, end=end - (n - start - size) * LIVE_SPACING)
                await publisher.publish((Topic.READINGS.value, k.encode(), v) for k, v in messages)
        finally:
            await publisher.stop()

    asyncio.run(run())


def backlog(
    bootstrap: str, url: str, workers: Workers, sensors: Devices, n: int, stored: dict[str, int]
) -> dict:
    """A fresh worker draining everything on the input topics (``stored``: table → events already there)
    plus ``n`` more readings, as after an outage: its rate and its peak memory, which must not grow with the
    backlog (batches are capped at CITYBRAIN_BATCH_SIZE records)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE readings, camera_status, case_events")
    publish_backlog(bootstrap, sensors, n)
    expected = {**stored, "readings": stored["readings"] + n}
    earlier_peak, workers.peak_rss = workers.peak_rss, 0
    rate = drain(workers, url, f"bench-{uuid.uuid4().hex[:8]}", expected)
    peak, workers.peak_rss = workers.peak_rss, earlier_peak
    return {
        "events": sum(expected.values()),
        "events_per_s": round(rate),
        "worker_peak_rss_mib": round(peak / 2**20, 1),
    }


SIMULATOR_RATE = 50_000  # the bar: a city's worst hour, offered by `citybrain simulate`


def simulator_rate(
    bootstrap: str, cameras: Devices, sensors: Devices, rate: int, seconds: float
) -> city_sim.Sent:
    """Events/s `citybrain simulate --rate RATE` actually sends (its own loop and publisher, in this
    process): it makes each step's events for the time since the last, so a simulator that cannot keep up
    falls behind the clock and sends less than asked."""
    sim = CitySimulator(cameras, sensors, rate=rate)  # cases at the city's own rate, as `simulate` sends
    return city_sim.run(sim, bootstrap, duration_s=seconds)


WALL_REFRESH_S = 2.0


def _p50_p95(seconds: list[float]) -> str:
    if not seconds:
        return "never"
    ordered = sorted(seconds)
    return f"p50 {statistics.median(ordered):.1f} s, p95 {ordered[int(0.95 * (len(ordered) - 1))]:.1f} s"


FLOOD_DISTRICTS = ("510114", "510116", "510107")  # Xindu, Shuangliu, Wuhou


def to_screen(bootstrap: str, url: str, workers: Workers, sensors: Devices, group: str, floods: int) -> list:
    """Floods in ``floods`` districts, each timed from its first event to the wall showing it.

    See ``wall_latency``: the wall's own cached readers, polled at a screen's refresh interval.
    """
    workers.start(url, group)
    try:
        return [
            flood_to_wall(bootstrap, url, sensors, d, refresh_s=WALL_REFRESH_S)
            for d in FLOOD_DISTRICTS[:floods]
        ]
    finally:
        workers.stop()


def run(
    bootstrap: str,
    urls: list[str],
    cameras: Devices,
    sensors: Devices,
    n: int,
    partitions: int,
    start_worker: Callable[[str, str], tuple[object, Path]],
    echo: Callable[[str], None] = print,
    latency_rates: tuple[int, ...] = LATENCY_RATES,
    latency_s: float = LATENCY_SECONDS,
    floods: int = len(FLOOD_DISTRICTS),
    backlog_events: int = BACKLOG_EVENTS,
    simulator: tuple[int, float] = (SIMULATOR_RATE, 10.0),
) -> dict:
    """All phases; ``urls`` are three seeded scratch databases (the workers, the reference consumer, the
    fresh worker draining the backlog after an outage)."""
    url, ref_url, outage_url = urls
    for each in urls:
        running_city(each)
    workers = Workers(start_worker, partitions, bootstrap)
    rate: dict[str, float] = {}
    try:
        # raw limits, on the readings backlog the worker drains next
        t = produce(bootstrap, Topic.READINGS.value, readings(sensors, n))
        rate["produce_only"] = n / t
        echo(f"  produce-only      {rate['produce_only']:>10,.0f} events/s")
        rate["consume_only"] = n / consume_only(bootstrap, partitions, n)
        echo(f"  consume-only      {rate['consume_only']:>10,.0f} events/s")
        rows = [
            (
                uuid.uuid4(),
                datetime.now(UTC),
                sensors.ids[i % len(sensors)],
                sensors.district[i % len(sensors)],
                "pm25",
                1.0,
                "ug/m3",
            )
            for i in range(n)
        ]
        # the machine's speed drifts by a third over minutes: the bare COPY just before the worker drains the
        # same number of readings and again just after, and the worker's ratio is to the mean of the two
        copies = [copy_only(url, rows)]
        echo(f"  COPY-only         {copies[0]:>10,.0f} rows/s (before the worker's readings)")

        # the worker drains each input topic's backlog (one group, restarted between topics)
        group = f"bench-{uuid.uuid4().hex[:8]}"
        rate["worker_readings"] = drain(workers, url, group, {"readings": n})
        echo(f"  worker, readings  {rate['worker_readings']:>10,.0f} events/s (backlog of {n:,})")
        copies.append(copy_only(url, rows))
        rate["copy_only"] = statistics.mean(copies)
        echo(f"  COPY-only again   {copies[1]:>10,.0f} rows/s (after; mean {rate['copy_only']:,.0f})")
        produce(bootstrap, Topic.CAMERA_STATUS.value, camera_reports(cameras, n))
        rate["worker_cameras"] = drain(workers, url, group, {"camera_status": n})
        echo(f"  worker, cameras   {rate['worker_cameras']:>10,.0f} events/s (backlog of {n:,})")
        n_cases = max(4, n // 4 * 4)  # whole lifecycles
        produce(bootstrap, Topic.CASE_EVENTS.value, case_events(cameras, n_cases))
        rate["worker_cases"] = drain(workers, url, group, {"case_events": n_cases})
        echo(f"  worker, cases     {rate['worker_cases']:>10,.0f} events/s (backlog of {n_cases:,})")

        # the same readings backlog through the minimal reference consumer; then two workers of the same
        # group on another of the same size (a fresh group would drain every topic, not only readings)
        rate["reference"] = n / reference.drain(bootstrap, ref_url, partitions, n)
        echo(f"  reference         {rate['reference']:>10,.0f} events/s (plain aiokafka + COPY)")
        publish_backlog(bootstrap, sensors, n)
        rate["two_workers"] = drain(workers, url, group, {"readings": 2 * n}, count=2)
        echo(f"  two workers       {rate['two_workers']:>10,.0f} events/s (backlog of {n:,} readings)")

        lat = [latency(bootstrap, url, workers, sensors, r, group, latency_s) for r in latency_rates]
        screen = to_screen(bootstrap, url, workers, sensors, group, floods)
        for entry in lat:
            echo(
                f"  event→database at {entry['rate_per_s']:,}/s (offered {entry['offered_per_s']:,}/s):"
                f" p50 {entry['p50']:.0f} ms, p95 {entry['p95']:.0f} ms"
            )
        echo(
            f"  event→screen (floods, wall refresh {WALL_REFRESH_S:g} s): district coloured"
            f" {_p50_p95([r.incident_s for r in screen])}; critical alert listed"
            f" {_p50_p95([r.alert_s for r in screen if r.alert_s is not None])}"
        )
        after_outage = None
        if backlog_events:
            # every event on the topics so far is stored once in the first database (unique event ids)
            stored = {table: count_rows(url, table) for table in ("readings", "camera_status", "case_events")}
            after_outage = backlog(bootstrap, outage_url, workers, sensors, backlog_events, stored)
            echo(
                f"  backlog of {after_outage['events']:,} on all topics: {after_outage['events_per_s']:,}"
                f" events/s, worker peak RSS {after_outage['worker_peak_rss_mib']:,.0f} MiB"
            )
        # last: nothing consumes what the simulator sends here
        sim_rate, sim_s = simulator
        sim = simulator_rate(bootstrap, cameras, sensors, sim_rate, sim_s)
        rate["simulator"] = sim.per_s
        echo(
            f"  simulate --rate {sim_rate:,}: {sim.per_s:>10,.0f} events/s sent over {sim.seconds:.1f} s,"
            f" {sim.behind_s:.2f} s behind the clock at the end"
        )
        peak_rss = workers.peak_rss
        echo(f"  worker peak RSS   {peak_rss / 2**20:>10,.0f} MiB (backlogs of {n:,} and live load)")
    finally:
        workers.stop()
    worker = rate["worker_readings"]
    return {
        "benchmark": "pipeline",
        "events": n,
        "partitions": partitions,
        "events_per_s": {k: round(v) for k, v in rate.items()},
        "ratio_worker_to_consume_only": round(worker / rate["consume_only"], 3),
        "copy_only_rows_per_s": [round(c) for c in copies],
        "ratio_worker_to_copy_only": round(worker / rate["copy_only"], 3),
        "ratio_worker_to_reference": round(worker / rate["reference"], 3),
        "ratio_two_workers_to_one": round(rate["two_workers"] / worker, 3),
        "latency_ms": lat,
        "event_to_screen_s": [
            {"incident": round(r.incident_s, 2), "alert": None if r.alert_s is None else round(r.alert_s, 2)}
            for r in screen
        ],
        "worker_peak_rss_mib": round(peak_rss / 2**20, 1),
        "backlog": after_outage,
        "simulator_behind_clock_s": round(sim.behind_s, 3),
    }


def run_standalone(settings: Settings, n: int, echo: Callable[[str], None] = print, **options) -> dict:
    """``run`` on a broker of its own and three scratch databases seeded with the configured city."""
    # this process is starved of CPU on purpose while workers drain: its admin client's "a task blocked the
    # event loop" warnings would say nothing about the system measured
    logging.getLogger("kafka.net.selector").setLevel(logging.ERROR)
    city = City.load(settings.config_dir)
    cameras, sensors = build_registry(city, settings.cameras, settings.sensors, settings.seed)
    with (
        tempfile.TemporaryDirectory(prefix="citybrain-bench-") as tmp,
        scratch_databases(settings.database_url, 3) as urls,
    ):
        for url in urls:
            seed_city(url, city, cameras, sensors)
        proc, bootstrap = broker.start_embedded(broker.free_port(), Path(tmp) / "broker.log")
        try:
            broker.ensure_topics(bootstrap, settings.partitions)
            supervisor = Supervisor(Path(tmp), dict(os.environ))
            starts = iter(range(1_000_000))

            def start_worker(url: str, group: str) -> tuple[object, Path]:
                supervisor.env.update(
                    CITYBRAIN_DATABASE_URL=url, CITYBRAIN_KAFKA_BOOTSTRAP=bootstrap, CITYBRAIN_WORKER_ID=group
                )
                child = supervisor.start(
                    f"worker-{next(starts)}", [sys.executable, "-m", "citybrain", "worker"]
                )
                return child.proc, child.log_path

            return run(
                bootstrap, urls, cameras, sensors, n, settings.partitions, start_worker, echo=echo, **options
            )
        finally:
            stop_process_group(proc, grace_s=3)
