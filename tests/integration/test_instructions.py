"""Leaders' instructions (批示) in the database, run as the application role: who may give and complete
them, the alert log entries, counts per district at any moment, and that no route rewrites them."""

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from citybrain.alerts.instructions import InstructionService
from citybrain.alerts.service import AlertError, Conflict, NotFound
from citybrain.store import duty
from citybrain.store import instructions as store
from tests.integration.test_database_role import REFUSED, opened_alert  # gas alarm in 510105


def add_case(url, case_id="12345-00042", district="510104"):
    now = datetime.now(UTC)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO cases (case_id, district, category, urgency, status, deadline, opened_at,"
            " last_event_time) VALUES (%s, %s, 'traffic', 'normal', 'created', %s, %s, %s)",
            (case_id, district, now + timedelta(hours=4), now, now),
        )
    return case_id


def test_a_leader_instructs_an_officer_completes_and_the_alert_log_tells_both(app_url, people):
    alert_id = opened_alert(app_url)
    service = InstructionService(app_url)
    given = service.give("chenju", " 立即组织排查燃气管线 ", "青羊区应急管理局", 2, alert_id=alert_id)
    assert given["district"] == "510105" and given["body"] == "立即组织排查燃气管线"
    assert timedelta(hours=1.9) < given["deadline"] - given["created_at"] < timedelta(hours=2.1)

    with psycopg.connect(app_url) as conn:
        (open_one,) = store.listing(conn, None, alert_id=alert_id)
        assert open_one["open"] and not open_one["overdue"] and open_one["created_by"] == "chenju"
        assert store.district_counts(conn, None)["510105"] == {"open": 1, "overdue": 0}
        later = datetime.now(UTC) + timedelta(hours=3)  # past its deadline and still open: overdue
        assert store.district_counts(conn, later)["510105"] == {"open": 1, "overdue": 1}
        assert store.listing(conn, later)[0]["overdue"]

    done = service.complete(given["id"], "wangwu", "已排查，无泄漏")
    assert done["done_by"] == "wangwu" and not done["open"]
    with pytest.raises(Conflict, match="already completed by wangwu"):
        service.complete(given["id"], "lisi", "我也做了")

    with psycopg.connect(app_url) as conn:
        assert store.listing(conn, None) == []
        assert store.district_counts(conn, None) == {None: {"open": 0, "overdue": 0}}
        (closed,) = store.listing(conn, None, open_only=False)
        assert closed["note"] == "已排查，无泄漏" and not closed["done_late"]
        # the moment before it was done, it was open; before it was given, it did not exist
        assert store.district_counts(conn, closed["done_at"] - timedelta(microseconds=1))[None]["open"] == 1
        assert store.listing(conn, given["created_at"] - timedelta(seconds=1), open_only=False) == []
        log = duty.alert_history(conn, alert_id, None)
    entries = [(e["action"], e["actor"], e["note"]) for e in log]
    assert entries[-2:] == [
        ("instruct", "chenju", "立即组织排查燃气管线"),
        ("instruction_done", "wangwu", "已排查，无泄漏"),
    ]
    assert log[-2]["after"]["unit"] == "青羊区应急管理局"


def test_instructions_on_cases_and_who_may_do_what(app_url, seeded_url, people):
    case_id = add_case(seeded_url)
    service = InstructionService(app_url)
    given = service.give("admin", "当日回复市民", "锦江区城管局", 24, case_id=case_id)
    assert given["district"] == "510104" and given["alert_id"] is None

    refusals = [
        (lambda: service.give("wangwu", "x", "y", 1, case_id=case_id), "given by leaders"),  # an officer
        (lambda: service.give("zhaoliu", "x", "y", 1, case_id=case_id), "given by leaders"),  # a viewer
        (lambda: service.give("nobody", "x", "y", 1, case_id=case_id), "no user"),
        (lambda: service.give("chenju", " ", "y", 1, case_id=case_id), "needs its text"),
        (lambda: service.give("chenju", "x", "", 1, case_id=case_id), "needs its text"),
        (lambda: service.give("chenju", "x", "y", 0, case_id=case_id), "deadline"),
        (lambda: service.give("chenju", "x", "y", 1), "one alert or one case"),
        (lambda: service.complete(given["id"], "chenju", "done"), "completed by duty officers"),
        (lambda: service.complete(given["id"], "wangwu", "  "), "needs a note"),
    ]
    for attempt, why in refusals:
        with pytest.raises(AlertError, match=why):
            attempt()
    with pytest.raises(NotFound):
        service.give("chenju", "x", "y", 1, case_id="12345-99999")
    with pytest.raises(NotFound):
        service.complete(999_999, "wangwu", "done")
    assert service.complete(given["id"], "admin", "已回复")["done_by"] == "admin"


def test_the_app_role_cannot_rewrite_an_instruction_or_its_completion(app_url, seeded_url, people):
    service = InstructionService(app_url)
    given = service.give("chenju", "当日回复市民", "锦江区城管局", 1, case_id=add_case(seeded_url))
    service.complete(given["id"], "wangwu", "已回复")
    with psycopg.connect(app_url, autocommit=True) as conn:
        for statement in (
            "UPDATE instructions SET deadline = deadline + interval '1 day'",
            "UPDATE instructions SET body = 'something else'",
            "DELETE FROM instructions",
            "TRUNCATE instructions CASCADE",
            "UPDATE instruction_completions SET done_at = done_at - interval '1 day'",
            "DELETE FROM instruction_completions",  # reopening one by forgetting it was done
            "TRUNCATE instruction_completions",
            "ALTER TABLE instructions DISABLE TRIGGER ALL",
        ):
            with pytest.raises(REFUSED):
                conn.execute(statement)
    with psycopg.connect(seeded_url) as conn, pytest.raises(REFUSED, match="append-only"):  # even the owner
        conn.execute("DELETE FROM instruction_completions")
    with psycopg.connect(app_url) as conn:
        (row,) = store.listing(conn, None, open_only=False)
    assert row["body"] == "当日回复市民" and row["note"] == "已回复" and not row["open"]


def test_instructions_from_the_command_line(app_url, seeded_url, people):
    from tests.helpers import run_citybrain

    def cli(*args):
        return run_citybrain(["instructions", *args], database_url=app_url)

    alert_id = opened_alert(app_url)
    given = cli(
        "add",
        "立即排查",
        "--unit",
        "青羊区应急管理局",
        "--hours",
        "1",
        "--alert",
        str(alert_id),
        "--as",
        "chenju",
    )
    assert given.returncode == 0 and f"on alert {alert_id} for 青羊区应急管理局: due" in given.stdout, (
        given.stderr
    )
    officer = cli("add", "x", "--unit", "y", "--hours", "1", "--alert", str(alert_id), "--as", "wangwu")
    assert officer.returncode == 1 and "given by leaders" in officer.stderr
    both = cli("add", "x", "--unit", "y", "--hours", "1", "--as", "chenju")
    assert both.returncode == 2 and "name one alert" in both.stderr
    listing = cli("list")
    assert listing.returncode == 0 and "立即排查" in listing.stdout and "open" in listing.stdout
    instruction_id = listing.stdout.splitlines()[1].split()[0]
    done = cli("done", instruction_id, "--note", "已排查", "--as", "wangwu")
    assert done.returncode == 0 and "done by wangwu" in done.stdout, done.stderr
    again = cli("done", instruction_id, "--note", "再次", "--as", "lisi")
    assert again.returncode == 1 and "already completed by wangwu" in again.stderr
    assert "立即排查" not in cli("list").stdout and "done by wangwu: 已排查" in cli("list", "--all").stdout
