import numpy as np

from citybrain.geo.registry import build_registry, locate


def test_known_places_fall_in_their_districts(city):
    # Chunxi Road (Jinjiang), Wuhou Shrine (Wuhou), Dujiangyan irrigation works, and Lhasa (outside)
    lon = np.array([104.0795, 104.0480, 103.6050, 91.11])
    lat = np.array([30.6560, 30.6460, 31.0020, 29.65])
    assert list(locate(city, lon, lat)) == ["510104", "510107", "510181", ""]


def test_registry_is_deterministic_complete_and_denser_in_the_core(city):
    cams, sensors = build_registry(city, 20_000, 500, seed=3)
    again, _ = build_registry(city, 20_000, 500, seed=3)
    assert np.array_equal(cams.lon, again.lon) and np.array_equal(cams.district, again.district)
    assert len(cams) == 20_000 and len(sensors) == 500
    assert set(cams.district) == {d.adcode for d in city.districts}
    # every device really lies in the district it is assigned to
    assert np.array_equal(locate(city, cams.lon, cams.lat), cams.district)
    frame = city.frame.set_index("adcode")
    per_km2 = {code: np.sum(cams.district == code) / frame.loc[code, "area_km2"] for code in frame.index}
    assert per_km2["510104"] > 10 * per_km2["510185"]  # Jinjiang (core) vs Jianyang (outer)
    assert set(sensors.kind) == {"water_level", "pm25", "gas", "noise", "temperature"}
