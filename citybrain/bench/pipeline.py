"""The whole pipeline against the machine's raw limits, measured in the same run.

Raw limits: how fast kafka-python can produce the events, how fast a bare
consumer can read them back (aiokafka, no processing), and how fast a bare
COPY writes the same rows. Then the real worker: throughput from the first
event sent to the last row stored, and event-to-database latency at a
steady, moderate rate.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition
from kafka import KafkaProducer

from citybrain.bench.ingest import bare_copy
from citybrain.bench.runner import scratch_database
from citybrain.events import SENSOR_SPECS, IoTReading, SensorKind, Topic
from citybrain.geo.city import City
from citybrain.geo.registry import Devices, build_registry
from citybrain.runtime import broker
from citybrain.runtime.supervisor import Supervisor, stop_process_group
from citybrain.settings import Settings
from citybrain.store.registry import seed_city

LATENCY_RATE = 200  # events/s during the latency phase
LATENCY_SECONDS = 5


def readings(sensors: Devices, n: int) -> list[tuple[str, bytes]]:
    now = datetime.now(UTC)
    out = []
    for i in range(n):
        j = i % len(sensors)
        kind = SensorKind(sensors.kind[j])
        unit, low, high = SENSOR_SPECS[kind]
        event = IoTReading(event_time=now, device_id=sensors.ids[j], kind=kind, value=(low + high) / 4, unit=unit)
        out.append((sensors.ids[j], event.to_bytes()))
    return out


def produce(bootstrap: str, messages: list[tuple[str, bytes]]) -> float:
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, batch_size=256 * 1024, acks=1)
    started = time.perf_counter()
    for key, value in messages:
        producer.send(Topic.READINGS.value, key=key.encode(), value=value)
    producer.flush()
    elapsed = time.perf_counter() - started
    producer.close()
    return elapsed


def consume_only(bootstrap: str, partitions: int, n: int) -> float:
    async def run() -> float:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                    fetch_max_bytes=16 * 1024 * 1024, max_partition_fetch_bytes=8 * 1024 * 1024)
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


def count_rows(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM readings").fetchone()[0]


def wait_for_rows(url: str, n: int, worker, timeout_s: float = 600.0) -> float:
    started = time.perf_counter()
    while count_rows(url) < n:
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with code {worker.returncode}")
        if time.perf_counter() - started > timeout_s:
            raise RuntimeError(f"the worker stored fewer than {n} rows in {timeout_s:.0f} s")
        time.sleep(0.05)
    return time.perf_counter()


def run(bootstrap: str, url: str, sensors: Devices, n: int, partitions: int,
        start_worker: Callable[[], object], echo: Callable[[str], None] = print) -> dict:
    # raw limits, on a topic of their own data
    messages = readings(sensors, n)
    t_produce = produce(bootstrap, messages)
    echo(f"  produce-only   {n / t_produce:>10,.0f} events/s")
    t_consume = consume_only(bootstrap, partitions, n)
    echo(f"  consume-only   {n / t_consume:>10,.0f} events/s")
    rows = [(uuid.uuid4(), datetime.now(UTC), sensors.ids[i % len(sensors)], sensors.district[i % len(sensors)],
             "pm25", 1.0, "ug/m3") for i in range(n)]
    with psycopg.connect(url) as conn:
        t_copy = bare_copy(conn, rows, 2000)
        conn.execute("TRUNCATE readings")
        conn.commit()
    echo(f"  COPY-only      {n / t_copy:>10,.0f} rows/s")

    # the pipeline: the worker drains the backlog the producer left
    worker = start_worker()
    try:
        first = wait_for_rows(url, 1, worker)  # the worker has joined its group and written a batch
        already = count_rows(url)
        done = wait_for_rows(url, n, worker)
        pipeline_rate = (n - already) / (done - first)
        echo(f"  pipeline       {pipeline_rate:>10,.0f} events/s (draining a backlog of {n:,})")
        # latency at a steady rate
        producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks=1)
        sent = 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < LATENCY_SECONDS:
            for key, value in readings(sensors, LATENCY_RATE // 10):
                producer.send(Topic.READINGS.value, key=key.encode(), value=value)
                sent += 1
            producer.flush()
            time.sleep(max(0.0, t0 + sent / LATENCY_RATE - time.perf_counter()))
        producer.close()
        wait_for_rows(url, n + sent, worker)
    finally:
        stop_process_group(worker, grace_s=5)
    with psycopg.connect(url) as conn:
        lat = [r[0] for r in conn.execute(
            "SELECT (extract(epoch FROM ingested_at - event_time) * 1000)::float8 FROM readings"
            " ORDER BY ingested_at DESC LIMIT %s", (sent,))]
    lat.sort()
    p50, p95 = statistics.median(lat), lat[int(0.95 * (len(lat) - 1))]
    echo(f"  event→database latency at {LATENCY_RATE}/s: p50 {p50:.0f} ms, p95 {p95:.0f} ms")
    rate = {"produce_only": n / t_produce, "consume_only": n / t_consume, "copy_only": n / t_copy,
            "pipeline": pipeline_rate}
    return {
        "benchmark": "pipeline",
        "events": n,
        "partitions": partitions,
        "events_per_s": {k: round(v) for k, v in rate.items()},
        "ratio_pipeline_to_consume_only": round(rate["pipeline"] / rate["consume_only"], 3),
        "ratio_pipeline_to_copy_only": round(rate["pipeline"] / rate["copy_only"], 3),
        "latency_ms": {"rate_per_s": LATENCY_RATE, "p50": round(p50, 1), "p95": round(p95, 1), "samples": len(lat)},
    }


def run_standalone(settings: Settings, n: int, echo: Callable[[str], None] = print) -> dict:
    """``run`` on a broker of its own and a scratch database seeded with the configured city."""
    city = City.load(settings.config_dir)
    cameras, sensors = build_registry(city, settings.cameras, settings.sensors, settings.seed)
    with tempfile.TemporaryDirectory(prefix="citybrain-bench-") as tmp, scratch_database(settings.database_url) as url:
        seed_city(url, city, cameras, sensors)
        proc, bootstrap = broker.start_embedded(broker.free_port(), Path(tmp) / "broker.log")
        try:
            broker.ensure_topics(bootstrap, settings.partitions)
            env = {**os.environ, "CITYBRAIN_DATABASE_URL": url, "CITYBRAIN_KAFKA_BOOTSTRAP": bootstrap,
                   "CITYBRAIN_WORKER_ID": f"bench-{uuid.uuid4().hex[:8]}"}
            supervisor = Supervisor(Path(tmp), env)

            def start_worker():
                return supervisor.start("worker", [sys.executable, "-m", "citybrain", "worker"]).proc

            return run(bootstrap, url, sensors, n, settings.partitions, start_worker, echo=echo)
        finally:
            stop_process_group(proc, grace_s=3)
