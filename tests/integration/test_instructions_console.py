"""Leaders' instructions (批示) on the duty console in headless Chromium: a leader instructs on an alert and
on a case, an officer sees them (deadline ticking) and completes one with a note, and the alert's history
tells both; the server refuses the wrong roles."""

import re

import psycopg

from tests.integration.conftest import offline_page, sign_in
from tests.integration.test_duty_console import ROW, _body, _callbacks, _signed_in, open_flood_alert
from tests.integration.test_instructions import add_case

INSTR_ROW = "#duty-instructions .ag-center-cols-container .ag-row"
CASE_ROW = "#duty-cases .ag-center-cols-container .ag-row"


def test_a_leader_instruction_appears_on_the_console_and_an_officer_completes_it(
    browser, dashboard_url, app_url, seeded_url, tmp_path
):
    alert_id = open_flood_alert(app_url)
    case_id = add_case(seeded_url, district="510104")

    leader, refused = offline_page(browser, (1920, 1080))
    sign_in(leader, dashboard_url, "chenju", "/duty")
    leader.locator(ROW).first.wait_for(timeout=30_000)
    assert leader.locator("#duty-instr-done").count() == 0  # leaders instruct, officers complete
    leader.click("#duty-instr-on-alert")  # nothing selected yet
    leader.wait_for_selector("#duty-instr-message.warn", timeout=10_000)
    leader.locator(ROW).first.click()
    leader.click("#duty-instr-on-alert")  # no text yet
    leader.wait_for_function(
        "document.querySelector('#duty-instr-message')?.innerText.includes('批示内容')", timeout=10_000
    )
    leader.fill("#duty-instr-body", "立即组织人员转移低洼地带群众")
    leader.fill("#duty-instr-unit", "双流区应急管理局")
    leader.fill("#duty-instr-hours", "2")
    leader.click("#duty-instr-on-alert")
    leader.wait_for_selector("#duty-instr-message.ok", timeout=10_000)
    # on the selected alert, with its time left, and in the alert's history
    leader.wait_for_selector(".instr-item.open .instr-clock", timeout=10_000)
    assert "陈局：立即组织人员转移低洼地带群众" in leader.locator(".alert-instructions").inner_text()
    assert "双流区应急管理局" in leader.locator(".alert-instructions").inner_text()
    assert re.search(r"剩余 1:5\d:\d\d", leader.locator(".instr-clock").inner_text())
    leader.wait_for_function(
        "document.querySelector('#duty-history')?.innerText.includes('领导批示')", timeout=10_000
    )
    case_row = leader.locator(f"{CASE_ROW}[row-id='{case_id}']")
    assert "交通出行" in case_row.inner_text()  # the category by its name, not its key
    case_row.click()
    leader.fill("#duty-instr-body", "当日内回复市民并反馈")
    leader.fill("#duty-instr-unit", "锦江区城管局")
    leader.click("#duty-instr-on-case")
    leader.wait_for_function(
        f"document.querySelector('#duty-instructions')?.innerText.includes('诉求 {case_id}')", timeout=10_000
    )

    leader.screenshot(path=str(tmp_path / "duty-instructions-leader.png"))
    officer, refused2 = offline_page(browser, (1920, 1080))
    sign_in(officer, dashboard_url, "wangwu", "/duty")
    officer.locator(INSTR_ROW).nth(1).wait_for(timeout=30_000)
    assert officer.locator("#duty-instr-body, #duty-instr-on-alert").count() == 0
    first = officer.locator(INSTR_ROW).first  # the most pressing (earliest deadline) on top
    assert f"告警 #{alert_id}" in first.inner_text() and "双流区应急管理局" in first.inner_text()
    assert re.search(r"1:5\d:\d\d", first.inner_text())  # the time left, ticking in the browser
    assert "待办 2 件 · 超期 0 件" in officer.locator("#duty-instructions-summary").inner_text()
    officer.locator(f"{ROW}[row-id='{alert_id}']").click()
    officer.wait_for_selector(".instr-item.open", timeout=10_000)
    officer.screenshot(path=str(tmp_path / "duty-instructions-1080p.png"))

    first.click()
    officer.click("#duty-instr-done")  # no note
    officer.wait_for_selector("#duty-instr-message.warn", timeout=10_000)
    officer.fill("#duty-instr-note", "已转移 126 人，安置于社区中心")
    officer.click("#duty-instr-done")
    officer.wait_for_selector("#duty-instr-message.ok", timeout=10_000)
    officer.wait_for_function(  # done: in the alert's history with the note, no longer open beside it
        "document.querySelector('#duty-history')?.innerText.includes('已转移 126 人')", timeout=10_000
    )
    assert "批示办结" in officer.locator("#duty-history").inner_text()
    officer.wait_for_selector(".instr-item", state="detached", timeout=10_000)
    officer.wait_for_function(
        "document.querySelectorAll('#duty-instructions .ag-center-cols-container .ag-row').length === 1",
        timeout=10_000,
    )
    assert "待办 1 件" in officer.locator("#duty-instructions-summary").inner_text()
    officer.locator("#duty-f-district").click()  # the district filter narrows them and their counts
    officer.get_by_role("option", name="双流区").click()
    officer.wait_for_function(
        "document.querySelector('#duty-instructions-summary')?.innerText.includes('双流区 · 待办 0 件')",
        timeout=10_000,
    )
    assert officer.locator(INSTR_ROW).count() == 0
    # the leader's console shows it done too, without a reload
    leader.locator(f"{ROW}[row-id='{alert_id}']").click()
    leader.wait_for_function(
        "document.querySelector('#duty-history')?.innerText.includes('批示办结')", timeout=10_000
    )
    leader.wait_for_selector(".instr-item", state="detached", timeout=10_000)

    with psycopg.connect(seeded_url) as conn:
        log = conn.execute(
            "SELECT actor, action FROM alert_log WHERE alert_id = %s AND action LIKE 'instr%%' ORDER BY id",
            (alert_id,),
        ).fetchall()
    assert log == [("chenju", "instruct"), ("wangwu", "instruction_done")]
    big, _ = offline_page(browser, (3840, 2160))
    sign_in(big, dashboard_url, "wangwu", "/duty")
    big.locator(INSTR_ROW).first.wait_for(timeout=30_000)
    big.screenshot(path=str(tmp_path / "duty-instructions-4k.png"))
    assert refused == [] and refused2 == []
    for page in (leader, officer, big):
        page.context.close()


def test_only_leaders_instruct_and_only_officers_complete_on_the_server(browser, dashboard_url):
    admin, _ = _signed_in(browser, dashboard_url, "admin")
    callbacks = [cb for cb in _callbacks(admin) if "duty-instr-message" in cb["output"]]
    give = next(cb for cb in callbacks if any(i["id"] == "duty-instr-on-alert" for i in cb["inputs"]))
    done = next(cb for cb in callbacks if any(i["id"] == "duty-instr-done" for i in cb["inputs"]))
    leader, leader_headers = _signed_in(browser, dashboard_url, "chenju")
    officer, officer_headers = _signed_in(browser, dashboard_url, "wangwu")

    def status(client, headers, cb):
        return client.post("/_dash-update-component", data=_body(cb), headers=headers).status

    assert status(officer, officer_headers, give) == 403
    assert status(leader, leader_headers, done) == 403
    assert status(leader, leader_headers, give) == 200  # allowed (and told to select an alert)
    assert status(officer, officer_headers, done) == 200
