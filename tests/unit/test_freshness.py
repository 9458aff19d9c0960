"""What the server tells the browser about freshness: ages as of its answer, never a verdict that a frozen
server could keep showing (the browser adds the time since the answer and decides)."""

from datetime import UTC, datetime, timedelta

from citybrain.dashboard.components.freshness import (
    JITTER_MS,
    MISSED_REFRESHES,
    STALE_AFTER_S,
    freshness_data,
)
from citybrain.dashboard.sources import CityPicture, Reading
from citybrain.store.queries import CityTotals

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def reading(last, error=None, value=True):
    totals = CityTotals(10, 1, 5, 2, 0, 0, 0, last, 100.0)
    return Reading(CityPicture([], totals, []) if value else None, NOW, NOW, error=error)


def test_the_feed_age_is_as_of_the_servers_answer():
    data = freshness_data(reading(NOW - timedelta(seconds=4)), NOW, 2000, "en")
    assert data["feed_age_s"] == 4.0 and data["served_ms"] == int(NOW.timestamp() * 1000)
    assert not data["db_error"] and data["text"]["ago"] == "s ago"


def test_a_stalled_feed_is_red_within_ten_seconds_and_a_silent_server_within_two_intervals():
    data = freshness_data(reading(NOW), NOW, 2000, "zh")
    assert STALE_AFTER_S + 1 <= 10  # red within 10 s, read on the browser's 1-s tick
    assert data["stale_after_s"] == STALE_AFTER_S
    assert 2 * 2000 <= data["screen_stale_after_ms"] == MISSED_REFRESHES * 2000 + JITTER_MS < 3 * 2000
    assert data["text"]["screen_stale"] == "画面已停止更新" and data["text"]["stale"] == "数据流中断"


def test_no_data_and_database_errors_are_said():
    assert freshness_data(reading(None, value=False), NOW, 2000, "en")["feed_age_s"] is None
    assert freshness_data(reading(NOW, error="OperationalError: boom"), NOW, 2000, "en")["db_error"]
    assert freshness_data(reading(NOW - timedelta(seconds=-3)), NOW, 2000, "en")["feed_age_s"] == 0.0
