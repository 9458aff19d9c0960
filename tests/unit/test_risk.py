"""Risk scoring, levels and windows: hand-computed expectations, and properties."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from citybrain.config import ConfigError
from citybrain.risk import windows
from citybrain.risk.config import SUB_INDICATORS, Level, RiskConfig
from citybrain.risk.score import DistrictInputs, assess, assess_values, level_of
from citybrain.settings import PROJECT_ROOT

CFG = RiskConfig.load(PROJECT_ROOT / "config")
QUIET = DistrictInputs(cameras=1000, sensors={"pm25": 10, "water_level": 5}, expected_cases=2.0)


def test_a_quiet_district_scores_zero_and_is_normal_not_blue():
    a = assess(QUIET, CFG)
    assert a.score == 0 and a.level is Level.NORMAL and a.drivers() == [] and a.floor is None
    assert not a.level.is_warning and a.level.grade == ""
    assert set(a.values) == set(a.contributions) == set(SUB_INDICATORS)


def test_hand_computed_score_and_its_contributions():
    inputs = DistrictInputs(
        cameras=1000,
        cameras_down=135,  # 13.5 %: (0.135-0.02)/(0.25-0.02) = 0.5 → 12.5
        sensors={"water_level": 10, "pm25": 10},
        sensors_silent=0,
        sensors_exceeding={"water_level": 1},  # 10 % of gauges: 0.1/0.2 = 0.5 → 7.5
        new_cases=4,
        expected_cases=2.0,  # pressure 2: (2-1)/(3-1) = 0.5 → 5
        open_emergencies=5,  # full → 12
        overdue_cases=5,  # 5/20 → 2
    )
    a = assess(inputs, CFG)
    assert a.contributions["camera_offline_ratio"] == pytest.approx(12.5)
    assert a.contributions["exceed_water_level"] == pytest.approx(7.5)
    assert a.contributions["case_pressure"] == pytest.approx(5.0)
    assert a.contributions["open_emergencies"] == pytest.approx(12.0)
    assert a.contributions["overdue_cases"] == pytest.approx(2.0)
    assert a.score == pytest.approx(39.0) == sum(a.contributions.values())
    assert level_of(a.score, CFG) is Level.YELLOW and Level.YELLOW.grade == "III"
    assert a.level is Level.ORANGE and a.floor == "water_over_warning_line"  # one gauge over its line
    assert [name for name, _ in a.drivers()] == [
        "camera_offline_ratio",
        "open_emergencies",
        "exceed_water_level",
    ]


@pytest.mark.parametrize(
    ("score", "level"),
    [
        (0, Level.NORMAL),
        (11.999, Level.NORMAL),
        (12, Level.BLUE),
        (24.999, Level.BLUE),
        (25, Level.YELLOW),
        (49.999, Level.YELLOW),
        (50, Level.ORANGE),
        (74.999, Level.ORANGE),
        (75, Level.RED),
        (100, Level.RED),
    ],
)
def test_level_boundaries(score, level):
    assert level_of(score, CFG) is level


def test_districts_without_cameras_sensors_or_cases_are_not_penalised():
    a = assess(DistrictInputs(), CFG)
    assert a.score == 0
    assert a.values["camera_offline_ratio"] == 0 and a.values["sensor_offline_ratio"] == 0
    assert a.values["case_pressure"] == 0


def test_thirty_percent_of_cameras_offline_is_the_camera_weight_exactly():
    a = assess(DistrictInputs(cameras=500, cameras_down=150), CFG)
    assert a.score == CFG.indicators["camera_offline_ratio"].weight
    assert a.drivers(1)[0][0] == "camera_offline_ratio"


raw_values = st.fixed_dictionaries(
    {name: st.floats(min_value=0, max_value=1e6, allow_nan=False) for name in SUB_INDICATORS}
)


@given(raw_values)
def test_score_stays_within_0_and_100_and_contributions_add_up(values):
    a = assess_values(values, CFG)
    assert 0 <= a.score <= 100
    assert a.score == pytest.approx(sum(a.contributions.values()))


@given(raw_values, st.sampled_from(SUB_INDICATORS), st.floats(min_value=0, max_value=1e6, allow_nan=False))
def test_raising_any_risk_input_never_lowers_the_score(values, name, increase):
    before = assess_values(values, CFG).score
    after = assess_values({**values, name: values[name] + increase}, CFG).score
    assert after >= before - 1e-9


def write_risk(tmp_path: Path, **changes) -> Path:
    import yaml

    doc = yaml.safe_load((PROJECT_ROOT / "config/risk.yaml").read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        node = doc
        *path, last = dotted.split(".")
        for key in path:
            node = node[key]
        if value is None:
            del node[last]
        else:
            node[last] = value
    (tmp_path / "risk.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True))
    return tmp_path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"indicators.camera_offline_ratio.weight": 50}, "indicators: Value error, weights add up to 125"),
        ({"indicators.overdue_cases": None}, "missing sub-indicator(s) overdue_cases"),
        (
            {"indicators.exceed_radiation": {"weight": 0, "zero_at": 0, "full_at": 1}},
            "unknown sub-indicator(s) exceed_radiation",
        ),
        ({"indicators.case_pressure.full_at": 0.5}, "indicators.case_pressure: Value error, full_at (0.5)"),
        ({"levels.orange": 20}, "levels: Value error, levels must satisfy"),
        ({"thresholds.gas": None}, "thresholds: Value error, no threshold for gas"),
        ({"windows_s": [60, 90]}, "windows_s: Value error"),
        ({"levels.blue": 30}, "levels: Value error, levels must satisfy 0 < blue < yellow"),
        (
            {"floors.camera_outage.indicator": "cameras_on_fire"},
            "floors.camera_outage.indicator: Value error, unknown",
        ),
        (
            {"floors.open_emergency.level": "normal"},
            "floors.open_emergency.level: Value error, a floor must be a warning",
        ),
        ({"floors.open_emergency.level": "purple"}, "floors.open_emergency.level: Input should be"),
        (
            {"floors.open_emergency.at_least": 1},
            "floors.open_emergency.at_least: Extra inputs are not permitted",
        ),
    ],
)
def test_bad_risk_config_names_file_and_key(tmp_path, change, message):
    with pytest.raises(ConfigError) as err:
        RiskConfig.load(write_risk(tmp_path, **change))
    assert "risk.yaml" in str(err.value) and message in str(err.value)


T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def test_windows_due_are_open_until_their_lateness_has_passed():
    now = T0 + timedelta(seconds=5)  # lateness 120 s, step 60 s
    due = windows.due(now, CFG)
    ends = sorted({w.end for w in due})
    assert ends == [T0 - timedelta(minutes=2), T0 - timedelta(minutes=1), T0, T0 + timedelta(minutes=1)]
    # the window in progress is counted up to now, so an incident shows within a tick
    in_progress = [w for w in due if w.end > now]
    assert {w.seconds for w in in_progress} == {60, 900}
    assert all(w.counted_until == now and not w.final for w in in_progress)
    assert all(w.counted_until == w.end for w in due if w.end <= now)
    final = {w.end for w in due if w.final}
    assert final == {T0 - timedelta(minutes=2)}  # ended 125 s ago: just became final
    assert {w.seconds for w in due} == {60, 900}
    assert all(w.end - w.start == timedelta(seconds=w.seconds) for w in due)


def test_late_means_the_events_window_is_already_final():
    # lateness 120 s: the window [07:57, 07:58) is final from 08:00, the one after it from 08:01
    assert windows.is_late(T0 - timedelta(seconds=121), T0, CFG)
    assert not windows.is_late(T0 - timedelta(seconds=120), T0, CFG)
    assert not windows.is_late(T0, T0, CFG)


# floors: hazards set a minimum level whatever the weighted sum says


def test_one_gauge_over_its_line_puts_a_quiet_district_at_orange_and_says_why():
    a = assess(
        DistrictInputs(cameras=1000, sensors={"water_level": 50}, sensors_exceeding={"water_level": 1}), CFG
    )
    assert a.score < CFG.levels.blue  # the weighted sum alone: 1 gauge in 50 is 1.5 points
    assert a.level is Level.ORANGE and a.floor == "water_over_warning_line"


def test_a_flooded_district_is_orange_although_its_score_is_low():
    a = assess(
        DistrictInputs(cameras=1000, sensors={"water_level": 20}, sensors_exceeding={"water_level": 20}), CFG
    )
    assert a.score == CFG.indicators["exceed_water_level"].weight  # 15: below yellow
    assert a.level is Level.ORANGE and a.floor == "water_over_warning_line"


def test_a_district_wide_camera_outage_is_at_least_yellow():
    a = assess(DistrictInputs(cameras=1000, cameras_down=240), CFG)  # 24 %: the "stayed blue" case
    assert a.score < CFG.levels.yellow and a.level is Level.YELLOW and a.floor == "camera_outage"
    at_line = assess(DistrictInputs(cameras=1000, cameras_down=200), CFG)  # 20 % is not over 20 %
    assert at_line.level is Level.BLUE and at_line.floor is None


def test_an_open_emergency_is_at_least_blue():
    a = assess(DistrictInputs(cameras=1000, open_emergencies=1), CFG)
    assert a.score < CFG.levels.blue and a.level is Level.BLUE and a.floor == "open_emergency"


def test_a_floor_never_lowers_a_level_and_is_not_named_when_the_score_is_higher():
    a = assess(
        DistrictInputs(
            cameras=100,
            cameras_down=100,
            sensors={"water_level": 5, "gas": 5},
            sensors_exceeding={"water_level": 5, "gas": 5},
            open_emergencies=5,
            overdue_cases=20,
            new_cases=10,
            expected_cases=1,
        ),
        CFG,
    )
    assert a.score >= CFG.levels.red and a.level is Level.RED and a.floor is None


def test_the_highest_floor_wins():
    a = assess(
        DistrictInputs(
            cameras=100,
            cameras_down=30,
            sensors={"water_level": 5},
            sensors_exceeding={"water_level": 1},
            open_emergencies=1,
        ),
        CFG,
    )
    assert a.level is Level.ORANGE and a.floor == "water_over_warning_line"


@given(raw_values)
def test_the_level_is_never_below_the_scores_own_or_any_floor_that_applies(values):
    a = assess_values(values, CFG)
    assert a.level.rank >= level_of(a.score, CFG).rank
    for f in CFG.floors.values():
        if values[f.indicator] > f.above:
            assert a.level.rank >= f.level.rank
    assert (a.floor is None) == (a.level is level_of(a.score, CFG))
