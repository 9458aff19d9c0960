"""The hot-spot detector and its configuration: planted clusters found, background noise not, a cluster
across a district border found once, late and duplicate case events handled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import shapely

from citybrain.config import ConfigError
from citybrain.geo.city import City
from citybrain.geo.registry import build_registry
from citybrain.hotspots.config import HotspotConfig
from citybrain.hotspots.detect import Detector, NewCase, city_locator
from citybrain.settings import PROJECT_ROOT
from citybrain.sim.hotspots import background, plant

CFG = HotspotConfig.load(PROJECT_ROOT / "config")
T0 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # 09:00 in Chengdu
WUHOU = (104.043, 30.642)


@pytest.fixture(scope="module")
def city() -> City:
    return City.load(PROJECT_ROOT / "config")


@pytest.fixture(scope="module")
def locate(city):
    return city_locator(city)


def feed(det: Detector, cases: list[NewCase], tick_s: float = 3.0) -> dict:
    """Feed cases in arrival order, a tick at a time, as the worker does; every hot spot ever seen."""
    seen: dict = {}
    cases = sorted(cases, key=lambda c: c.event_time)
    i = 0
    now = cases[0].event_time if cases else T0
    end = (cases[-1].event_time if cases else T0) + timedelta(hours=2)
    while now <= end:
        batch = []
        while i < len(cases) and cases[i].event_time <= now:
            batch.append(cases[i])
            i += 1
        seen.update(det.add(batch, now).hotspots)
        now += timedelta(seconds=tick_s)
    return seen


def water(name, lon, lat, n=15, radius_m=300, over_s=20 * 60, seed=1, start=T0, locate=None):
    p = plant(name, "water_supply", lon, lat, n, radius_m, start, over_s, np.random.default_rng(seed))
    return p, p.cases(locate or (lambda _lo, _la: "510107"))


def test_a_planted_cluster_is_found_with_its_cases_centroid_and_radius(locate):
    planted, cases = water("burst", *WUHOU, locate=locate)
    found = feed(Detector(CFG, locate), cases)
    assert len(found) == 1
    h = next(iter(found.values()))
    assert sorted(h.case_ids) == sorted(planted.case_ids)
    assert h.count == 15 and h.group == "water" and h.district == "510107"
    assert abs(h.lon - WUHOU[0]) < 0.003 and abs(h.lat - WUHOU[1]) < 0.003  # ~300 m
    assert 100 < h.radius_m <= 2 * 300  # measured from the centroid, not the planted centre
    assert h.nth_case_at == planted.times[CFG.density("water").min_cases - 1]
    assert h.ended_at is not None  # two quiet hours later it has ended


def test_it_opens_at_the_nth_case_and_grows_as_cases_join(locate):
    _, cases = water("grow", *WUHOU, n=12, radius_m=150, locate=locate)  # all within R of each other
    det = Detector(CFG, locate)
    n = CFG.density("water").min_cases
    counts = []
    for k, c in enumerate(cases, 1):
        det.add([c], c.event_time)
        counts.append(sum(h.count for h in det.hotspots.values()))
        if k < n:
            assert not det.hotspots
    assert counts[n - 1] >= n and counts[-1] == 12
    assert counts == sorted(counts)


def test_background_noise_of_a_whole_day_makes_no_hot_spot(city, locate):
    cameras, _ = build_registry(city, 20_000, 0, 3)
    noise = background(cameras, T0, 24, city.spec.appeals_per_year, np.random.default_rng(5))
    assert len(noise) > 7_000  # a day of Chengdu's appeals
    assert feed(Detector(CFG, locate), noise, tick_s=60) == {}


def test_a_sparse_group_below_the_density_is_not_a_hot_spot(locate):
    _, cases = water("sparse", *WUHOU, n=12, radius_m=3000, over_s=3 * 3600, locate=locate)
    assert feed(Detector(CFG, locate), cases) == {}


def test_a_cluster_across_a_district_border_is_one_hot_spot_listing_both(city, locate):
    frame = city.frame.set_index("adcode")
    border = shapely.intersection(frame.loc["510104", "geometry"], frame.loc["510107", "geometry"])
    point = border.interpolate(0.5, normalized=True)
    planted, cases = water("border", point.x, point.y, n=20, radius_m=250, seed=4, locate=locate)
    assert {c.district for c in cases} == {"510104", "510107"}
    found = feed(Detector(CFG, locate), cases)
    assert len(found) == 1
    h = next(iter(found.values()))
    assert h.count == 20 and h.districts == ["510104", "510107"]
    assert h.district in ("510104", "510107") and h.district == locate(h.lon, h.lat)


def test_duplicate_events_count_once(locate):
    _, cases = water("dup", *WUHOU, locate=locate)
    det = Detector(CFG, locate)
    now = cases[-1].event_time
    first = det.add(cases, now)
    again = det.add(cases + cases[:3], now + timedelta(seconds=3))
    assert first.accepted == 15 and again.accepted == 0 and again.duplicates == 18
    (h,) = det.hotspots.values()
    assert h.count == 15


def test_late_cases_join_by_their_event_time_whatever_the_arrival_order(locate):
    planted, cases = water("late", *WUHOU, seed=9, locate=locate)
    in_order = Detector(CFG, locate)
    in_order.add(cases, cases[-1].event_time)
    shuffled = Detector(CFG, locate)
    rng = np.random.default_rng(2)
    late_at = cases[-1].event_time + timedelta(minutes=10)  # every case arrives up to 30 minutes late
    for k in rng.permutation(len(cases)):
        shuffled.add([cases[k]], late_at)
    (a,) = in_order.hotspots.values()
    (b,) = shuffled.hotspots.values()
    assert sorted(a.case_ids) == sorted(b.case_ids) == sorted(planted.case_ids)


def test_a_case_later_than_late_s_is_not_counted(locate):
    _, cases = water("stale", *WUHOU, locate=locate)
    changes = Detector(CFG, locate).add(cases, cases[-1].event_time + timedelta(seconds=CFG.late_s + 60))
    assert changes.too_late == 15 and not changes.hotspots


def test_other_categories_nearby_do_not_count_but_related_ones_do(locate):
    _, cases = water("mixed", *WUHOU, n=9, locate=locate)
    as_traffic = [NewCase(c.case_id, "traffic", c.district, c.lon, c.lat, c.event_time) for c in cases]
    assert feed(Detector(CFG, locate), as_traffic) == {}  # traffic needs the default 10 cases
    half = [
        NewCase(c.case_id, "drainage" if k % 2 else "water_supply", c.district, c.lon, c.lat, c.event_time)
        for k, c in enumerate(cases)
    ]
    (h,) = feed(Detector(CFG, locate), half).values()  # water supply and drainage count together
    assert h.categories == ["drainage", "water_supply"] and h.count == 9


def test_cases_of_an_ended_hot_spot_seed_nothing_new(locate):
    _, cases = water("spent", *WUHOU, n=10, over_s=60, locate=locate)
    det = Detector(CFG, locate)
    det.add(cases, cases[-1].event_time)
    quiet = cases[-1].event_time + timedelta(seconds=CFG.density("water").quiet_s)
    ended = det.add([], quiet)
    assert [h.ended_at for h in ended.hotspots.values()] == [quiet] and not det.hotspots
    one_more = NewCase("one-more", "water_supply", "510107", cases[0].lon, cases[0].lat, quiet)
    assert not det.add([one_more], quiet).hotspots


def test_two_hot_spots_bridged_by_new_cases_merge_into_the_older(locate):
    det = Detector(CFG, locate)
    _, west = water("west", 104.040, 30.642, n=10, radius_m=150, over_s=60, seed=1, locate=locate)
    _, east = water("east", 104.050, 30.642, n=10, radius_m=150, over_s=60, seed=2, locate=locate)
    det.add(west, west[-1].event_time)
    det.add(east, east[-1].event_time + timedelta(seconds=5))
    assert len(det.hotspots) == 2
    _, bridge = water("bridge", 104.045, 30.642, n=10, radius_m=150, over_s=60, seed=3, locate=locate)
    changes = det.add(bridge, east[-1].event_time + timedelta(seconds=120))
    (survivor,) = det.hotspots.values()
    assert survivor.id == "water:west-000" or survivor.id.startswith("water:west")
    assert survivor.count == 30
    merged = [h for h in changes.hotspots.values() if h.merged_into]
    assert [h.merged_into for h in merged] == [survivor.id]


def test_restored_state_carries_on(locate):
    _, cases = water("restart", *WUHOU, n=12, locate=locate)
    det = Detector(CFG, locate)
    det.add(cases[:9], cases[8].event_time)
    points = [p for pts in det.points.values() for p in pts.values()]
    again = Detector(CFG, locate)
    again.restore(points, det.hotspots.values())
    again.add(cases[9:], cases[-1].event_time)
    (h,) = again.hotspots.values()
    assert h.count == 12 and h.id == next(iter(det.hotspots))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("  min_cases: 8\n    radius_m: 400", "groups.water.min_cases"),
        ("categories: [noise]", "groups.noise.categories: 'noise'"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path, change, message):
    text = (PROJECT_ROOT / "config/hotspots.yaml").read_text(encoding="utf-8")
    if change.startswith("categories"):
        text = text.replace("categories: [gas_safety]", "categories: [noise]")
        message = "groups: Value error, groups.gas.categories: 'noise' is already in group 'noise'"
    else:
        text = text.replace("min_cases: 8", "min_cases: 1")
    (tmp_path / "hotspots.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        HotspotConfig.load(tmp_path)
    assert "hotspots.yaml" in str(err.value) and message.split(":")[0] in str(err.value)


def test_the_benchmark_day_finds_every_planted_cluster_and_nothing_else(city):
    """The small version of `citybrain bench hotspots`: a seeded 4-hour day with planted clusters (some
    across borders), late and duplicate events."""
    from citybrain.alerts.rules import RulesConfig
    from citybrain.bench import hotspots as bench

    cameras, _ = build_registry(city, 20_000, 0, 3)
    result = bench.run(
        city, cameras, CFG, RulesConfig.load(PROJECT_ROOT / "config"), clusters=6, hours=4, seed=2
    )
    assert result["planted"] == 6 and result["events"] > result["cases"] > 1_000
    assert result["precision"] == 1.0 and result["recall"] == 1.0 and result["found_twice"] == 0
    delay = result["delay_nth_case_to_alert_s"]
    assert delay["p50"] is not None and 0 <= delay["p50"] <= delay["max"]
