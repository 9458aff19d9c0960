"""Dead letters are durable and workable; case lifecycles fold right in any order; impossible ones are
findings."""

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
from kafka import KafkaProducer

from citybrain import accounts
from citybrain.events import CaseEvent, IoTReading, Topic
from citybrain.store.queries import case_kpis
from tests.helpers import read_topic, run_citybrain, wait_until

PARTITIONS = 2


def send(bootstrap, topic: Topic, key: str, value: bytes) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, max_request_size=8 * 1024 * 1024)
    producer.send(topic.value, key=key.encode(), value=value).get(timeout=30)
    producer.close()


def letters(url) -> list[dict]:
    with psycopg.connect(url) as conn:
        cur = conn.execute("SELECT * FROM dead_letters ORDER BY id")
        names = [c.name for c in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]


def test_dead_letters_are_stored_cut_to_size_replayable_and_duplicates_judged(
    bootstrap, seeded_url, registry, worker, tmp_path
):
    sensors = registry[1]
    device, kind = str(sensors.ids[0]), str(sensors.kind[0])
    unit = {"water_level": "m", "pm25": "ug/m3", "gas": "%LEL", "noise": "dB(A)", "temperature": "degC"}[kind]
    now = datetime.now(UTC)
    good = IoTReading(event_time=now, device_id=device, kind=kind, value=1.0, unit=unit)
    huge = b'{"device_id": "' + b"x" * 3_000_000 + b'"}'
    as_string = json.loads(good.model_copy(update={"event_id": uuid.uuid4()}).to_bytes())
    as_string["value"] = "1.0"
    send(bootstrap, Topic.READINGS, device, good.to_bytes())
    send(bootstrap, Topic.READINGS, device, huge)
    send(bootstrap, Topic.READINGS, device, good.to_bytes())  # an exact replay: nothing new
    send(
        bootstrap, Topic.READINGS, device, good.model_copy(update={"value": 2.0}).to_bytes()
    )  # same key, other content
    send(bootstrap, Topic.READINGS, device, json.dumps(as_string).encode())
    found = wait_until(
        lambda: len(letters(seeded_url)) == 3 and letters(seeded_url), 60, 0.5, "three dead letters"
    )

    by_reason = {d["reason"]: d for d in found}
    assert set(by_reason) == {"too_large", "conflicting_duplicate", "invalid"}

    # the worker's log (a file, not a terminal) is JSON lines; a dead letter's line has the metrics' fields
    def logged() -> list[dict]:
        lines = (tmp_path / "worker.log").read_text().split("\n")[:-1]  # complete lines: every one is JSON
        return [json.loads(line) for line in lines]

    def dead_lines() -> list[dict]:
        return [e for e in logged() if e.get("reason") and e.get("level") == "warning"]

    dead = wait_until(lambda: len(dead_lines()) == 3 and dead_lines(), 30, 0.5, "three dead-letter log lines")
    assert {(e["topic"], e["reason"]) for e in dead} == {(Topic.READINGS.value, r) for r in by_reason}
    assert all(isinstance(e["partition"], int) and e["event"].startswith("dead letter") for e in dead)
    big = by_reason["too_large"]
    assert big["payload_size"] == len(huge) and big["truncated"] and len(big["payload"]) == 65_536
    assert big["payload_sha256"] == hashlib.sha256(huge).hexdigest()
    with psycopg.connect(seeded_url) as conn:
        assert conn.execute("SELECT count(*), min(value) FROM readings").fetchone() == (1, 1.0)

    # the dlq topic carries a copy, cut to size, with headers that say so
    copies = {dict(r.headers)["reason"]: r for r in read_topic(bootstrap, Topic.DLQ.value, PARTITIONS)}
    copy = copies[b"too_large"]
    headers = dict(copy.headers)
    assert len(copy.value) == 65_536 and headers["truncated"] == b"true"
    assert headers["payload_size"] == str(len(huge)).encode() and headers["source_topic"] == b"iot.readings"

    # an operator lists, reads, fixes and re-sends, as a named account
    with psycopg.connect(seeded_url) as conn:
        accounts.add(conn, "ops", "officer", "a long enough passphrase", "运维 王五")
    env = {"database_url": seeded_url, "kafka_bootstrap": bootstrap}
    nobody = run_citybrain(["dlq", "replay", str(found[0]["id"]), "--as", "nobody"], **env)
    assert nobody.returncode == 2 and "nobody" in nobody.stderr
    listing = run_citybrain(["dlq", "list"], **env)
    assert (
        listing.returncode == 0
        and "conflicting_duplicate" in listing.stdout
        and "too_large" in listing.stdout
    )
    bad = by_reason["invalid"]
    shown = run_citybrain(["dlq", "show", str(bad["id"])], **env)
    assert '"value": "1.0"' in shown.stdout and "Expected `float`, got `str`" in shown.stdout
    refused = run_citybrain(["dlq", "replay", str(big["id"]), "--as", "ops"], **env)
    assert refused.returncode == 2 and "--fixed" in refused.stderr and "Traceback" not in refused.stderr
    as_string["value"] = 1.0
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps(as_string))
    replayed = run_citybrain(["dlq", "replay", str(bad["id"]), "--fixed", str(fixed), "--as", "ops"], **env)
    assert replayed.returncode == 0, replayed.stderr
    wait_until(lambda: _count(seeded_url, "readings") == 2, 60, 0.5, "the fixed event stored")
    assert [d["replayed_by"] for d in letters(seeded_url) if d["id"] == bad["id"]] == ["ops"]
    assert worker.poll() is None


def _count(url, table) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def case(case_id, type_, at, district, **extra) -> bytes:
    return CaseEvent(
        event_time=at, case_id=case_id, type=type_, category="drainage", district=district, **extra
    ).to_bytes()


def test_case_lifecycles_fold_in_any_order_and_impossible_ones_are_findings(
    bootstrap, seeded_url, registry, worker
):
    district = str(registry[0].district[0])
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    deadline = {"deadline": t0 + timedelta(hours=4)}
    # delivered backwards: closed, resolved, assigned, created
    for type_, minutes, extra in [
        ("closed", 20, {"satisfaction": 5}),
        ("resolved", 15, {}),
        ("assigned", 5, {"assignee": "unit-3"}),
        ("created", 0, deadline),
    ]:
        send(
            bootstrap,
            Topic.CASE_EVENTS,
            "late-order",
            case("late-order", type_, t0 + timedelta(minutes=minutes), district, **extra),
        )
    # impossible: resolved before it was created; and heard of two hours ago, never created
    send(bootstrap, Topic.CASE_EVENTS, "backwards", case("backwards", "resolved", t0, district))
    send(
        bootstrap,
        Topic.CASE_EVENTS,
        "backwards",
        case("backwards", "created", t0 + timedelta(minutes=9), district, **deadline),
    )
    send(bootstrap, Topic.CASE_EVENTS, "orphan", case("orphan", "updated", t0 - timedelta(hours=2), district))
    wait_until(lambda: _count(seeded_url, "case_events") == 7, 60, 0.5, "the case events")

    with psycopg.connect(seeded_url) as conn:
        row = conn.execute(
            "SELECT status, opened_at, assigned_at, resolved_at, closed_at, assignee, satisfaction"
            " FROM cases WHERE case_id = 'late-order'"
        ).fetchone()
        assert row == (
            "closed",
            t0,
            t0 + timedelta(minutes=5),
            t0 + timedelta(minutes=15),
            t0 + timedelta(minutes=20),
            "unit-3",
            5,
        )
        findings = dict(conn.execute("SELECT case_id, finding FROM case_findings").fetchall())
        assert findings == {"backwards": "resolved_before_created", "orphan": "never_created"}
        kpis = case_kpis(conn, t0 - timedelta(days=1), datetime.now(UTC))
    assert kpis[None].opened == 1  # only the sound case counts
    assert kpis[None].resolution_rate == 1.0
