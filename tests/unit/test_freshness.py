from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from citybrain.dashboard.components.freshness import STALE_AFTER_S, freshness
from citybrain.dashboard.sources import CityPicture, Reading
from citybrain.store.queries import CityTotals

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
CHENGDU = ZoneInfo("Asia/Shanghai")


def reading(last, error=None):
    totals = CityTotals(10, 1, 5, 2, 0, 0, 0, last, 100.0)
    return Reading(CityPicture([], totals, []), NOW, NOW, error=error)


def test_fresh_data_is_green_and_says_its_age_in_local_time():
    text, css = freshness(reading(NOW - timedelta(seconds=4)), "en", NOW, CHENGDU)
    assert css == "freshness ok" and "4 s ago" in text
    assert "15:59:56" in text and "UTC" not in text  # 07:59:56 UTC is 15:59:56 in Chengdu


def test_a_stalled_feed_turns_red():
    text, css = freshness(reading(NOW - timedelta(seconds=STALE_AFTER_S + 1)), "zh", NOW, CHENGDU)
    assert css == "freshness stale" and "数据流中断" in text


def test_a_database_error_turns_red_even_with_old_data():
    text, css = freshness(reading(NOW, error="OperationalError: boom"), "en", NOW, CHENGDU)
    assert css == "freshness stale" and "DATABASE UNREACHABLE" in text
