"""A batch that fails as a whole stops the worker before its offsets move; the next worker replays it."""

import uuid
from datetime import UTC, datetime

import psycopg
from kafka import KafkaProducer

from citybrain.events import CameraStatus, Topic
from citybrain.runtime.broker import ensure_topics
from citybrain.runtime.supervisor import stop_process_group
from citybrain.stream.consumer import BATCH_FAILED
from tests.helpers import start_citybrain, wait_until


def send(bootstrap, cameras) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for cam in cameras:
        event = CameraStatus(event_time=datetime.now(UTC), camera_id=cam, status="online")
        producer.send(Topic.CAMERA_STATUS.value, key=cam.encode(), value=event.to_bytes())
    producer.flush()
    producer.close()


def stored(url) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM camera_status").fetchone()[0]


def test_a_failing_batch_is_replayed_never_skipped(bootstrap, seeded_url, registry, tmp_path):
    ensure_topics(bootstrap, 2)
    group = f"fail-{uuid.uuid4().hex[:8]}"
    settings = {
        "kafka_bootstrap": bootstrap,
        "database_url": seeded_url,
        "partitions": 2,
        "worker_id": group,
        "batch_within_s": 0.2,
    }
    cams = list(registry[0].ids[:100])
    worker = start_citybrain(["worker"], tmp_path / "first.log", **settings)
    try:
        send(bootstrap, cams[:50])
        wait_until(lambda: stored(seeded_url) == 50, 60, 0.3, "the first events")
        with psycopg.connect(
            seeded_url, autocommit=True
        ) as conn:  # an error that is neither bad data nor an outage
            conn.execute(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
                " $$ BEGIN RAISE EXCEPTION 'storage fault' USING ERRCODE = 'XX000'; END $$"
            )
            conn.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON camera_status FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
        send(bootstrap, cams[50:])
        assert worker.wait(60) == BATCH_FAILED
        assert stored(seeded_url) == 50
    finally:
        stop_process_group(worker, grace_s=5)
    assert "stopping before its offsets move" in (tmp_path / "first.log").read_text()

    with psycopg.connect(seeded_url, autocommit=True) as conn:
        conn.execute("DROP TRIGGER refuse ON camera_status")
    worker = start_citybrain(["worker"], tmp_path / "second.log", **settings)
    try:
        wait_until(lambda: stored(seeded_url) == 100, 90, 0.3, "the replayed batch")
        with psycopg.connect(seeded_url) as conn:
            assert conn.execute("SELECT count(DISTINCT camera_id) FROM camera_status").fetchone()[0] == 100
            assert conn.execute("SELECT count(*) FROM dead_letters").fetchone()[0] == 0
    finally:
        stop_process_group(worker, grace_s=5)
