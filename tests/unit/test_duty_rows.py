"""The duty console's pure parts: queue order, filters, titles in the UI language, escalation
countdowns, how long a throttled sign-in waits, and refreshes that change nothing sending nothing."""

from datetime import UTC, datetime, timedelta

import dash
import pytest

from citybrain.dashboard import auth
from citybrain.dashboard.components.alert_table import (
    alert_title,
    filter_rows,
    next_escalation,
    queue_rows,
    unless_unchanged,
)
from citybrain.dashboard.context import Context
from citybrain.settings import Settings

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def ctx() -> Context:
    return Context.build(Settings(database_url="postgresql://nobody@/none?host=/nonexistent"))


def alert(id_, severity, minutes_ago, rule_id="water_over_red_line", **extra) -> dict:
    row = {
        "id": id_,
        "rule_id": rule_id,
        "severity": severity,
        "district": "510116",
        "title": "raw title",
        "labels": {"district": "510116", "device": "iot-00011", "kind": "water_level"},
        "status": "active",
        "acknowledged": False,
        "acked_by": None,
        "assignee": None,
        "resolved": False,
        "muted": None,
        "opened_at": NOW - timedelta(minutes=minutes_ago),
        "escalation_level": 0,
        "value": 6.5,
    }
    return row | extra


def test_critical_first_then_oldest_first(ctx):
    rows = queue_rows(
        [alert(1, "major", 50), alert(2, "critical", 5), alert(3, "critical", 30), alert(4, "warning", 90)],
        ctx,
        "zh",
        {},
    )
    assert [r["id"] for r in rows] == [3, 2, 1, 4]


def test_titles_use_district_names_and_the_ui_language(ctx):
    row = alert(1, "critical", 1)
    zh, en = alert_title(row, ctx, "zh"), alert_title(row, ctx, "en")
    assert zh.startswith("双流区水位超限：6.5") and "510116" not in zh and "iot-00011" not in zh
    assert en.startswith("Shuangliu: water level 6.5 over the limit")
    unknown = alert(2, "minor", 1, rule_id="retired_rule")
    assert alert_title(unknown, ctx, "zh") == "raw title"


def test_next_escalation_only_while_unacknowledged_and_below_the_top(ctx):
    rule = ctx.rule("water_over_red_line")
    row = alert(1, "critical", 1, escalation_level=1)
    assert next_escalation(row, ctx) == row["opened_at"] + timedelta(seconds=2 * rule.escalate_after_s)
    assert next_escalation(row | {"acknowledged": True}, ctx) is None
    assert next_escalation(row | {"status": "cleared"}, ctx) is None
    assert next_escalation(row | {"escalation_level": 3}, ctx) is None


def test_filters(ctx):
    rows = queue_rows(
        [
            alert(1, "critical", 5, assignee="wangwu"),
            alert(2, "major", 5, acknowledged=True),
            alert(3, "minor", 5, muted="silenced", district="510104"),
        ],
        ctx,
        "zh",
        {"wangwu": "王五"},
    )
    assert rows[0]["assignee"] == "王五"

    def ids(**chosen):
        default = {
            "district": None,
            "severity": None,
            "state": None,
            "mine": False,
            "muted": True,
            "me": "wangwu",
        }
        return [r["id"] for r in filter_rows(rows, **(default | chosen))]

    assert ids() == [1, 2, 3]
    assert ids(muted=False) == [1, 2]
    assert ids(mine=True) == [1]
    assert ids(state="acked") == [2]
    assert ids(state="unacked") == [1, 3]
    assert ids(district="510104") == [3]
    assert ids(severity="critical") == [1]


def test_failed_sign_ins_slow_down_exponentially():
    def wait(by_user, seconds_since_last, by_addr=0):
        return auth.lockout_left_s(
            {"by_user": by_user, "by_addr": by_addr, "last_at": NOW - timedelta(seconds=seconds_since_last)},
            NOW,
        )

    assert wait(4, 0) == 0
    assert wait(5, 0) == auth.FIRST_LOCKOUT_S
    assert wait(6, 0) == 2 * auth.FIRST_LOCKOUT_S
    assert wait(5, auth.FIRST_LOCKOUT_S + 1) == 0
    assert wait(50, 0) == auth.MAX_LOCKOUT_S
    assert wait(0, 0, by_addr=auth.FREE_FAILURES_PER_ADDR) == auth.FIRST_LOCKOUT_S


def test_only_local_paths_are_followed_after_sign_in():
    assert auth._safe_next("/duty?lang=en") == "/duty?lang=en"
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)", "/logout", None, ""):
        assert auth._safe_next(target) == "/"


def test_a_refresh_with_the_same_rows_sends_nothing_to_the_grid():
    rows = [{"id": 1, "title": "积水"}, {"id": 2, "title": "离线"}]
    sent, seen = unless_unchanged(rows, None)
    assert sent == rows and isinstance(seen, str)
    assert unless_unchanged([dict(r) for r in rows], seen) == (dash.no_update, dash.no_update)
    changed, seen2 = unless_unchanged(rows[:1], seen)
    assert changed == rows[:1] and seen2 != seen
