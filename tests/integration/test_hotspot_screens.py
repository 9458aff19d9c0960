"""Appeal hot spots on the screens, in headless Chromium: circles sized by case count on the wall map
(the main map and the urban-core inset) at 1920×1080 and 3840×2160, and a hot-spot alert's cases on the
duty console. The hot spots and their alerts are made by the real detector, store and alert engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
import pytest
import shapely

from citybrain.alerts.rules import RulesConfig
from citybrain.alerts.service import AlertService
from citybrain.hotspots.config import HotspotConfig
from citybrain.hotspots.detect import Detector, city_locator
from citybrain.risk.config import RiskConfig
from citybrain.settings import PROJECT_ROOT
from citybrain.sim.hotspots import plant
from citybrain.store import hotspots as hotspot_store
from citybrain.stream import alerting
from tests.integration.conftest import offline_page, sign_in, start_dashboard, stop_dashboard
from tests.integration.test_wall import Feed, seed_city_state

pytestmark = pytest.mark.integration

ROW = "#duty-queue .ag-center-cols-container .ag-row"
# (name, category, where, cases, radius): a burst main on the Wuhou/Jinjiang border in the core,
# a night-time noise source in Shuangliu, a gas smell in Xindu
SPOTS = [
    ("main", "water_supply", ("510104", "510107"), 22, 300),
    ("bar", "noise", ("510116",), 9, 150),
    ("gas", "gas_safety", ("510114",), 5, 120),
]


def _where(city, districts: tuple[str, ...]) -> tuple[float, float]:
    """A point on the border of two districts, or inside one away from where its name is written."""
    frame = city.frame.set_index("adcode")
    if len(districts) == 2:
        border = shapely.intersection(*(frame.loc[d, "geometry"] for d in districts))
        p = border.interpolate(0.3, normalized=True)
        return p.x, p.y
    shape = frame.loc[districts[0], "geometry"]
    label = shape.representative_point()
    for dx, dy in ((0.08, 0.0), (-0.08, 0.0), (0.0, -0.12), (0.0, 0.1)):
        p = shapely.Point(label.x + dx, label.y + dy)
        if shape.buffer(-0.01).contains(p):
            return p.x, p.y
    return label.x, label.y


def plant_hotspots(url: str, city) -> list:
    """Plant the clusters, run the detector over them, store its state and let the alert engine open the
    hot-spot alerts; the cases are on record as open."""
    cfg = HotspotConfig.load(PROJECT_ROOT / "config")
    locate = city_locator(city)
    now = datetime.now(UTC)
    rng = np.random.default_rng(4)
    planted = [
        plant(name, category, *_where(city, where), n, radius, now - timedelta(minutes=15), 600, rng)
        for name, category, where, n, radius in SPOTS
    ]
    cases = [c for p in planted for c in p.cases(locate)]
    detector = Detector(cfg, locate)
    changes = detector.add(cases, now)
    with psycopg.connect(url) as conn, conn.transaction():
        hotspot_store.save(conn, changes, now, now)
        for c in cases:
            conn.execute(
                "INSERT INTO cases (case_id, district, category, urgency, status, deadline, opened_at,"
                " last_event_time) VALUES (%s, %s, %s, 'normal', 'assigned', %s, %s, %s)",
                (c.case_id, c.district, c.category, c.event_time + timedelta(hours=4), c.event_time, now),
            )
    rules = RulesConfig.load(PROJECT_ROOT / "config")
    alerting.tick(AlertService(url), rules, RiskConfig.load(PROJECT_ROOT / "config"), now)
    assert len(detector.hotspots) == len(SPOTS)
    return planted


@pytest.fixture
def hotspot_city(seeded_url, registry, city):
    seed_city_state(seeded_url)
    planted = plant_hotspots(seeded_url, city)
    feed = Feed(seeded_url, registry).start()
    yield planted
    feed.stop()


@pytest.fixture
def screens(app_url, people, tmp_path, hotspot_city):
    proc, url, log = start_dashboard(app_url, tmp_path)
    yield url, hotspot_city
    stop_dashboard(proc, log)


CIRCLES = """() => {
  const d = document.querySelector('#overview-map .js-plotly-plot').data;
  const spots = d.filter(t => t.mode === 'markers+text');
  return spots.map(t => ({geo: t.geo, text: t.text, size: t.marker.size}));
}"""


@pytest.mark.parametrize("viewport", [(1920, 1080), (3840, 2160)], ids=["1080p", "4k"])
def test_the_wall_draws_hot_spots_as_circles_sized_by_cases(browser, screens, viewport, tmp_path):
    url, _ = screens
    page, refused = offline_page(browser, viewport)
    sign_in(page, url, "wall1")
    page.wait_for_function("document.querySelectorAll('.choroplethlocation').length >= 25", timeout=30_000)
    page.wait_for_function(
        "document.querySelector('#overview-map .js-plotly-plot').data.some("
        " t => t.mode === 'markers+text' && t.text.length === 3)",
        timeout=30_000,
    )
    page.wait_for_function(
        "document.querySelector('#shell-freshness').className.includes('ok')", timeout=30_000
    )
    circles = page.evaluate(CIRCLES)
    main, inset = circles
    assert main["geo"] in (None, "geo") and inset["geo"] == "geo2"
    counts = [int(t) for t in main["text"]]
    assert sorted(counts) == [5, 9, 22]
    sizes = dict(zip(counts, main["size"], strict=True))
    assert sizes[22] > sizes[9] > sizes[5] >= 0.02 * viewport[1]  # larger with more cases, legible from 5 m
    assert inset["text"] == ["22"]  # the core inset shows the core's hot spot only
    legend = page.evaluate(
        "() => document.querySelector('#overview-map .js-plotly-plot').layout.annotations.map(a => a.text)"
    )
    assert any("诉求热点" in text for text in legend)
    page.screenshot(path=str(tmp_path / f"wall-hotspots-{viewport[0]}x{viewport[1]}.png"))
    assert refused == []
    page.context.close()


def test_the_duty_console_lists_a_hot_spots_cases(browser, screens, tmp_path):
    url, planted = screens
    page, _ = offline_page(browser, (1920, 1080))
    sign_in(page, url, "wangwu", "/duty")
    row = page.locator(ROW, has_text="热点").filter(has_text="22").first
    row.wait_for(timeout=30_000)
    assert "供排水诉求热点：22 件" in row.inner_text()
    row.click()
    page.wait_for_selector(".hotspot-case-table tbody tr", timeout=10_000)
    head = page.locator(".hotspot-cases .panel-title").inner_text()
    assert "热点内诉求（22 件）" in head and "涉及 锦江区、武侯区" in head  # one hot spot, both districts
    ids = page.locator(".hotspot-case-table .case-id").all_inner_texts()
    assert sorted(ids) == sorted(planted[0].case_ids)
    table = page.locator(".hotspot-case-table").inner_text()
    assert "武侯区" in table and "锦江区" in table and "供水" in table and "已派单" in table
    page.screenshot(path=str(tmp_path / "duty-hotspot.png"))
    page.context.close()


def test_the_leader_map_and_the_district_page_show_hot_spots(browser, screens, seeded_url, tmp_path):
    url, planted = screens
    with psycopg.connect(seeded_url) as conn:
        main = next(h for h in hotspot_store.active(conn) if h["case_count"] == 22)
    page, refused = offline_page(browser, (1920, 1080))
    sign_in(page, url, "chenju", "/map")
    page.wait_for_function(
        "document.querySelector('#lmap-map .js-plotly-plot') && document.querySelector('#lmap-map"
        " .js-plotly-plot').data.some(t => t.mode === 'markers+text' && t.text.length === 3)",
        timeout=30_000,
    )
    page.screenshot(path=str(tmp_path / "leader-map-hotspots.png"))
    page.goto(f"{url}/district/{main['district']}")
    item = page.locator(".hotspots-card .hotspot-item").first
    item.wait_for(timeout=30_000)
    text = page.locator(".hotspots-card").inner_text()
    assert "近 24 小时诉求热点" in text and "22 件" in text and "进行中" in text
    assert "锦江区" in text and "武侯区" in text  # the border hot spot spans both
    page.screenshot(path=str(tmp_path / "district-hotspots.png"))
    assert refused == []
    page.context.close()
