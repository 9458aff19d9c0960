"""Two workers on the same topics split the partitions, store everything once, and compute each window
once."""

import json
import uuid
from collections import Counter
from datetime import UTC, datetime

import psycopg
from kafka import KafkaProducer

from citybrain.events import CameraStatus, DistrictRisk, Topic
from citybrain.runtime.broker import ensure_topics
from citybrain.runtime.supervisor import stop_process_group
from tests.helpers import read_topic, start_citybrain, wait_until
from tests.integration.test_indicators import fast_config  # noqa: F401 - the fixture

PARTITIONS = 4


def assigned(log) -> set[str]:
    """The partitions the worker's latest assignment gave it, from its JSON log lines."""
    complete = log.read_text(errors="replace").split("\n")[:-1]  # a line being written is not read yet
    events = [json.loads(line) for line in complete if line.startswith("{")]
    held = [e["partitions"] for e in events if "partitions" in e]
    return set(held[-1]) if held else set()


def test_two_workers_share_partitions_and_the_leader_computes_each_window_once(
    bootstrap,
    seeded_url,
    registry,
    fast_config,  # noqa: F811 - the imported fixture
    tmp_path,
):
    ensure_topics(bootstrap, PARTITIONS)
    group = f"pair-{uuid.uuid4().hex[:8]}"
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    workers = [
        start_citybrain(
            ["worker"],
            log,
            kafka_bootstrap=bootstrap,
            database_url=seeded_url,
            worker_id=group,
            partitions=PARTITIONS,
            config_dir=fast_config,
            batch_within_s=0.2,
        )
        for log in logs
    ]
    try:

        def split():
            a, b = assigned(logs[0]), assigned(logs[1])
            return a and b and not a & b and len(a | b) == 3 * PARTITIONS and (a, b)

        a, b = wait_until(split, 90, 0.5, "both workers to hold disjoint partitions")
        cams = list(registry[0].ids[:400])
        producer = KafkaProducer(bootstrap_servers=bootstrap)
        for cam in cams:
            event = CameraStatus(event_time=datetime.now(UTC), camera_id=cam, status="online")
            producer.send(Topic.CAMERA_STATUS.value, key=cam.encode(), value=event.to_bytes())
        producer.flush()
        producer.close()

        def stored():
            with psycopg.connect(seeded_url) as conn:
                return conn.execute("SELECT count(*), count(DISTINCT event_id) FROM camera_status").fetchone()

        wait_until(lambda: stored() == (400, 400), 60, 0.5, "every event stored once")
        final = wait_until(
            lambda: (
                [
                    r
                    for r in (
                        DistrictRisk.model_validate_json(m.value)
                        for m in read_topic(bootstrap, Topic.RISK.value, PARTITIONS)
                    )
                    if r.final
                ]
                or None
            ),
            60,
            1.0,
            "final windows",
        )
        per_window = Counter((r.district, r.window_s, r.event_time) for r in final)
        assert max(per_window.values()) == 1, "a window was computed by both workers"
        assert all(w.poll() is None for w in workers)
    finally:
        for w in workers:
            stop_process_group(w, grace_s=5)
