"""The dashboard served by `citybrain dashboard` over a seeded database, in headless Chromium."""

import json
import threading
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from playwright.sync_api import sync_playwright

from citybrain.dashboard.data import SnapshotCache
from citybrain.runtime.supervisor import stop_process_group
from citybrain.store.writer import READINGS, BatchWriter
from tests.helpers import free_port, start_citybrain, wait_until

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def add_risk(url, district: str, level: str, score: float, window_s: int = 900) -> None:
    contributions = {"camera_offline_ratio": score * 0.8, "open_emergencies": score * 0.2}
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO indicators (window_end, district, window_s, score, level, final, sub_values, contributions)"
            " VALUES (now(), %s, %s, %s, %s, false, '{}', %s)",
            (district, window_s, score, level, json.dumps(contributions)),
        )


def add_recent_readings(url, registry, district: str, n: int) -> None:
    _, sensors = registry
    device = next(i for i, d in enumerate(sensors.district) if d == district)
    now = datetime.now(UTC)
    rows = [(uuid.uuid4(), now - timedelta(seconds=i % 30), sensors.ids[device], district,
             sensors.kind[device], 1.0, "m") for i in range(n)]
    with psycopg.connect(url) as conn:
        BatchWriter(conn, READINGS).write(rows)


@pytest.fixture
def dashboard_url(seeded_url, registry, tmp_path):
    add_recent_readings(seeded_url, registry, "510104", 42)
    port = free_port()
    proc = start_citybrain(["dashboard"], tmp_path / "dashboard.log", database_url=seeded_url,
                           dashboard_port=port, dashboard_refresh_s=1)
    url = f"http://127.0.0.1:{port}/"

    def answers():
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.status == 200
        except OSError:
            assert proc.poll() is None, (tmp_path / "dashboard.log").read_text()
            return False

    wait_until(answers, 60, what="the dashboard to answer")
    yield url
    stop_process_group(proc, grace_s=5)


def open_offline(browser, url):
    """A page that may reach only localhost; returns (page, list of refused external URLs)."""
    page = browser.new_page(viewport={"width": 1600, "height": 900})
    refused = []

    def route(r):
        if r.request.url.startswith(("http://127.0.0.1", "http://localhost")):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(url)
    return page, refused


MAP_LEVELS = (
    "() => { const d = document.querySelector('#overview-map .js-plotly-plot').data[0];"
    " return Object.fromEntries(d.locations.map((code, i) => [code, d.z[i]])); }"
)


def test_map_draws_all_20_districts_offline_with_live_figures(browser, dashboard_url, seeded_url):
    page, refused = open_offline(browser, dashboard_url)
    page.wait_for_selector(".kpi-value", timeout=30_000)
    page.wait_for_function("document.querySelectorAll('.choroplethlocation').length === 20", timeout=30_000)
    levels = page.evaluate(MAP_LEVELS)
    assert len(levels) == 20 and set(levels.values()) == {-1}  # no indicator yet: every district grey
    kpis = page.locator(".kpi").all_inner_texts()
    assert any("2,000" in k and "视频点位" in k for k in kpis)
    assert any("42" in k and "事件/分钟" in k for k in kpis)
    assert any(k.startswith("0") and "活动告警" in k for k in kpis)
    assert "全市各区县均为蓝色" in page.locator("#overview-at-risk").inner_text()

    # a red district appears on the map and in the panel, with the reason first, at the next refresh
    add_risk(seeded_url, "510104", "red", 80.0)
    add_risk(seeded_url, "510105", "blue", 3.0)
    page.wait_for_function("(" + MAP_LEVELS + ")()['510104'] === 3", timeout=30_000)
    assert page.evaluate(MAP_LEVELS)["510105"] == 0
    panel = page.locator("#overview-at-risk .risk-item")
    assert panel.count() == 1
    assert panel.first.locator(".risk-district").inner_text() == "锦江区"
    assert "红色 I级 · 80" in panel.first.inner_text()
    assert panel.first.locator("li").first.inner_text().startswith("视频点位离线")
    assert "ok" in page.locator("#overview-freshness").get_attribute("class")
    assert refused == [], f"the dashboard tried to reach the internet: {refused}"
    page.close()


def test_english_ui(browser, dashboard_url):
    page, refused = open_offline(browser, dashboard_url + "?lang=en")
    page.wait_for_selector(".kpi-value", timeout=30_000)
    assert "Operations Centre" in page.locator("h1").inner_text()
    assert any("video points" in k for k in page.locator(".kpi").all_inner_texts())
    assert refused == []
    page.close()


def test_many_screens_cost_one_query_per_interval(seeded_url):
    cache = SnapshotCache(seeded_url, ttl_s=3600)
    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.snapshot())) for _ in range(25)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.queries_run == 1
    assert len({id(r) for r in results}) == 1 and results[0].error is None
    assert results[0].totals.cameras == 2000


def test_unreachable_database_keeps_the_last_picture_and_says_so(tmp_path):
    cache = SnapshotCache(f"postgresql://nobody@/x?host={tmp_path}&connect_timeout=1", ttl_s=0)
    cache.pool.timeout = 2
    snapshot = cache.snapshot()
    assert snapshot.error and snapshot.totals is None
