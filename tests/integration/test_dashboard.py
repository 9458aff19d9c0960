"""The dashboard served by `citybrain dashboard` over a seeded database, in headless Chromium:
the overview wall page inside the shell, signed in."""

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from citybrain.dashboard.sources import Sources
from citybrain.store.writer import READINGS, BatchWriter
from tests.integration.conftest import offline_page, sign_in


def add_risk(url, district: str, level: str, score: float, window_s: int = 900) -> None:
    contributions = {"camera_offline_ratio": score * 0.8, "open_emergencies": score * 0.2}
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO indicators"
            " (window_end, district, window_s, score, level, final, sub_values, contributions)"
            " VALUES (now(), %s, %s, %s, %s, false, '{}', %s)",
            (district, window_s, score, level, json.dumps(contributions)),
        )


def add_recent_readings(url, registry, district: str, n: int) -> None:
    _, sensors = registry
    device = next(i for i, d in enumerate(sensors.district) if d == district)
    now = datetime.now(UTC)
    rows = [
        (
            uuid.uuid4(),
            now - timedelta(seconds=i % 30),
            sensors.ids[device],
            district,
            sensors.kind[device],
            1.0,
            "m",
        )
        for i in range(n)
    ]
    with psycopg.connect(url) as conn:
        BatchWriter(conn, READINGS).write(rows)


MAP_LEVELS = (
    "() => { const d = document.querySelector('#overview-map .js-plotly-plot').data[0];"
    " return Object.fromEntries(d.locations.map((code, i) => [code, d.z[i]])); }"
)


def test_map_draws_all_20_districts_offline_with_live_figures(browser, dashboard_url, seeded_url, registry):
    add_recent_readings(seeded_url, registry, "510104", 42)
    page, refused = offline_page(browser)
    sign_in(page, dashboard_url, "zhaoliu")
    page.wait_for_selector(".kpi-value", timeout=30_000)
    page.wait_for_function(
        "document.querySelectorAll('.choroplethlocation').length === 25", timeout=30_000
    )  # + the core inset
    levels = page.evaluate(MAP_LEVELS)
    assert len(levels) == 20 and set(levels.values()) == {-1}  # no indicator yet: every district "no data"
    kpis = page.locator(".kpi").all_inner_texts()
    assert any("2,000" in k and "视频在线" in k for k in kpis)
    assert any("事件/分钟" in k for k in kpis)
    assert any(k.startswith("0") and "活动告警" in k for k in kpis)
    assert "当前无活动告警" in page.locator(".ticker").inner_text()

    # a red district appears on the map at the next refresh; a quiet one is normal, not blue
    add_risk(seeded_url, "510104", "red", 80.0)
    add_risk(seeded_url, "510105", "normal", 3.0)
    page.wait_for_function("(" + MAP_LEVELS + ")()['510104'] === 4", timeout=30_000)
    assert page.evaluate(MAP_LEVELS)["510105"] == 0
    add_recent_readings(seeded_url, registry, "510104", 5)  # the feed is live: the badge is green
    page.wait_for_function(
        "document.querySelector('#shell-freshness')?.className.includes('ok')", timeout=30_000
    )
    assert "UTC" not in page.locator("#shell-freshness").inner_text()
    assert refused == [], f"the dashboard tried to reach the internet: {refused}"
    page.context.close()


def test_shell_language_clock_user_and_404(browser, dashboard_url):
    page, refused = offline_page(browser)
    sign_in(page, dashboard_url, "wangwu")
    page.wait_for_selector(".kpi-value", timeout=30_000)
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert page.locator(".shell-user").inner_text().startswith("王五")
    assert [a.inner_text() for a in page.locator(".shell-nav a").all()] == [
        "全市态势",
        "值班台",
        "视频点位",
        "运行监控",
    ]
    # the clock shows Chengdu's time (UTC+8), not UTC
    page.wait_for_function("document.querySelector('#shell-clock')?.innerText.length > 0")
    shown = page.locator("#shell-clock").inner_text()
    local = datetime.now(UTC) + timedelta(hours=8)
    assert f"{local:%H:%M}" in shown or f"{local + timedelta(minutes=1):%H:%M}" in shown, shown

    page.goto(dashboard_url + "/?lang=en")
    page.wait_for_selector(".kpi-value", timeout=30_000)
    assert "Operations Centre" in page.locator("h1").inner_text()
    assert page.evaluate("document.documentElement.lang") == "en"
    assert any("cams online" in k for k in page.locator(".kpi").all_inner_texts())

    page.goto(dashboard_url + "/?lang=zh")
    response = page.goto(dashboard_url + "/no-such-page")
    assert response.status == 404
    page.wait_for_selector(".message-page", timeout=30_000)
    assert "页面不存在" in page.locator(".message-page").inner_text()

    page.click(".sign-out button")
    page.wait_for_selector("#username")
    assert page.goto(dashboard_url + "/duty").url.startswith(dashboard_url + "/login")
    assert refused == []
    page.context.close()


def test_many_screens_cost_one_query_per_interval(app_url):
    sources = Sources(app_url, ttl_s=3600)
    results = []
    threads = [threading.Thread(target=lambda: results.append(sources.city.read())) for _ in range(25)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sources.city.queries_run == 1
    assert len({id(r) for r in results}) == 1 and results[0].error is None
    assert results[0].value.totals.cameras == 2000
    # a past moment is read once too, and separately from now
    past = datetime.now(UTC) - timedelta(hours=1)
    assert sources.city.read(at=past) is sources.city.read(at=past)
    assert sources.city.queries_run == 2


def test_unreachable_database_keeps_the_last_picture_and_says_so(tmp_path):
    sources = Sources(f"postgresql://nobody@/x?host={tmp_path}&connect_timeout=1", ttl_s=0)
    sources.pool.timeout = 2
    reading = sources.city.read()
    assert reading.error and reading.value is None


@pytest.mark.parametrize("lang", ["zh"])
def test_login_page_is_chinese_and_sets_safe_cookies(browser, dashboard_url, lang):
    page, _ = offline_page(browser)
    page.goto(dashboard_url + "/")
    assert page.url.startswith(dashboard_url + "/login")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert "登录" in page.locator("button[type=submit]").inner_text()
    page.fill("#username", "wangwu")
    page.fill("#password", "wrong-password")
    page.click("button[type=submit]")
    assert "用户名或密码错误" in page.locator(".login-error").inner_text()
    page.fill("#password", "correct-horse-42")
    page.click("button[type=submit]")
    page.wait_for_selector(".kpi-value", timeout=30_000)
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["citybrain_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    assert cookies["_csrf_token"]["sameSite"] == "Strict"
    page.context.close()
