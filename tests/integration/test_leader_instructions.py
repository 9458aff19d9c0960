"""Leaders' instructions on the leaders' pages: open and overdue per district in the map's table and its
download, on a district's page (and as they were at a replayed moment)."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from citybrain.alerts.instructions import InstructionService
from tests.integration.conftest import offline_page, sign_in, start_dashboard, stop_dashboard
from tests.integration.test_instructions import add_case
from tests.leader_seed import JINJIANG, seed

pytestmark = [pytest.mark.integration, pytest.mark.browser]
ROW = "#lmap-table tbody tr"


@pytest.fixture
def dashboard(seeded_url, app_url, people, tmp_path):
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    seed(seeded_url, now)
    service = InstructionService(app_url)
    case_id = add_case(seeded_url, "12345-90001", JINJIANG)
    service.give("chenju", "当日回复市民", "锦江区城管局", 2, case_id=case_id)
    service.give("chenju", "立即到场处置", "锦江区应急管理局", 0.0005, case_id=case_id)  # due in 2 s
    time.sleep(2.5)  # … and overdue now
    proc, url, log = start_dashboard(app_url, tmp_path)
    yield url, now
    stop_dashboard(proc, log)


def test_open_and_overdue_instructions_per_district_on_the_leaders_pages(browser, dashboard, tmp_path):
    url, now = dashboard
    page, refused = offline_page(browser, (1920, 1080))
    sign_in(page, url, "chenju", "/map")
    page.wait_for_selector(ROW, timeout=30_000)
    row = page.locator(ROW).filter(has_text="锦江区").first
    assert row.locator("td[data-col='instr_open']").inner_text().strip() == "2"
    assert row.locator("td[data-col='instr_overdue']").inner_text().strip() == "1"
    page.screenshot(path=str(tmp_path / "map-instructions.png"))
    others = page.locator(ROW).filter(has_not_text="锦江区")
    assert {
        others.nth(i).locator("td[data-col='instr_open']").inner_text() for i in range(others.count())
    } == {"0"}
    with page.expect_download() as got:
        page.locator("button.export-csv").first.click()
    rows = list(csv.DictReader(io.StringIO(got.value.path().read_text(encoding="utf-8-sig"))))
    jinjiang = next(r for r in rows if "锦江" in "".join(r.values()))
    assert jinjiang["待办批示"] == "2" and jinjiang["超期批示"] == "1"

    page.goto(f"{url}/district/{JINJIANG}")
    page.wait_for_selector("#kpi-instructions", timeout=30_000)
    page.wait_for_function(
        "document.querySelector('#kpi-instructions .kpi-value')?.innerText.trim() === '2 / 1'", timeout=15_000
    )
    assert "alarm" in page.locator("#kpi-instructions").get_attribute("class")
    page.screenshot(path=str(tmp_path / "district-instructions.png"))
    # an hour ago neither had been given
    before = (now - timedelta(hours=1)).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")
    page.goto(f"{url}/district/{JINJIANG}?at={before}")
    page.wait_for_function(
        "document.querySelector('#kpi-instructions .kpi-value')?.innerText.trim() === '0 / 0'", timeout=15_000
    )
    assert refused == []
    page.context.close()
