import pytest

from citybrain.sim import scenarios
from tests.helpers import run_citybrain


def test_camera_outage_takes_the_share_of_that_district_only(registry):
    cams, _ = registry
    events = scenarios.camera_outage(cams, "510107", 0.3)
    in_district = {c for c, d in zip(cams.ids, cams.district, strict=True) if d == "510107"}
    assert len(events) == round(0.3 * len(in_district))
    assert {e.camera_id for e in events} <= in_district and {e.status for e in events} == {"offline"}


def test_flood_raises_every_gauge_of_the_district(registry):
    _, sensors = registry
    events = scenarios.flood(sensors, "510116", 6.5)
    gauges = {
        s
        for s, d, k in zip(sensors.ids, sensors.district, sensors.kind, strict=True)
        if d == "510116" and k == "water_level"
    }
    assert {e.device_id for e in events} == gauges and {e.value for e in events} == {6.5}
    with pytest.raises(ValueError, match="no cameras"):
        scenarios.camera_outage(registry[0], "999999", 0.3)


def test_an_unknown_district_is_refused_with_the_valid_ones():
    result = run_citybrain(["scenario", "flood", "--district", "999"], kafka_bootstrap="127.0.0.1:1")
    assert result.returncode == 2
    assert "'999' is not a district of Chengdu" in result.stderr and "510104" in result.stderr
