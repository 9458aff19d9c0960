"""District risk on the real pipeline: a camera outage drives one district's level, and only its."""

import shutil
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import yaml
from kafka import KafkaProducer

from citybrain.events import SENSOR_SPECS, CameraStatus, DistrictRisk, IoTReading, SensorKind, Topic
from citybrain.risk.config import RiskConfig
from citybrain.risk.score import DistrictInputs, assess
from citybrain.runtime.broker import ensure_topics
from citybrain.runtime.supervisor import stop_process_group
from citybrain.settings import PROJECT_ROOT
from tests.helpers import read_topic, start_citybrain, wait_until

PARTITIONS = 2
DISTRICT = "510107"  # Wuhou
FAST = {"windows_s": [5, 15], "tick_s": 1, "allowed_lateness_s": 2, "sensor_silent_after_s": 120}


@pytest.fixture
def fast_config(tmp_path):
    config = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", config)
    doc = yaml.safe_load((config / "risk.yaml").read_text(encoding="utf-8"))
    doc.update(FAST)
    (config / "risk.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return config


@pytest.fixture
def worker(bootstrap, seeded_url, fast_config, tmp_path):
    ensure_topics(bootstrap, PARTITIONS)
    proc = start_citybrain(
        ["worker"],
        tmp_path / "worker.log",
        kafka_bootstrap=bootstrap,
        database_url=seeded_url,
        worker_id=f"risk-{uuid.uuid4().hex[:8]}",
        partitions=PARTITIONS,
        config_dir=fast_config,
        batch_within_s=0.2,
    )
    yield proc
    stop_process_group(proc, grace_s=5)
    print((tmp_path / "worker.log").read_text()[-3000:])


def final_rows(url, window_s, after):
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT district, score, level, sub_values, contributions, computed_at FROM indicators"
            " WHERE window_s = %s AND final AND window_end > %s AND window_end = ("
            "   SELECT max(window_end) FROM indicators WHERE window_s = %s AND final)",
            (window_s, after, window_s),
        ).fetchall()


def test_camera_outage_drives_its_district_to_the_configured_level(
    bootstrap, seeded_url, registry, worker, fast_config
):
    cams, sensors = registry
    t0 = datetime.now(UTC)
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for device, kind in zip(sensors.ids, sensors.kind, strict=True):  # every sensor reports a normal value
        unit, low, _ = SENSOR_SPECS[SensorKind(kind)]
        r = IoTReading(event_time=t0, device_id=device, kind=kind, value=max(low, 1.0), unit=unit)
        producer.send(Topic.READINGS.value, key=device.encode(), value=r.to_bytes())
    in_district = [c for c, d in zip(cams.ids, cams.district, strict=True) if d == DISTRICT]
    down = in_district[: round(0.3 * len(in_district))]
    for cam in down:
        producer.send(
            Topic.CAMERA_STATUS.value,
            key=cam.encode(),
            value=CameraStatus(event_time=t0, camera_id=cam, status="offline").to_bytes(),
        )
    producer.flush()

    rows = wait_until(
        lambda: (
            len(final_rows(seeded_url, 5, t0 + timedelta(seconds=5))) == 20
            and final_rows(seeded_url, 5, t0 + timedelta(seconds=5))
        ),
        90,
        0.5,
        "a final window after the outage",
    )
    by_district = {r[0]: r for r in rows}

    cfg = RiskConfig.load(fast_config)
    expected = assess(DistrictInputs(cameras=len(in_district), cameras_down=len(down)), cfg)
    _, score, level, values, contributions, _ = by_district[DISTRICT]
    assert expected.level.is_warning  # the scenario must matter under the shipped weights
    assert level == expected.level.value
    assert score == pytest.approx(expected.score)
    assert sum(contributions.values()) == pytest.approx(score)
    assert max(contributions, key=contributions.get) == "camera_offline_ratio"
    assert values["camera_offline_ratio"] == pytest.approx(len(down) / len(in_district))
    assert {d: r[2] for d, r in by_district.items() if d != DISTRICT} == {
        d: "normal" for d in by_district if d != DISTRICT
    }

    # a reading for an already-final window is stored and counted as late, and changes no final row
    def late_count():
        with psycopg.connect(seeded_url) as conn:
            return conn.execute(
                "SELECT coalesce(sum(n), 0) FROM late_events WHERE topic = 'iot.readings'"
            ).fetchone()[0]

    late_before = late_count()
    with psycopg.connect(seeded_url) as conn:  # a window we know is final, in the late reading's district
        end, score, computed = conn.execute(
            "SELECT window_end, score, computed_at FROM indicators"
            " WHERE window_s = 5 AND final AND district = %s"
            " ORDER BY window_end DESC LIMIT 1",
            (sensors.district[0],),
        ).fetchone()
    unit, _, high = SENSOR_SPECS[SensorKind(sensors.kind[0])]
    late = IoTReading(
        event_time=end - timedelta(seconds=2),
        device_id=sensors.ids[0],
        kind=sensors.kind[0],
        value=high,
        unit=unit,
    )  # an exceedance: it would raise the score if it were applied
    producer.send(Topic.READINGS.value, key=sensors.ids[0].encode(), value=late.to_bytes())
    producer.flush()
    producer.close()

    wait_until(lambda: late_count() > late_before, 30, 0.5, "the late event to be counted")
    with psycopg.connect(seeded_url) as conn:
        stored = conn.execute(
            "SELECT count(*) FROM readings WHERE event_id = %s", (late.event_id,)
        ).fetchone()[0]
        after = conn.execute(
            "SELECT score, computed_at FROM indicators"
            " WHERE window_s = 5 AND district = %s AND window_end = %s",
            (sensors.district[0], end),
        ).fetchone()
    assert stored == 1
    assert after == (score, computed)

    # the indicators are published keyed by district (read once the worker has stopped: it publishes the
    # window in progress every tick, so the topic never falls quiet while it runs)
    stop_process_group(worker, grace_s=5)
    published = [
        (m.key.decode(), DistrictRisk.model_validate_json(m.value))
        for m in read_topic(bootstrap, Topic.RISK.value, PARTITIONS)
    ]
    mine = [
        risk
        for key, risk in published
        if key == DISTRICT
        and risk.final
        and risk.window_s == 5
        and risk.event_time > t0 + timedelta(seconds=5)
    ]
    assert mine and mine[-1].level == expected.level
    assert all(key == risk.district for key, risk in published)
    assert any(
        not risk.final and risk.event_time > datetime.now(UTC) - timedelta(seconds=30)
        for _, risk in published
    )
