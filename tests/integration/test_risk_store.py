"""Risk inputs counted in the database: baselines learned from history, cold start, final rows frozen."""

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from citybrain.events import SENSOR_SPECS, SensorKind
from citybrain.risk.config import RiskConfig
from citybrain.risk.score import assess
from citybrain.settings import PROJECT_ROOT
from citybrain.store import queries
from citybrain.store.risk import CameraCounts, gather, history_buckets, whole_minutes, write_indicators
from citybrain.store.writer import CASE_EVENTS, READINGS, BatchWriter

CFG = RiskConfig.load(PROJECT_ROOT / "config")  # baseline: 4 weeks, at least 2
END = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)  # a Monday, 09:30 UTC
START = END - timedelta(minutes=15)


def created(when, district="510104", case_id=None):
    return (
        uuid.uuid4(),
        when,
        case_id or f"c-{uuid.uuid4().hex[:8]}",
        district,
        "created",
        "noise",
        "normal",
        when + timedelta(hours=4),
        None,
        None,
        None,
        None,
    )


def write_cases(url, rows):
    with psycopg.connect(url) as conn:
        BatchWriter(conn, CASE_EVENTS).write(rows)


def test_history_buckets_are_the_same_hour_of_previous_weeks():
    assert history_buckets(END, 2) == [
        datetime(2026, 11, 16, 9, tzinfo=UTC),
        datetime(2026, 11, 9, 9, tzinfo=UTC),
    ]
    on_the_hour = datetime(2026, 11, 23, 10, tzinfo=UTC)  # window [09:45, 10:00) belongs to 09:00
    assert history_buckets(on_the_hour, 1) == [datetime(2026, 11, 16, 9, tzinfo=UTC)]


def test_cold_start_shares_the_city_rate_by_video_points(seeded_url, registry):
    cams, _ = registry
    with psycopg.connect(seeded_url) as conn:
        inputs = gather(conn, START, END, CFG)
    share = sum(1 for d in cams.district if d == "510104") / len(cams)
    expected = CFG.baseline.cold_start_city_cases_per_hour * share * 0.25  # a 15-minute window
    assert inputs["510104"].expected_cases == pytest.approx(expected)


def test_baseline_is_learned_from_the_same_hour_of_past_weeks(seeded_url):
    # 8 cases in that hour one week ago, 4 two weeks ago: mean 6 per hour; 3 new cases in the window now
    rows = [created(END - timedelta(weeks=1, minutes=20)) for _ in range(8)]
    rows += [created(END - timedelta(weeks=2, minutes=20)) for _ in range(4)]
    rows += [created(END - timedelta(weeks=1, minutes=20), district="510105")]  # another district
    rows += [created(START + timedelta(minutes=m)) for m in (1, 5, 9)]
    write_cases(seeded_url, rows)
    with psycopg.connect(seeded_url) as conn:
        inputs = gather(conn, START, END, CFG)
    assert inputs["510104"].expected_cases == pytest.approx(6 * 0.25)
    assert inputs["510104"].new_cases == 3
    assert inputs["510105"].expected_cases == pytest.approx(1 / 2 * 0.25)  # 1 case over 2 weeks of history
    a = assess(inputs["510104"], CFG)
    assert a.values["case_pressure"] == pytest.approx(3 / 1.5)


def test_final_rows_are_frozen_and_readable(seeded_url):
    with psycopg.connect(seeded_url) as conn:
        inputs = gather(conn, START, END, CFG)
        first = {d: assess(i, CFG) for d, i in inputs.items()}
        assert write_indicators(conn, END, 900, True, first) == set(inputs)
        assert write_indicators(conn, END, 900, True, first) == set()  # already final: untouched
        rows = queries.risk_series(conn, "510104", 900, START, END + timedelta(seconds=1))
    assert [(r["window_end"], r["level"]) for r in rows] == [(END, "normal")]


def test_whole_minutes_leave_only_partial_minutes_to_raw_rows():
    t = datetime(2026, 11, 23, 9, 15, tzinfo=UTC)
    assert whole_minutes(t, t + timedelta(minutes=15)) == (t, t + timedelta(minutes=15))
    lo, hi = t + timedelta(seconds=20), t + timedelta(minutes=15, seconds=20)
    assert whole_minutes(lo, hi) == (t + timedelta(minutes=1), t + timedelta(minutes=15))
    # no whole minute inside: all of it raw
    assert whole_minutes(lo, t + timedelta(seconds=50)) == (t + timedelta(seconds=50),) * 2
    hi = t + timedelta(minutes=1, seconds=5)
    assert whole_minutes(lo, hi) == (hi, hi)


def test_sensors_heard_and_over_read_by_minute_equal_every_raw_reading(seeded_url, registry):
    """Whole minutes come from the writer's per-sensor minutes, partial ones from raw readings: windows on
    and off the minute (the window in progress ends at the tick's moment) count what raw readings say."""
    _, sensors = registry
    devices = list(zip(sensors.ids, sensors.district, sensors.kind, strict=True))
    a, b, c, d, e = devices[:5]

    def reading(device, when, over):
        ident, district, kind = device
        unit = SENSOR_SPECS[SensorKind(kind)][0]
        value = CFG.thresholds[SensorKind(kind)] + (1 if over else -1)
        return (uuid.uuid4(), when, ident, district, kind, value, unit)

    rows = [
        reading(a, START + timedelta(minutes=5, seconds=10), over=False),  # a whole minute, below its line
        reading(a, START + timedelta(minutes=7), over=True),  # a whole minute, over the line
        reading(b, START + timedelta(seconds=30), over=True),  # the off-minute window's first minute
        reading(c, END + timedelta(seconds=10), over=True),  # the off-minute window's last minute
        reading(d, START + timedelta(seconds=10), over=True),  # before the off-minute window
        reading(e, END + timedelta(seconds=25), over=True),  # after both
    ]
    with psycopg.connect(seeded_url) as conn:
        BatchWriter(conn, READINGS).write(rows)
        cameras = CameraCounts.read(conn)
        windows = {
            "on the minute": (START, END, {a, b, d}),
            "off the minute": (START + timedelta(seconds=20), END + timedelta(seconds=20), {a, b, c}),
        }
        for name, (start, end, expected) in windows.items():
            got = gather(conn, start, end, CFG, cameras)
            heard = {r[2] for r in rows if end - timedelta(seconds=CFG.sensor_silent_after_s) <= r[1] < end}
            over = {r[2] for r in rows if start <= r[1] < end and r[5] > CFG.thresholds[SensorKind(r[4])]}
            assert heard == over == {x[0] for x in expected}, name
            for district, inputs in got.items():
                mine = [x for x in devices if x[1] == district]
                assert inputs.sensors_silent == sum(1 for x in mine if x[0] not in heard), (name, district)
                exceeding = {k: sum(1 for x in mine if x[0] in over and x[2] == k) for k in inputs.sensors}
                assert inputs.sensors_exceeding == {k: n for k, n in exceeding.items() if n}, (name, district)
