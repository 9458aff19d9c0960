"""The device registry: where every camera and sensor stands and in which district.

The simulated city places devices by sampling around each district in
proportion to area × density (so the urban core is dense), then decides each
device's district by point-in-polygon against all boundaries with a shapely
STRtree, exactly as real device coordinates from an asset register would be.
The same seed always gives the same registry, so every process agrees on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from citybrain.events import SensorKind
from citybrain.geo.city import City

# Share of each sensor kind in the monitoring network.
SENSOR_MIX: dict[SensorKind, float] = {
    SensorKind.WATER_LEVEL: 0.2,
    SensorKind.PM25: 0.3,
    SensorKind.GAS: 0.15,
    SensorKind.NOISE: 0.2,
    SensorKind.TEMPERATURE: 0.15,
}


@dataclass(frozen=True)
class Devices:
    ids: np.ndarray
    district: np.ndarray  # adcode per device
    lon: np.ndarray
    lat: np.ndarray
    kind: np.ndarray | None = None  # sensors only

    def __len__(self) -> int:
        return len(self.ids)


def locate(city: City, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Adcode of the district containing each point ('' for points outside the city)."""
    frame = city.frame
    tree = shapely.STRtree(frame.geometry.values)
    points = shapely.points(lon, lat)
    point_idx, district_idx = tree.query(points, predicate="within")
    out = np.full(len(points), "", dtype=object)
    out[point_idx] = frame["adcode"].to_numpy()[district_idx]
    return out


def _place(city: City, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if count == 0:
        empty = np.array([], dtype=float)
        return empty, empty, np.array([], dtype=object)
    frame = city.frame
    weight = (frame["area_km2"] * frame["density"]).to_numpy()
    wanted = rng.multinomial(count, weight / weight.sum())
    # every district gets at least one device of each type when there are enough to go round
    if count >= len(frame):
        wanted = np.maximum(wanted, 1)
    lons, lats, codes = [], [], []
    for geom, n in zip(frame.geometry.values, wanted, strict=True):
        minx, miny, maxx, maxy = geom.bounds
        got_lon: list[np.ndarray] = []
        got_lat: list[np.ndarray] = []
        have = 0
        while have < n:
            x = rng.uniform(minx, maxx, 2 * (n - have) + 16)
            y = rng.uniform(miny, maxy, len(x))
            inside = shapely.contains_xy(geom, x, y)
            got_lon.append(x[inside])
            got_lat.append(y[inside])
            have += int(inside.sum())
        lon = np.concatenate(got_lon)[:n]
        lat = np.concatenate(got_lat)[:n]
        lons.append(lon)
        lats.append(lat)
    lon = np.round(np.concatenate(lons), 6)
    lat = np.round(np.concatenate(lats), 6)
    codes = locate(city, lon, lat)
    keep = codes != ""  # a point on a rounding edge outside every polygon is dropped
    return lon[keep], lat[keep], codes[keep]


def build_registry(city: City, cameras: int, sensors: int, seed: int) -> tuple[Devices, Devices]:
    rng = np.random.default_rng(seed)
    lon, lat, district = _place(city, cameras, rng)
    cams = Devices(np.array([f"cam-{i:06d}" for i in range(len(lon))]), district, lon, lat)
    lon, lat, district = _place(city, sensors, rng)
    kinds = list(SENSOR_MIX)
    kind = rng.choice(np.array([k.value for k in kinds]), size=len(lon), p=list(SENSOR_MIX.values()))
    sens = Devices(np.array([f"iot-{i:05d}" for i in range(len(lon))]), district, lon, lat, kind)
    return cams, sens
