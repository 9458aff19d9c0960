"""The leaders' pages' pure parts: periods as rollup spans, the named periods, ``?at=``, rankings and
the report tables' downloads."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pandas as pd
import pytest

from citybrain.dashboard.components.leader_views import ranking, ranking_table, report_table
from citybrain.dashboard.components.replay import at_query, parse_at
from citybrain.dashboard.components.report_table import Column, ReportTable
from citybrain.dashboard.leader_sources import baseline_bounds, period_bounds
from citybrain.store.leader import CaseFigures, spans

CHENGDU = ZoneInfo("Asia/Shanghai")


def test_spans_cover_the_period_exactly_with_the_coarsest_pieces():
    start, end = datetime(2026, 1, 1, 7, 30, tzinfo=UTC), datetime(2026, 1, 4, 2, 15, tzinfo=UTC)
    parts = spans(start, end)
    assert [p[0] for p in parts] == ["raw", "1h", "1d", "1h", "raw"]
    assert parts[0][1] == start and parts[-1][2] == end
    assert all(a[2] == b[1] for a, b in zip(parts, parts[1:], strict=False))
    assert parts[2][1:] == (datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 4, tzinfo=UTC))
    # whole hours only: no raw piece; within one hour: raw only; empty: nothing
    assert [
        p[0] for p in spans(datetime(2026, 1, 1, 7, tzinfo=UTC), datetime(2026, 1, 1, 9, tzinfo=UTC))
    ] == ["1h"]
    assert [p[0] for p in spans(start, start + timedelta(minutes=10))] == ["raw"]
    assert spans(end, start) == []


def test_named_periods_follow_the_city_calendar():
    at = datetime(2026, 11, 30, 23, 40, tzinfo=UTC)  # Tuesday 1 December, 07:40 in Chengdu
    start = lambda name: period_bounds(name, at, CHENGDU)[0]  # noqa: E731
    assert start("today") == datetime(2026, 11, 30, 16, tzinfo=UTC)
    assert start("week") == datetime(2026, 11, 29, 16, tzinfo=UTC)  # Monday 30 November, local
    assert start("month") == datetime(2026, 11, 30, 16, tzinfo=UTC)
    assert start("year") == datetime(2025, 12, 31, 16, tzinfo=UTC)
    assert period_bounds("24h", at, CHENGDU) == (at - timedelta(hours=24), at)
    assert baseline_bounds("7d", at) == (at - timedelta(days=35), at - timedelta(days=7))
    with pytest.raises(ValueError, match="no period 'fortnight'"):
        period_bounds("fortnight", at, CHENGDU)


def test_at_is_local_time_unless_it_says_otherwise():
    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert parse_at("2026-11-30T21:30", CHENGDU, now) == (datetime(2026, 11, 30, 13, 30, tzinfo=UTC), None)
    assert parse_at("2026-11-30T13:30:00Z", CHENGDU, now)[0] == datetime(2026, 11, 30, 13, 30, tzinfo=UTC)
    # a '+' of an offset arrives from the query string as a space
    assert parse_at("2026-11-30T21:30:00 08:00", CHENGDU, now)[0] == datetime(
        2026, 11, 30, 13, 30, tzinfo=UTC
    )
    assert parse_at("yesterday", CHENGDU, now) == (None, "yesterday")
    assert parse_at("2027-01-01T00:00", CHENGDU, now) == (None, None)  # the future is live
    assert parse_at(None, CHENGDU, now) == (None, None)
    assert at_query(datetime(2026, 11, 30, 13, 30, tzinfo=UTC), CHENGDU) == "?at=2026-11-30T21%3A30"
    assert at_query(None, CHENGDU) == ""


def test_ranking_puts_the_best_rate_first_and_no_figure_last():
    figures = {
        "a": CaseFigures(received=10, handled=9, on_time=9),
        "b": CaseFigures(received=20, handled=18, on_time=9),
        "c": CaseFigures(),
        "d": CaseFigures(received=5, handled=5, on_time=5),
    }
    assert [k for k, _ in ranking(figures, "resolution")] == ["d", "b", "a", "c"]  # b beats a on volume
    assert [k for k, _ in ranking(figures, "on_time")] == ["a", "d", "b", "c"]
    table = ranking_table(figures, "on_time", {"a": "甲区"}, "zh")
    assert [r["name"] for r in table.rows] == ["甲区", "d", "b", "c"]
    with pytest.raises(ValueError):
        ranking(figures, "speed")


def test_a_table_downloads_what_it_shows_as_numbers():
    table = report_table(
        [("today", CaseFigures(received=3, handled=2, on_time=1, rated=2, satisfied=1))], "zh"
    )
    frame = table.frame()
    assert list(frame.columns[:4]) == ["时段", "受理量", "办结量", "办结率 (%)"]
    assert frame.iloc[0]["办结率 (%)"] == pytest.approx(66.67)
    sent = table.download("csv", "x")
    assert sent["filename"] == "city-cases-report-x.csv"
    import base64

    text = base64.b64decode(sent["content"]).decode("utf-8")
    assert text.startswith("\ufeff时段,受理量")  # a byte-order mark: Excel reads it as UTF-8
    xlsx = base64.b64decode(table.download("xlsx", "x")["content"])
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx)).active
    assert [c.value for c in sheet[2]][:3] == ["今日", 3, 2]
    with pytest.raises(ValueError):
        table.download("pdf", "x")


def test_mixed_columns_show_each_row_in_its_own_kind():
    table = ReportTable(
        "t",
        [Column("figure", "指标"), Column("v", "值", "mixed")],
        [{"figure": "件数", "v": 3, "kind": "int"}, {"figure": "比率", "v": 0.5, "kind": "pct"}],
    )
    assert list(table.frame()["值"]) == [3, 50.0]
    assert isinstance(table.frame(), pd.DataFrame)
