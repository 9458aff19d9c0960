"""The database goes away under a running worker: nothing is lost and the worker does not crash."""

import time
import uuid
from datetime import UTC, datetime

import psycopg
from kafka import KafkaProducer

from citybrain.events import CameraStatus, Topic
from citybrain.runtime.broker import ensure_topics
from citybrain.runtime.database import start_embedded
from citybrain.runtime.supervisor import stop_process_group
from citybrain.store.migrate import migrate
from citybrain.store.registry import seed_city
from tests.helpers import start_citybrain, wait_until


def send_status(bootstrap, cameras, status):
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for cam in cameras:
        event = CameraStatus(event_time=datetime.now(UTC), camera_id=cam, status=status)
        producer.send(Topic.CAMERA_STATUS.value, key=cam.encode(), value=event.to_bytes())
    producer.flush()
    producer.close()


def stored(url) -> int:
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            return conn.execute("SELECT count(*) FROM camera_status").fetchone()[0]
    except psycopg.OperationalError:
        return -1


def test_worker_waits_out_a_database_outage_and_loses_nothing(bootstrap, city, registry, tmp_path):
    server, url = start_embedded(tmp_path / "own")  # a server of its own, to stop and start
    migrate(url)
    seed_city(url, city, *registry)
    ensure_topics(bootstrap, 2)
    log = tmp_path / "worker.log"
    worker = start_citybrain(
        ["worker"],
        log,
        kafka_bootstrap=bootstrap,
        database_url=url,
        partitions=2,
        worker_id=f"outage-{uuid.uuid4().hex[:8]}",
        batch_within_s=0.2,
    )
    cams = list(registry[0].ids[:200])
    try:
        send_status(bootstrap, cams[:100], "offline")
        wait_until(lambda: stored(url) == 100, 60, 0.3, "the first events")
        server.cleanup()  # PostgreSQL stops
        send_status(bootstrap, cams[100:], "online")
        wait_until(
            lambda: "database unavailable" in log.read_text(), 60, 0.5, "the worker to notice the outage"
        )
        time.sleep(3)
        assert worker.poll() is None, "the worker must survive a database outage"
        server, _ = start_embedded(tmp_path / "own")  # PostgreSQL is back, same data, same address
        wait_until(lambda: stored(url) == 200, 90, 0.5, "the events sent during the outage")
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM cameras WHERE status IS NOT NULL").fetchone()[0] == 200
    finally:
        stop_process_group(worker, grace_s=5)
        server.cleanup()
