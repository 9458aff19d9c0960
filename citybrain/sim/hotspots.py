"""Planted appeal hot spots and a seeded day of background cases: the ``hotspot`` scenario, the benchmark's
ground truth and the tests' data.

Background cases arrive at the city's rate (``appeals_per_year``) where people are (at video points,
dense in the urban core, as the simulator places them), spread over the categories: the noise a
detector must *not* report. A planted cluster is ``n`` cases of one category within ``radius_m`` of a
point, their times spread over ``over_s``: the burst main it must report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from pyproj import Transformer

from citybrain.geo.registry import Devices
from citybrain.hotspots.detect import UTM_48N, NewCase
from citybrain.sim.city_sim import CASE_CATEGORIES

_TO_UTM = Transformer.from_crs("EPSG:4326", UTM_48N, always_xy=True)
_FROM_UTM = Transformer.from_crs(UTM_48N, "EPSG:4326", always_xy=True)


@dataclass(frozen=True)
class Planted:
    """A cluster put into the day on purpose: what the detector should find."""

    name: str
    category: str
    lon: float
    lat: float
    case_ids: tuple[str, ...]
    times: tuple[datetime, ...]  # sorted
    lons: tuple[float, ...]
    lats: tuple[float, ...]

    def cases(self, locate) -> list[NewCase]:
        """The planted cases, each filed under the district ``locate(lon, lat)`` puts it in."""
        return [
            NewCase(cid, self.category, locate(lo, la) or "", lo, la, t)
            for cid, lo, la, t in zip(self.case_ids, self.lons, self.lats, self.times, strict=True)
        ]


def around(
    lon: float, lat: float, n: int, radius_m: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniformly in a disc of ``radius_m`` metres (measured in UTM 48N) around a point."""
    cx, cy = _TO_UTM.transform(lon, lat)
    r = radius_m * np.sqrt(rng.uniform(0, 1, n))
    a = rng.uniform(0, 2 * np.pi, n)
    lons, lats = _FROM_UTM.transform(cx + r * np.cos(a), cy + r * np.sin(a))
    return np.round(np.asarray(lons), 6), np.round(np.asarray(lats), 6)


def plant(
    name: str,
    category: str,
    lon: float,
    lat: float,
    n: int,
    radius_m: float,
    start: datetime,
    over_s: float,
    rng: np.random.Generator,
) -> Planted:
    """``n`` cases of ``category`` within ``radius_m`` of a point, their times spread over ``over_s``."""
    lons, lats = around(lon, lat, n, radius_m, rng)
    offsets = np.sort(rng.uniform(0, over_s, n)) if over_s > 0 else np.zeros(n)
    times = tuple(start + timedelta(seconds=float(s)) for s in offsets)
    ids = tuple(f"{name}-{i:03d}" for i in range(n))
    return Planted(name, category, lon, lat, ids, times, tuple(map(float, lons)), tuple(map(float, lats)))


def background(
    cameras: Devices,
    start: datetime,
    hours: float,
    per_year: int,
    rng: np.random.Generator,
    prefix: str = "bg",
) -> list[NewCase]:
    """The day's ordinary appeals: Poisson arrivals at the city's rate, at video points, any category."""
    n = int(rng.poisson(per_year / (365 * 24) * hours))
    offsets = np.sort(rng.uniform(0, hours * 3600, n))
    where = rng.integers(0, len(cameras), n)
    categories = rng.choice(np.array(CASE_CATEGORIES), n)
    return [
        NewCase(
            f"{prefix}-{k:06d}",
            str(categories[k]),
            str(cameras.district[where[k]]),
            float(cameras.lon[where[k]]),
            float(cameras.lat[where[k]]),
            start + timedelta(seconds=float(offsets[k])),
        )
        for k in range(n)
    ]
