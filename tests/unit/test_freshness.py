from datetime import UTC, datetime, timedelta

from citybrain.dashboard.components.freshness import STALE_AFTER_S, freshness
from citybrain.dashboard.data import Snapshot
from citybrain.store.queries import CityTotals

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def snap(last, error=None):
    totals = CityTotals(10, 1, 5, 2, 0, 0, 0, last, 100.0)
    return Snapshot(NOW, [], totals, error=error)


def test_fresh_data_is_green_and_says_its_age():
    text, css = freshness(snap(NOW - timedelta(seconds=4)), "en", NOW)
    assert css == "freshness ok" and "4 s ago" in text


def test_a_stalled_feed_turns_red():
    text, css = freshness(snap(NOW - timedelta(seconds=STALE_AFTER_S + 1)), "zh", NOW)
    assert css == "freshness stale" and "数据流中断" in text


def test_a_database_error_turns_red_even_with_old_data():
    text, css = freshness(snap(NOW, error="OperationalError: boom"), "en", NOW)
    assert css == "freshness stale" and "DATABASE UNREACHABLE" in text
