"""The video-point map: the store's reads now and at a past moment, the page in headless Chromium (points
drawn, a clicked district's points down, CSV and Excel exports, roles), and the benchmark scaled down."""

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import openpyxl
import psycopg

from citybrain.bench import video_map as bench
from citybrain.bench.runner import save
from citybrain.settings import PROJECT_ROOT
from citybrain.store import video
from tests.integration.conftest import offline_page, sign_in

DOWN_POINTS = "#video-map .scattergeo .point"


def test_the_picture_sums_every_camera_and_lists_the_ones_down(seeded_url):
    seeded = bench.seed_statuses(seeded_url, offline=0.05, fault=0.02)
    with psycopg.connect(seeded_url) as conn:
        picture = video.picture(conn, None, cell_deg=0.02)
        (first, *_) = picture.down
        in_district = video.down_in(conn, first["district"], None)
    assert sum(r["total"] for r in picture.counts) == 2000
    assert sum(r["online"] for r in picture.counts) == seeded["online"] == sum(n for *_, n in picture.grid)
    assert picture.down_total == seeded["offline"] + seeded["fault"] == len(picture.down)
    assert {r["status"] for r in picture.down} == {"offline", "fault"}
    sinces = [r["since"] for r in picture.down]
    assert sinces == sorted(sinces)  # longest down first
    assert in_district and all(r["district"] == first["district"] for r in in_district)
    assert in_district[0]["camera_id"] == first["camera_id"]


def test_a_past_moment_is_folded_from_the_status_events(seeded_url):
    t0 = datetime.now(UTC) - timedelta(hours=3)
    events = [  # cam-000001: online, down at +10 min (reported twice), back at +60; cam-000002 faulty at +5
        ("cam-000001", "online", t0),
        ("cam-000001", "offline", t0 + timedelta(minutes=10)),
        ("cam-000001", "offline", t0 + timedelta(minutes=20)),
        ("cam-000001", "online", t0 + timedelta(minutes=60)),
        ("cam-000002", "fault", t0 + timedelta(minutes=5)),
    ]
    with psycopg.connect(seeded_url) as conn:
        for camera, status, at in events:
            conn.execute(
                "INSERT INTO camera_status (event_id, event_time, camera_id, district, status)"
                " SELECT %s, %s, camera_id, district, %s FROM cameras WHERE camera_id = %s",
                (uuid.uuid4(), at, status, camera),
            )
        conn.commit()
        during = video.picture(conn, t0 + timedelta(minutes=30))
        after = video.picture(conn, t0 + timedelta(minutes=90))
        district = conn.execute("SELECT district FROM cameras WHERE camera_id = 'cam-000001'").fetchone()[0]
        listed = video.down_in(conn, district, t0 + timedelta(minutes=30))
    down = {r["camera_id"]: (r["status"], r["since"]) for r in during.down}
    assert down == {
        "cam-000001": ("offline", t0 + timedelta(minutes=10)),  # since the run began, not its last report
        "cam-000002": ("fault", t0 + timedelta(minutes=5)),
    }
    assert sum(r["online"] for r in during.counts) == 0 and sum(r["unknown"] for r in during.counts) == 1998
    assert {r["camera_id"] for r in after.down} == {"cam-000002"}
    assert sum(r["online"] for r in after.counts) == 1
    assert "cam-000001" in {r["camera_id"] for r in listed}


def test_the_video_page_draws_every_point_down_and_exports_a_district(
    browser, dashboard_url, seeded_url, tmp_path
):
    seeded = bench.seed_statuses(seeded_url, offline=0.04, fault=0.01)
    with psycopg.connect(seeded_url) as conn:
        picture = video.picture(conn, None)
    district = max(picture.counts, key=lambda r: r["offline"] + r["fault"])
    expected = district["offline"] + district["fault"]

    page, refused = offline_page(browser, (1920, 1080))
    sign_in(page, dashboard_url, "chenju", "/video")
    page.wait_for_function(
        f"document.querySelectorAll('{DOWN_POINTS}').length >= {len(picture.grid) + picture.down_total}",
        timeout=30_000,
    )
    legend = page.locator("#video-legend").inner_text()
    assert f"{seeded['online']:,}" in legend and str(seeded["offline"]) in legend
    page.locator(".video-side .filter").click()  # choose the district (a map click chooses it too)
    page.get_by_role("option", name=_name(district["district"])).click()
    page.wait_for_function(
        f"document.querySelector('#video-down-title')?.innerText.includes('{_name(district['district'])}')",
        timeout=10_000,
    )
    assert f"{expected}" in page.locator("#video-down-title").inner_text()
    first_row = page.locator("#video-down .ag-center-cols-container .ag-row").first.inner_text()
    assert "cam-" in first_row and ":" in first_row  # how long it has been down, ticking
    page.screenshot(path=str(tmp_path / "video-1080p.png"))

    with page.expect_download() as got:
        page.click("#video-csv")
    text = got.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == expected and rows[0]["点位编号"].startswith("cam-")
    with page.expect_download() as got:
        page.click("#video-xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(got.value.path().read_bytes())).active
    assert sheet.max_row == expected + 1 and sheet.cell(1, 1).value == "点位编号"

    # a click on a point down chooses its district
    offline = [r for r in picture.down if r["status"] == "offline"]
    k, other = next((i, r) for i, r in enumerate(offline) if r["district"] != district["district"])
    traces = page.locator("#video-map .trace.scattergeo")  # density, outlines, labels, faulty, offline
    traces.nth(4).locator(".point").nth(k).click(force=True)
    page.wait_for_function(
        f"document.querySelector('#video-down-title')?.innerText.includes('{_name(other['district'])}')",
        timeout=10_000,
    )
    big, _ = offline_page(browser, (3840, 2160))
    sign_in(big, dashboard_url, "wangwu", "/video")
    big.wait_for_function(f"document.querySelectorAll('{DOWN_POINTS}').length > 0", timeout=30_000)
    big.screenshot(path=str(tmp_path / "video-4k.png"))
    assert refused == []
    for p in (page, big):
        p.context.close()

    for name in ("zhaoliu", "wall1"):  # viewers and wall screens may not open it
        other_page, _ = offline_page(browser)
        sign_in(other_page, dashboard_url, name)
        assert other_page.goto(dashboard_url + "/video").status == 403
        assert other_page.locator("#video-map").count() == 0
        other_page.context.close()


def _name(code: str) -> str:
    import yaml

    spec = yaml.safe_load((PROJECT_ROOT / "config" / "city.yaml").read_text(encoding="utf-8"))
    return next(d["name_zh"] for d in spec["districts"] if d["adcode"] == code)


def test_bench_video_measures_server_payload_and_drawing(database_url, browser, tmp_path):
    result = save(
        bench.run_standalone(
            database_url,
            PROJECT_ROOT / "config",
            cameras=3000,
            rounds=1,
            echo=lambda _: None,
            browser=browser,
        ),
        tmp_path / "bench-video.json",
    )
    saved = json.loads((tmp_path / "bench-video.json").read_text())
    assert saved == json.loads(json.dumps(result))
    assert saved["cameras"] == 3000 and saved["online"] + saved["down"] == 3000
    assert saved["server_total_ms"] > 0 and saved["payload_bytes"] > 10_000
    assert 0 < saved["patch_bytes"] < saved["payload_bytes"] / 2  # refreshes leave the shapes out
    assert saved["render_ms"] > 0, saved.get("render_error")
    assert saved["points_drawn"] == saved["density_cells"] + saved["down"]  # every point reached the screen
