"""The duty console in headless Chromium, and the server's refusals for everyone else.

The main scenario runs the real pipeline: a flood scenario's readings go
through the broker to a worker, whose alert engine opens the alerts the
officers then see and act on; worker and dashboard connect as the
application role. The other tests open alerts with the engine's tick
directly, as the worker does.
"""

import shutil
import time
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import psycopg
import pytest
import yaml

from citybrain import accounts
from citybrain.alerts.engine import Observation, Signal
from citybrain.alerts.rules import RulesConfig
from citybrain.alerts.service import AlertService
from citybrain.events import AlertEvent, Topic
from citybrain.runtime.broker import ensure_topics
from citybrain.runtime.supervisor import stop_process_group
from citybrain.settings import PROJECT_ROOT
from citybrain.sim import scenarios
from tests.helpers import read_topic, start_citybrain, wait_until
from tests.integration.conftest import (
    PASSWORD,
    csrf_from,
    offline_page,
    sign_in,
    start_dashboard,
    stop_dashboard,
)

FLOOD = Observation(
    "water_over_red_line",
    "iot-00011",
    Signal.FIRING,
    6.5,
    {"district": "510116", "device": "iot-00011", "kind": "water_level"},
    "water_level 6.5 at iot-00011",
)
ROW = "#duty-queue .ag-center-cols-container .ag-row"


def open_flood_alert(url) -> int:
    _, events = AlertService(url).tick(datetime.now(UTC), [FLOOD], RulesConfig.load(PROJECT_ROOT / "config"))
    return next(e.alert_id for e in events if e.action == "open")


@pytest.fixture
def fast_rules(tmp_path):
    """The shipped configuration with the rules evaluated every second."""
    config = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", config)
    doc = yaml.safe_load((config / "rules.yaml").read_text(encoding="utf-8"))
    doc["tick_s"] = 1
    (config / "rules.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return config


def test_officer_acknowledges_a_scenario_alert_and_a_second_officer_sees_it(
    browser, bootstrap, app_url, people, seeded_url, registry, fast_rules, tmp_path
):
    ensure_topics(bootstrap, 2)
    worker = start_citybrain(
        ["worker"],
        tmp_path / "worker.log",
        kafka_bootstrap=bootstrap,
        database_url=app_url,
        config_dir=fast_rules,
        worker_id=f"duty-{uuid.uuid4().hex[:8]}",
        partitions=2,
        batch_within_s=0.2,
    )
    dashboard, dashboard_url, dashboard_log = start_dashboard(app_url, tmp_path, kafka_bootstrap=bootstrap)
    try:
        first, refused = offline_page(browser, (1920, 1080))
        sign_in(first, dashboard_url, "wangwu", "/duty")
        first.wait_for_selector("#duty-queue .ag-root", timeout=30_000)
        assert first.locator(ROW).count() == 0

        scenarios.send(bootstrap, scenarios.flood(registry[1], "510116", 6.5))
        row = first.locator(ROW).first
        row.wait_for(timeout=90_000)  # appears without a reload
        assert "双流区水位超限：6.5" in row.inner_text() and "紧急" in row.inner_text()
        assert "510116" not in row.inner_text() and "iot-" not in row.inner_text()
        first.wait_for_selector(".alarm-banner.on", timeout=10_000)  # flashing until someone acknowledges
        assert first.evaluate("document.getElementById('duty-alarm-audio').src").endswith("/assets/alarm.wav")

        row.click()
        first.wait_for_selector(".tl-item", timeout=10_000)
        assert "告警产生" in first.locator("#duty-history").inner_text()
        alert_id = int(first.evaluate("dash_ag_grid.getApi('duty-queue').getSelectedRows()[0].id"))
        first.click("#duty-ack")
        first.wait_for_selector(".duty-message.ok", timeout=10_000)
        assert first.locator(".duty-message").inner_text() == "已确认"
        first.wait_for_function(
            "document.querySelector('#duty-history')?.innerText.includes('王五')", timeout=10_000
        )
        acked = wait_until(
            lambda: [e for e in published(bootstrap) if e.alert_id == alert_id and e.action == "acknowledge"],
            30,
            1.0,
            "the acknowledgement on alerts.events",
        )
        assert acked[0].actor == "wangwu"

        # the resolve button refuses without a note
        first.click("#duty-resolve")
        first.wait_for_selector(".duty-message.warn", timeout=10_000)
        assert "处置说明" in first.locator(".duty-message").inner_text()

        second, refused2 = offline_page(browser, (1920, 1080))
        sign_in(second, dashboard_url, "lisi", "/duty")
        mine = second.locator(f"{ROW}[row-id='{alert_id}']")
        mine.wait_for(timeout=30_000)
        assert "已确认" in mine.inner_text()
        mine.click()
        second.click("#duty-ack")
        second.wait_for_selector(".duty-message.conflict", timeout=10_000)
        message = second.locator(".duty-message").inner_text()
        assert message.startswith("该告警已由 王五 于 ") and message.endswith(" 确认"), message
        assert f"{datetime.now(UTC).astimezone(ZoneInfo('Asia/Shanghai')):%H}:" in message  # local time

        with psycopg.connect(seeded_url) as conn:
            actors = conn.execute(
                "SELECT actor, action FROM alert_log WHERE alert_id = %s ORDER BY id", (alert_id,)
            ).fetchall()
        assert ("wangwu", "acknowledge") in actors and not any(a == "lisi" for a, _ in actors)
        assert refused == [] and refused2 == []
        first.context.close()
        second.context.close()
    finally:
        stop_process_group(worker, grace_s=5)
        stop_dashboard(dashboard, dashboard_log)


def published(bootstrap) -> list[AlertEvent]:
    return [AlertEvent.model_validate_json(m.value) for m in read_topic(bootstrap, Topic.ALERTS.value, 2)]


def test_leader_reads_the_console_and_a_viewer_or_wall_may_not_open_it(browser, dashboard_url, app_url):
    open_flood_alert(app_url)
    leader, _ = offline_page(browser)
    sign_in(leader, dashboard_url, "chenju", "/duty")
    leader.locator(ROW).first.wait_for(timeout=30_000)
    assert leader.locator(".read-only-note").count() == 1
    assert leader.locator("#duty-ack, #duty-resolve, #duty-assign, #duty-silence, #duty-comment").count() == 0
    leader.context.close()

    for name in ("zhaoliu", "wall1"):
        page, _ = offline_page(browser)
        sign_in(page, dashboard_url, name)
        response = page.goto(dashboard_url + "/duty")
        assert response.status == 403
        assert "无权访问" in page.content()
        assert page.locator("#duty-ack").count() == 0
        page.context.close()

    wall, _ = offline_page(browser)
    sign_in(wall, dashboard_url, "wall1")
    wall.wait_for_selector(".kpi-value", timeout=30_000)
    assert [a.inner_text() for a in wall.locator(".shell-nav a").all()] == ["全市态势"]
    wall.context.close()


# --- every callback refuses the anonymous, and the wrong roles --------------------------------------------

VIEWER_READS = ("shell-freshness", "overview-", "_pages_")  # outputs of the pages a viewer may open


def _callbacks(request_context) -> list[dict]:
    deps = request_context.get("/_dash-dependencies")
    assert deps.status == 200
    return [cb for cb in deps.json() if not cb.get("clientside_function")]


def _body(cb: dict) -> dict:
    def spec(items):
        return [{"id": i["id"], "property": i["property"], "value": None} for i in items]

    outputs = [
        {"id": part.split(".")[0], "property": part.split(".")[1]}
        for part in cb["output"].strip(".").split("...")
    ]
    return {
        "output": cb["output"],
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": spec(cb["inputs"]),
        "state": spec(cb["state"]),
        "changedPropIds": [],
    }


def _client(browser, base: str):
    """An HTTP client with its own cookie jar (a browser context's request API)."""
    context = browser.new_context(base_url=base)
    return context.request


def _signed_in(browser, base: str, username: str):
    ctx = _client(browser, base)
    form = ctx.get("/login").text()
    response = ctx.post(
        "/login",
        form={"csrf_token": csrf_from(form), "username": username, "password": PASSWORD, "next": "/"},
        max_redirects=0,
    )
    assert response.status == 302, response.text()
    ctx.get("/")  # sets the CSRF cookie Dash's renderer copies into the X-CSRFToken header
    token = next(c["value"] for c in ctx.storage_state()["cookies"] if c["name"] == "_csrf_token")
    return ctx, {"X-CSRFToken": token, "Content-Type": "application/json"}


def test_callbacks_refuse_anonymous_viewer_and_leader(browser, dashboard_url):
    admin, _ = _signed_in(browser, dashboard_url, "admin")
    callbacks = _callbacks(admin)
    assert any("duty-message" in cb["output"] for cb in callbacks)
    anonymous = _client(browser, dashboard_url)
    viewer, viewer_headers = _signed_in(browser, dashboard_url, "zhaoliu")
    wall, wall_headers = _signed_in(browser, dashboard_url, "wall1")
    leader, leader_headers = _signed_in(browser, dashboard_url, "chenju")
    for cb in callbacks:
        body = _body(cb)
        assert anonymous.post("/_dash-update-component", data=body).status == 401, cb["output"]
        if not any(mark in cb["output"] for mark in VIEWER_READS):
            for who, ctx, headers in (("viewer", viewer, viewer_headers), ("wall", wall, wall_headers)):
                status = ctx.post("/_dash-update-component", data=body, headers=headers).status
                assert status == 403, f"{who} got {status} from {cb['output']}"
        if "duty-message" in cb["output"]:  # the actions: leaders read, officers act
            assert leader.post("/_dash-update-component", data=body, headers=leader_headers).status == 403

    # forged and malformed callbacks are refused, never a server error
    forged = {"output": "duty-message.children", "inputs": [], "changedPropIds": []}
    assert viewer.post("/_dash-update-component", data=forged, headers=viewer_headers).status == 403
    assert viewer.post("/_dash-update-component", data="not json", headers=viewer_headers).status == 400
    # a signed-in officer's callback without the CSRF header is refused
    officer, _ = _signed_in(browser, dashboard_url, "wangwu")
    action = next(cb for cb in callbacks if "duty-message" in cb["output"])
    assert officer.post("/_dash-update-component", data=_body(action)).status == 400


def test_failed_sign_ins_are_slowed_down_and_audited(browser, dashboard_url, seeded_url):
    ctx = _client(browser, dashboard_url)
    token = csrf_from(ctx.get("/login").text())
    for _ in range(5):
        r = ctx.post("/login", form={"csrf_token": token, "username": "lisi", "password": "guess-guess"})
        assert r.status == 401 and "用户名或密码错误" in r.text()
    # the next attempt is refused even with the right password, and says how long to wait
    r = ctx.post(
        "/login", form={"csrf_token": token, "username": "lisi", "password": PASSWORD}, max_redirects=0
    )
    assert r.status == 429 and "秒后再试" in r.text() and int(r.headers["retry-after"]) > 0
    # a sign-in form without its CSRF token is refused
    assert ctx.post("/login", form={"username": "wangwu", "password": PASSWORD}).status == 400
    ok = ctx.post(
        "/login", form={"csrf_token": token, "username": "wangwu", "password": PASSWORD}, max_redirects=0
    )
    assert ok.status == 302
    with psycopg.connect(seeded_url) as conn:
        outcomes = conn.execute("SELECT username, outcome FROM sign_in_log ORDER BY id").fetchall()
    assert outcomes == [("lisi", "bad_password")] * 5 + [("lisi", "throttled"), ("wangwu", "ok")]


def test_disabling_an_account_or_changing_its_password_signs_it_out(browser, dashboard_url, seeded_url):
    viewer, _ = offline_page(browser)
    sign_in(viewer, dashboard_url, "zhaoliu")
    officer, _ = offline_page(browser)
    sign_in(officer, dashboard_url, "wangwu")
    for page in (viewer, officer):
        page.wait_for_selector(".kpi-value", timeout=30_000)
    with psycopg.connect(seeded_url, autocommit=True) as conn:
        accounts.set_disabled(conn, "zhaoliu")
        accounts.change_password(conn, "wangwu", "a-brand-new-password")
    time.sleep(1.5)  # the accounts reader refreshes every interval (1 s here)
    for page in (viewer, officer):
        assert page.goto(dashboard_url + "/").url.startswith(dashboard_url + "/login")
        page.context.close()


def test_officer_silences_an_alert_by_its_district_or_by_label_matchers(
    browser, dashboard_url, app_url, seeded_url
):
    open_flood_alert(app_url)
    page, _ = offline_page(browser, (1920, 1080))
    sign_in(page, dashboard_url, "wangwu", "/duty")
    page.locator(ROW).first.wait_for(timeout=30_000)
    page.locator(ROW).first.click()
    page.click("#duty-silence")
    page.wait_for_selector(".duty-message.warn", timeout=10_000)  # no reason yet
    page.fill("#duty-silence-reason", "防汛抢险中，已派员")
    page.click("#duty-silence")
    page.wait_for_function(
        "document.querySelector('.duty-message')?.innerText === '已静默 60 分钟'", timeout=10_000
    )

    page.click("#duty-silence-scope")
    page.get_by_role("option", name="按标签匹配").click()
    page.fill("#duty-silence-matchers", "district")  # not a matcher: the service says why
    page.click("#duty-silence")
    page.wait_for_function(
        "document.querySelector('.duty-message')?.innerText.includes('not a matcher')", timeout=10_000
    )
    page.fill("#duty-silence-matchers", 'district=510116 rule=~"water_.*"')
    page.click("#duty-silence")
    page.wait_for_function(
        "document.querySelector('.duty-message')?.className.includes('ok')", timeout=10_000
    )
    with psycopg.connect(seeded_url) as conn:
        made = conn.execute("SELECT created_by, reason, matchers FROM silences ORDER BY id").fetchall()
    assert [(who, why) for who, why, _ in made] == [("wangwu", "防汛抢险中，已派员")] * 2
    assert {m["name"] for m in made[0][2]} == {"rule", "district"}
    page.context.close()
