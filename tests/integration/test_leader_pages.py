"""The leaders' pages in headless Chromium on a small known data set (tests/leader_seed.py): a leader
opens the map, clicks a district and reads figures worked out by hand; a replayed moment shows that
moment's levels and alerts, not today's; tables download as CSV and Excel; everyone else is refused,
on the page and in every callback."""

from __future__ import annotations

import csv
import io
import os
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import psycopg
import pytest

from citybrain.alerts.engine import Observation, Signal
from citybrain.alerts.rules import RulesConfig
from citybrain.alerts.service import AlertService
from citybrain.settings import PROJECT_ROOT
from citybrain.store.writer import CAMERA_STATUS, BatchWriter
from tests.integration.conftest import offline_page, sign_in, start_dashboard, stop_dashboard
from tests.integration.test_duty_console import _body, _callbacks, _signed_in
from tests.leader_seed import JINJIANG, PAST, seed

pytestmark = [pytest.mark.integration, pytest.mark.browser]
CHENGDU = ZoneInfo("Asia/Shanghai")
SHOTS = os.environ.get("CITYBRAIN_SCREENSHOTS")  # a directory: save the pages' screenshots there
FLOOD = Observation(
    "water_over_red_line",
    "iot-00011",
    Signal.FIRING,
    6.5,
    {"district": JINJIANG, "device": "iot-00011", "kind": "water_level"},
    "water_level 6.5 at iot-00011",
)
# a pixel of a district's polygon on the map (the inset's, where it is larger), inside its fill and not
# under a label; plotly takes the click on its background layer and finds the polygon itself
CLICK_POINT_JS = """(code) => {
  const paths = [...document.querySelectorAll('#lmap-map path.choroplethlocation')]
      .filter(p => p.__data__ && p.__data__.loc === code);
  for (const p of paths.reverse()) {
    const box = p.getBBox(), m = p.getScreenCTM();
    for (let fy = 0.2; fy < 0.9; fy += 0.1) for (let fx = 0.2; fx < 0.9; fx += 0.1) {
      const pt = new DOMPoint(box.x + fx * box.width, box.y + fy * box.height);
      if (!p.isPointInFill(pt)) continue;
      const s = pt.matrixTransform(m);
      const hit = document.elementFromPoint(s.x, s.y);
      if (hit && hit.tagName !== 'text' && !hit.closest('text')) return [s.x, s.y];
    }
  }
  return null;
}"""


@pytest.fixture
def leader_data(seeded_url, people):
    """The known data set placed around now, and an alert open two hours ago, resolved since."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    seed(seeded_url, now)
    service = AlertService(seeded_url)
    _, events = service.tick(
        now - PAST - timedelta(minutes=5), [FLOOD], RulesConfig.load(PROJECT_ROOT / "config")
    )
    alert_id = next(e.alert_id for e in events if e.action == "open")
    service.resolve(alert_id, "wangwu", "水位回落")
    return now


@pytest.fixture
def live_feed(seeded_url, registry):
    """When taking screenshots: one camera report a second through the batch writer, so the shell shows
    a live feed (the pages' figures are the seeded ones whatever this adds)."""
    if not SHOTS:
        yield
        return
    stop = threading.Event()
    cams = registry[0]

    def feed():
        with psycopg.connect(seeded_url) as conn:
            writer = BatchWriter(conn, CAMERA_STATUS)
            while not stop.wait(1.0):
                writer.write([(uuid.uuid4(), datetime.now(UTC), cams.ids[0], cams.district[0], "online")])

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(5)


@pytest.fixture
def dashboard(app_url, leader_data, live_feed, tmp_path):
    proc, url, log = start_dashboard(app_url, tmp_path)
    yield url
    stop_dashboard(proc, log)


def _text(page, selector: str) -> str:
    return page.locator(selector).inner_text().strip()


def _cell(page, table: str, row: int, col: str) -> str:
    return page.locator(f"#{table} tbody tr").nth(row).locator(f"td[data-col='{col}']").inner_text().strip()


def _shot(page, name: str) -> None:
    """Screenshots at 1080p and 4K (the same layout, twice as large) when CITYBRAIN_SCREENSHOTS is set."""
    if not SHOTS:
        return
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(2500)  # a refresh or two: the freshness badge settles
    page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))
    page.set_viewport_size({"width": 3840, "height": 2160})
    page.wait_for_timeout(2500)  # plotly redraws its responsive charts
    page.screenshot(path=str(Path(SHOTS) / f"{name}-4k.png"))
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.wait_for_timeout(1500)


def test_leader_opens_the_map_clicks_a_district_and_reads_the_hand_computed_figures(browser, dashboard):
    page, refused = offline_page(browser, (1920, 1080))
    sign_in(page, dashboard, "chenju", "/map")
    page.wait_for_selector("#lmap-table tbody tr", timeout=30_000)
    assert "领导驾驶舱" in _text(page, "#shell-nav") and "诉求办理绩效" in _text(page, "#shell-nav")
    rows = page.locator("#lmap-table tbody tr")
    jinjiang = rows.filter(has_text="锦江区")
    assert "正常" in jinjiang.inner_text()  # live: quiet now
    page.wait_for_function("document.querySelectorAll('#lmap-map path.choroplethlocation').length > 20")
    _shot(page, "map")
    # the worst of the last 24 hours: Jinjiang was orange (from the hourly rollup), though normal now
    page.click("#lmap-range >> text=近 24 小时最高")
    page.wait_for_function(
        "[...document.querySelectorAll('#lmap-table tbody tr')]"
        ".some(r => r.innerText.includes('锦江区') && r.innerText.includes('橙色'))",
        timeout=15_000,
    )
    page.click("#lmap-range >> text=当前")
    page.wait_for_function(
        "[...document.querySelectorAll('#lmap-table tbody tr')]"
        ".some(r => r.innerText.includes('锦江区') && r.innerText.includes('正常'))",
        timeout=15_000,
    )

    point = page.evaluate(CLICK_POINT_JS, JINJIANG)
    assert point, "no clickable pixel of Jinjiang on the map"
    page.mouse.click(*point)
    page.wait_for_url(lambda url: url.endswith(f"/district/{JINJIANG}"), timeout=15_000)
    page.wait_for_function(
        "document.querySelector('#kpi-received .kpi-value') &&"
        " document.querySelector('#kpi-received .kpi-value').innerText === '5'",
        timeout=30_000,
    )
    assert _text(page, ".district-name") == "锦江区"
    assert _text(page, "#kpi-handled .kpi-value") == "3"
    assert _text(page, "#kpi-resolution .kpi-value") == "60.0%"
    assert _text(page, "#kpi-on-time .kpi-value") == "66.7%"
    assert _text(page, "#kpi-satisfaction .kpi-value") == "66.7%"
    assert _text(page, "#kpi-overdue .kpi-value") == "1"
    assert _text(page, "#kpi-emergencies .kpi-value") == "1"
    assert "正常" in _text(page, "#district-level-chip")
    # beside the city's figures and the district's own baseline (the four days before: c0 only)
    table = "district-cases-table"
    assert [_cell(page, table, 0, c) for c in ("district", "city", "baseline")] == ["5", "6", "0.2"]  # ¼
    assert [_cell(page, table, 2, c) for c in ("district", "city", "baseline")] == [
        "60.0%",
        "66.7%",
        "100.0%",
    ]
    assert [_cell(page, table, 3, c) for c in ("district", "city")] == ["66.7%", "75.0%"]
    assert [_cell(page, table, 4, c) for c in ("district", "city")] == ["66.7%", "75.0%"]
    assert _cell(page, "district-categories-table", 0, "category") == "市容环境"
    assert _cell(page, "district-categories-table", 0, "received") == "3"
    # the trend: 180 final minutes, orange (55) until 90 minutes ago, quiet (5) since
    scores = page.evaluate(
        "document.querySelector('#district-chart .js-plotly-plot').data.find(t => t.name === '风险分值').y"
    )
    assert len(scores) == 180 and scores.count(55) == 91 and scores.count(5) == 89
    # seven days are shown per hour (the hourly rollup: the three hours' means), never per minute
    page.click("#district-period >> text=近 7 天")
    page.wait_for_function(
        "(() => { const g = document.querySelector('#district-chart .js-plotly-plot');"
        " const s = g && g.data.find(t => t.name === '风险分值'); return s && s.y.length <= 4; })()",
        timeout=15_000,
    )
    assert page.locator("#district-resolution input[value='1m']").is_disabled()
    page.click("#district-period >> text=近 24 小时")
    page.click("#district-resolution >> text=按分钟")
    # the alert of two hours ago is resolved now
    assert "已处置" in _text(page, "#district-alerts-table")
    _shot(page, "district")
    assert refused == []
    page.context.close()


def test_replay_shows_the_levels_and_alerts_of_that_moment(browser, dashboard, leader_data):
    page, refused = offline_page(browser, (1920, 1080))
    past = (leader_data - PAST).astimezone(CHENGDU)
    at = f"{past:%Y-%m-%dT%H:%M}"
    sign_in(page, dashboard, "chenju", f"/map?at={at}")
    page.wait_for_selector("#lmap-table tbody tr", timeout=30_000)
    assert "橙色 II级" in page.locator("#lmap-table tbody tr").filter(has_text="锦江区").inner_text()
    assert f"{past:%Y-%m-%d %H:%M}" in _text(page, "#replay-status")
    _shot(page, "map-replay")
    # the district's page at that moment: orange because of the gauge, the alert open then
    page.locator("#lmap-table a", has_text="锦江区").click()
    page.wait_for_url(lambda url: f"/district/{JINJIANG}?at=" in url, timeout=15_000)
    page.wait_for_function(
        "(document.querySelector('#district-level-chip') || {}).innerText?.includes('橙色')", timeout=30_000
    )
    assert "水位超警戒线" in _text(page, ".district-level")
    page.wait_for_selector("#district-alerts-table tr.alert-open", timeout=15_000)
    # case figures up to then: c1 handled, c2 received; c3-c5 not yet
    page.wait_for_function(
        "(document.querySelector('#kpi-received .kpi-value') || {}).innerText === '4'", timeout=15_000
    )  # c1, c2, c3 (t-5h) and c4 (t-3h) had arrived two hours ago; c5 (t-2h) arrives at that very minute
    assert _text(page, "#kpi-handled .kpi-value") == "3"  # c1 (t-8h), c2 (t-5h), c3 (t-3h)
    _shot(page, "district-replay")
    # the slider's "live" drops the moment
    page.click("#replay-live")
    page.wait_for_url(lambda url: "at=" not in url and f"/district/{JINJIANG}" in url, timeout=15_000)
    page.wait_for_function(
        "(document.querySelector('#district-level-chip') || {}).innerText?.includes('正常')", timeout=30_000
    )
    # a time typed into the replay bar goes into the address
    earlier = past - timedelta(minutes=30)
    page.fill("#replay-at", f"{earlier:%Y-%m-%dT%H:%M}")
    page.press("#replay-at", "Enter")
    page.wait_for_url(lambda url: f"at={earlier:%Y-%m-%dT%H}%3A{earlier:%M}" in url, timeout=15_000)
    page.wait_for_function(
        f"(document.querySelector('#replay-status') || {{}}).innerText?.includes('{earlier:%H:%M}')",
        timeout=15_000,
    )
    assert refused == []
    page.context.close()


def test_case_performance_ranks_and_downloads(browser, dashboard, tmp_path):
    page, refused = offline_page(browser, (1920, 1080))
    sign_in(page, dashboard, "chenju", "/cases")
    page.wait_for_selector("#cases-districts-table tbody tr", timeout=30_000)
    page.click("#cases-period >> text=本年")
    page.click("#cases-rank >> text=按期办结率")
    # grid-002 handled on time all it handled (c3, and c0 unless the year began in the last three days);
    # grid-001 one of two (c2 was late)
    page.wait_for_function(
        """() => {
          const rows = [...document.querySelectorAll('#cases-units-table tbody tr')];
          const cell = (r, c) => rows[r] && rows[r].querySelector(`td[data-col=${c}]`).innerText;
          return rows.length === 2 && cell(0, 'name') === 'grid-002' && cell(1, 'on_time') === '50.0%';
        }""",
        timeout=15_000,
    )
    units = page.locator("#cases-units-table tbody tr")
    assert units.count() == 2
    assert _cell(page, "cases-units-table", 1, "name") == "grid-001"
    # the report rows: today / week / month / year, each at least the last 24 hours' six cases
    assert page.locator("#cases-report-table tbody tr").count() == 4
    _shot(page, "cases")
    units_card = page.locator(".leader-card", has=page.locator("#cases-units"))

    with page.expect_download() as download:
        units_card.locator(".export-csv").click()
    text = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    table = list(csv.DictReader(io.StringIO(text)))
    assert [r["承办单位"] for r in table][:1] == ["grid-002"]
    with page.expect_download() as download:
        units_card.locator(".export-xlsx").click()
    assert download.value.suggested_filename.startswith("units-ranked-year-")
    assert download.value.suggested_filename.endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active
    header = [c.value for c in sheet[1]]
    assert "承办单位" in header and "按期办结率 (%)" in header
    rows = {r[header.index("承办单位")]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["grid-001"][header.index("按期办结率 (%)")] == 50.0  # a number a spreadsheet can chart
    assert refused == []
    page.context.close()


def test_officers_and_viewers_are_refused_the_pages_and_the_downloads(browser, dashboard):
    for who in ("wangwu", "zhaoliu"):
        ctx, headers = _signed_in(browser, dashboard, who)
        for path in ("/map", f"/district/{JINJIANG}", "/cases"):
            assert ctx.get(path).status == 403, (who, path)
    admin, _ = _signed_in(browser, dashboard, "admin")
    mine = [
        cb
        for cb in _callbacks(admin)
        if cb["output"].split(".")[0].startswith(("lmap-", "district-", "cases-", "replay-"))
    ]
    assert any("download" in cb["output"] for cb in mine)
    officer, officer_headers = _signed_in(browser, dashboard, "wangwu")
    leader, leader_headers = _signed_in(browser, dashboard, "chenju")
    for cb in mine:
        assert officer.post("/_dash-update-component", data=_body(cb), headers=officer_headers).status == 403
        assert leader.post("/_dash-update-component", data=_body(cb), headers=leader_headers).status != 403
