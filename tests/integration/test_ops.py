"""The operations page in headless Chromium, on the real pipeline: a worker stores traffic and dead-
letters hostile messages, then stops while more arrive, so the page must show the broker's lag, the
dead letters by reason, a failing storage task, late events, a case finding and a failed
notification delivery; and everyone but officers and admins is refused, page and callback."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from kafka import KafkaProducer

from citybrain.events import CaseEvent, Topic
from citybrain.lag import LagProbe, ingest_group
from citybrain.runtime.broker import ensure_topics
from citybrain.runtime.supervisor import stop_process_group
from citybrain.sim import scenarios
from citybrain.store import dead_letters, heartbeats
from citybrain.store.alert_store import record_delivery
from citybrain.store.dead_letters import DeadLetterRow
from citybrain.store.maintenance import PRUNE_TASK
from citybrain.store.runs import record_run
from tests.helpers import start_citybrain, wait_until
from tests.integration import test_duty_console as duty
from tests.integration.conftest import offline_page, sign_in, start_dashboard, stop_dashboard

PARTITIONS = 2
LAGGING = 7  # malformed messages sent while the worker is stopped


def _seed_history(url: str) -> None:
    """The half hour before the test (throughput by minute), a failing retention task, late events and a
    webhook that could not be reached."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with psycopg.connect(url, autocommit=True) as conn:
        for m in range(1, 31):
            bucket = now - timedelta(minutes=m)
            conn.execute(
                "INSERT INTO readings_1m VALUES (%s, '510104', 'pm25', %s, 1, 1, 1)", (bucket, 400 + 7 * m)
            )
            conn.execute("INSERT INTO camera_status_1m VALUES (%s, '510104', %s, 0)", (bucket, 900 - 5 * m))
        conn.execute(
            "INSERT INTO late_events VALUES (%s, %s, '510107', 12)",
            (now - timedelta(minutes=20), Topic.READINGS.value),
        )
        record_run(
            conn, PRUNE_TASK, datetime.now(UTC), 3600, error="could not extend file: No space left on device"
        )
        with conn.cursor() as cur:
            record_delivery(
                cur,
                datetime.now(UTC),
                "rule=water_over_red_line,district=510116",
                "webhook",
                [1],
                False,
                5,
                "HTTP 503 from duty-pager.intranet",
            )
            record_delivery(
                cur, datetime.now(UTC), "rule=gas_alarm,district=510104", "log", [2], True, 1, None
            )


def _send_malformed(bootstrap: str, n: int) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for i in range(n):
        producer.send(Topic.READINGS.value, key=f"bad-{i}".encode(), value=b"{not json").get(timeout=10)
    producer.close()


def _never_created_case() -> CaseEvent:
    """A case resolved two hours ago whose creation never arrived: a data-quality finding."""
    return CaseEvent(
        case_id="C-NEVER-1",
        type="resolved",
        district="510107",
        category="noise",
        urgency="normal",
        event_time=datetime.now(UTC) - timedelta(hours=2),
    )


@pytest.fixture
def pipeline(bootstrap, app_url, seeded_url, registry, tmp_path):
    """The state the page is to show; returns the worker id whose group lags behind by LAGGING."""
    ensure_topics(bootstrap, PARTITIONS)
    _seed_history(seeded_url)
    worker_id = f"ops-{uuid.uuid4().hex[:8]}"
    (tmp_path / "data" / "faust").mkdir(parents=True)
    worker = start_citybrain(
        ["worker"],
        tmp_path / "worker.log",
        kafka_bootstrap=bootstrap,
        database_url=app_url,
        worker_id=worker_id,
        partitions=PARTITIONS,
        batch_within_s=0.2,
        data_dir=tmp_path / "data",
    )
    try:
        sent = scenarios.send(bootstrap, scenarios.flood(registry[1], "510116", 6.5))
        sent += scenarios.send(bootstrap, scenarios.camera_outage(registry[0], "510107", 0.3, 1))
        producer = KafkaProducer(bootstrap_servers=bootstrap)
        producer.send(Topic.CASE_EVENTS.value, key=b"C-NEVER-1", value=_never_created_case().to_bytes()).get(
            10
        )
        producer.close()
        _send_malformed(bootstrap, 3)
        probe = LagProbe(bootstrap, ingest_group(worker_id))

        seen = []

        def drained():
            seen[:] = probe.read()
            return sum(p.committed or 0 for p in seen) == sent + 4 and all(p.lag == 0 for p in seen)

        try:
            wait_until(drained, 60, 0.5, "the worker to store and commit everything")
        except AssertionError:
            raise AssertionError(f"{sent + 4} sent; the broker says {seen}") from None
        probe.close()
    finally:
        stop_process_group(worker, grace_s=10)
    _send_malformed(bootstrap, LAGGING)
    return worker_id


def red_text(page, selector: str) -> None:
    """The first element matching ``selector`` is drawn in the alarm red (read from the live DOM: the page
    redraws itself every refresh, so a node found a moment ago may already be gone)."""
    page.wait_for_function(
        "s => { const e = document.querySelector(s);"
        " return e && getComputedStyle(e).color === 'rgb(255, 82, 82)'; }",
        arg=selector,
        timeout=10_000,
    )


def test_an_officer_sees_the_pipeline_health_and_others_are_refused(
    browser, bootstrap, app_url, people, pipeline, tmp_path
):
    dashboard, url, log = start_dashboard(app_url, tmp_path, kafka_bootstrap=bootstrap, worker_id=pipeline)
    try:
        page, refused = offline_page(browser, (1920, 1080))
        sign_in(page, url, "wangwu", "/ops")
        page.wait_for_selector("#ops-lag .ops-table", timeout=30_000)
        page.wait_for_function(
            "document.querySelectorAll('#ops-throughput .scatterlayer .trace').length >= 2", timeout=30_000
        )
        kpis = page.locator("#ops-kpis .kpi-value").all_inner_texts()
        assert kpis[1] == str(LAGGING), kpis  # consumer lag, from the broker
        assert kpis[2] == "3", kpis  # dead letters in the last hour (the lagging ones are not read yet)
        assert kpis[3] == "13", kpis  # late events: 12 seeded, and the case event two hours old
        assert kpis[4] == "1" and kpis[5] == "1", kpis  # one failing storage task, one failed delivery
        lags = page.locator("#ops-lag > .ops-table tbody tr td:last-child").all_inner_texts()
        assert len(lags) == 3 * PARTITIONS
        assert sum(int(n.replace(",", "")) for n in lags) == LAGGING

        dead = page.locator("#ops-dead").inner_text()
        assert "iot.readings" in dead and "malformed" in dead and "citybrain dlq replay" in dead
        failing = page.locator("#ops-jobs tbody tr.bad")
        assert failing.count() == 1 and "No space left on device" in failing.inner_text()
        assert failing.locator("td").first.inner_text() == "失败"
        assert "原始数据保留 " in page.locator("#ops-jobs").inner_text()  # with the database's size
        red_text(page, "#ops-jobs tr.bad td")
        assert "从未收到创建事件" in page.locator("#ops-quality").inner_text()
        assert "C-NEVER-1" in page.locator("#ops-quality").inner_text()
        deliveries = page.locator("#ops-deliveries").inner_text()
        assert "HTTP 503" in deliveries and "webhook" in deliveries
        # times in the city's zone: the failed delivery happened this minute, local time
        local = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai"))
        assert f"{local:%H}:" in deliveries
        page.screenshot(path=str(tmp_path / "ops-1920.png"))
        assert refused == []
        page.context.close()

        big, _ = offline_page(browser, (3840, 2160))
        sign_in(big, url, "admin", "/ops?lang=en")
        big.wait_for_selector("#ops-jobs tbody tr.bad", timeout=30_000)
        big.wait_for_function(
            "document.querySelectorAll('#ops-throughput .scatterlayer .trace').length >= 2", timeout=30_000
        )
        assert "FAILING" in big.locator("#ops-jobs").inner_text()
        assert "never created" in big.locator("#ops-quality").inner_text()
        big.screenshot(path=str(tmp_path / "ops-3840.png"))
        big.context.close()

        for name in ("zhaoliu", "chenju", "wall1"):
            other, _ = offline_page(browser)
            sign_in(other, url, name)
            response = other.goto(url + "/ops")
            assert response.status == 403, name
            assert other.locator("#ops-kpis").count() == 0
            other.context.close()

        admin, _ = duty._signed_in(browser, url, "admin")
        callback = next(cb for cb in duty._callbacks(admin) if "ops-kpis" in cb["output"])
        body = duty._body(callback)
        assert duty._client(browser, url).post("/_dash-update-component", data=body).status == 401
        for name in ("zhaoliu", "chenju", "wall1"):
            client, headers = duty._signed_in(browser, url, name)
            assert client.post("/_dash-update-component", data=body, headers=headers).status == 403, name
        officer, headers = duty._signed_in(browser, url, "wangwu")
        assert officer.post("/_dash-update-component", data=body, headers=headers).status == 200
    finally:
        stop_dashboard(dashboard, log)


def _dead_letter(url: str, reading) -> int:
    """A valid reading that was dead-lettered (as if its device had not been registered yet)."""
    payload = reading.to_bytes()
    row = DeadLetterRow(
        Topic.READINGS.value,
        0,
        123456,
        reading.device_id.encode(),
        "unknown_device",
        "device not in the registry",
        payload,
        len(payload),
        hashlib.sha256(payload).hexdigest(),
        False,
    )
    with psycopg.connect(url, autocommit=True) as conn:
        dead_letters.insert(conn, [row])
        return conn.execute("SELECT max(id) FROM dead_letters").fetchone()[0]


def test_an_admin_replays_a_dead_letter_and_an_officer_may_not(
    browser, bootstrap, app_url, seeded_url, people, registry, tmp_path
):
    ensure_topics(bootstrap, PARTITIONS)
    reading = scenarios.flood(registry[1], "510116", 6.5)[0]
    dead_id = _dead_letter(seeded_url, reading)
    worker_id = f"ops-{uuid.uuid4().hex[:8]}"
    (tmp_path / "data" / "faust").mkdir(parents=True)
    worker = start_citybrain(
        ["worker"],
        tmp_path / "worker.log",
        kafka_bootstrap=bootstrap,
        database_url=app_url,
        worker_id=worker_id,
        partitions=PARTITIONS,
        batch_within_s=0.2,
        data_dir=tmp_path / "data",
    )
    dashboard, url, log = start_dashboard(app_url, tmp_path, kafka_bootstrap=bootstrap, worker_id=worker_id)
    try:
        officer_page, _ = offline_page(browser)
        sign_in(officer_page, url, "wangwu", "/ops")
        officer_page.wait_for_selector("#ops-dead .ops-table", timeout=30_000)
        assert officer_page.locator("#ops-replay").count() == 0  # officers see the list, not the action
        officer_page.context.close()

        admin_page, _ = offline_page(browser)
        sign_in(admin_page, url, "admin", "/ops")
        choice = admin_page.locator("#ops-replay-pick label", has_text=f"#{dead_id} ")
        choice.wait_for(timeout=30_000)
        choice.locator("input").check()
        admin_page.screenshot(path=str(tmp_path / "ops-admin-replay.png"))
        admin_page.click("#ops-replay")
        admin_page.wait_for_selector("#ops-replay-message.ok", timeout=30_000)
        assert f"#{dead_id}" in admin_page.locator("#ops-replay-message").inner_text()

        def stored() -> bool:
            with psycopg.connect(seeded_url) as conn:
                return (
                    conn.execute(
                        "SELECT count(*) FROM readings WHERE event_id = %s", (reading.event_id,)
                    ).fetchone()[0]
                    == 1
                )

        wait_until(stored, 60, 0.5, "the worker to store the replayed reading")
        with psycopg.connect(seeded_url) as conn:
            by, at = conn.execute(
                "SELECT replayed_by, replayed_at FROM dead_letters WHERE id = %s", (dead_id,)
            ).fetchone()
        assert by == "admin" and at is not None
        admin_page.wait_for_function(  # replayed ones are no longer offered
            f"!document.querySelector('#ops-replay-pick').innerText.includes('#{dead_id} ')", timeout=30_000
        )

        admin, _ = duty._signed_in(browser, url, "admin")
        callback = next(cb for cb in duty._callbacks(admin) if "ops-replay-message" in cb["output"])
        body = duty._body(callback)
        body["inputs"][0]["value"] = 1
        body["state"][0]["value"] = [dead_id]
        officer, headers = duty._signed_in(browser, url, "wangwu")
        assert officer.post("/_dash-update-component", data=body, headers=headers).status == 403
        without_token = {k: v for k, v in headers.items() if k != "X-CSRFToken"}
        admin_client, admin_headers = duty._signed_in(browser, url, "admin")
        assert admin_client.post("/_dash-update-component", data=body, headers=without_token).status == 400
        with psycopg.connect(seeded_url) as conn:  # the refused calls re-sent and re-marked nothing
            assert (
                conn.execute("SELECT replayed_at FROM dead_letters WHERE id = %s", (dead_id,)).fetchone()[0]
                == at
            )
        assert admin_client.post("/_dash-update-component", data=body, headers=admin_headers).status == 200
    finally:
        stop_dashboard(dashboard, log)
        stop_process_group(worker, grace_s=10)


def test_workers_beat_with_their_partitions_and_a_stopped_one_turns_stale(
    browser, bootstrap, app_url, seeded_url, people, tmp_path
):
    ensure_topics(bootstrap, PARTITIONS)
    worker_id = f"beat-{uuid.uuid4().hex[:8]}"
    (tmp_path / "data" / "faust").mkdir(parents=True)
    worker = start_citybrain(
        ["worker"],
        tmp_path / "worker.log",
        kafka_bootstrap=bootstrap,
        database_url=app_url,
        worker_id=worker_id,
        partitions=PARTITIONS,
        batch_within_s=0.2,
        data_dir=tmp_path / "data",
    )
    dashboard, url, log = start_dashboard(app_url, tmp_path, kafka_bootstrap=bootstrap, worker_id=worker_id)
    every_input = {
        (t.value, p)
        for t in (Topic.READINGS, Topic.CAMERA_STATUS, Topic.CASE_EVENTS)
        for p in range(PARTITIONS)
    }

    def ours() -> list[dict]:
        with psycopg.connect(seeded_url) as conn:
            return [w for w in heartbeats.workers(conn) if w["app_id"] == worker_id]

    try:
        wait_until(
            lambda: [set(w["partitions"]) for w in ours()] == [every_input],
            60,
            0.5,
            "the worker's heartbeat with every input partition",
        )
        [me] = ours()
        assert not me["stale"] and me["age_s"] < 3 * heartbeats.EVERY_S
        page, _ = offline_page(browser)
        sign_in(page, url, "wangwu", "/ops")
        row = page.locator("#ops-lag .ops-workers tbody tr", has_text=worker_id)
        row.wait_for(timeout=30_000)
        assert "iot.readings[0]" in row.inner_text() and f"case.events[{PARTITIONS - 1}]" in row.inner_text()
        assert row.get_attribute("class") != "bad"

        stop_process_group(worker, grace_s=10)
        wait_until(
            lambda: [w["stale"] for w in ours()] == [True],
            3 * heartbeats.EVERY_S + 30,
            0.5,
            "the stopped worker to turn stale",
        )
        page.wait_for_function(
            "id => [...document.querySelectorAll('#ops-lag .ops-workers tbody tr.bad')]"
            ".some(tr => tr.innerText.includes(id))",
            arg=worker_id,
            timeout=30_000,
        )
        red_text(page, "#ops-lag .ops-workers tr.bad td")
        page.context.close()
    finally:
        stop_dashboard(dashboard, log)
        stop_process_group(worker, grace_s=10)
