"""The hot-spot detector: incremental ST-DBSCAN over the city's new cases. Pure: no I/O, no clock.

Why density-based and incremental: a hot spot is "many citizens about the same thing in the same
place", which is exactly DBSCAN's core point -- a case with at least N cases (itself included) within
R metres -- with a time condition added (ST-DBSCAN: and within T minutes). Clusters grow through core
cases, so a hot spot of any shape is found, and one that straddles a district border is one cluster
(nothing here knows districts; the hot spot is filed under the district of its centroid and lists every
district its cases came from).

The detector keeps the recent cases of each group of categories (``late_s`` + T of event time) with
their cluster and core flags, and on every ``add`` examines only the new cases and their neighbours: a
new case can only make itself or its neighbours core, so nothing else can change. Distances are metres
in UTM zone 48N (EPSG:32648, Chengdu's zone), neighbours come from a shapely STRtree built over the
group's recent cases (``dwithin``), never degrees.

Arrival order does not matter for which cases are core (a case's neighbourhood is the same whoever
came first), so late events are handled like any other: by their event time. A case id seen before is
ignored (duplicate events, and the overlap the caller reads again to miss no concurrent commit).

A hot spot opens when its first core case appears, grows as cases join, and ends when it has had no
case newer than ``quiet_min`` minutes; its cases are then spent: they neither seed nor join a new hot
spot (the alert for the old one has cleared; a fresh burst makes a fresh one). When a new case joins
two hot spots they merge into the older; the younger ends, ``merged_into`` saying where it went.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import shapely
from pyproj import Transformer

from citybrain.hotspots.config import HotspotConfig

UTM_48N = "EPSG:32648"
_TO_UTM = Transformer.from_crs("EPSG:4326", UTM_48N, always_xy=True)
_FROM_UTM = Transformer.from_crs(UTM_48N, "EPSG:4326", always_xy=True)

Locate = Callable[[float, float], str | None]  # (lon, lat) → district adcode, None outside the city


@dataclass(frozen=True)
class NewCase:
    """A created case as the detector needs it."""

    case_id: str
    category: str
    district: str
    lon: float
    lat: float
    event_time: datetime


@dataclass
class Point:
    case_id: str
    category: str
    district: str
    lon: float
    lat: float
    x: float
    y: float
    t: float  # event time, epoch seconds
    hotspot: str | None = None
    core: bool = False
    spent: bool = False

    @property
    def event_time(self) -> datetime:
        return datetime.fromtimestamp(self.t, UTC)


@dataclass
class Hotspot:
    id: str
    group: str
    opened_at: datetime  # the detector's clock when it formed
    case_ids: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    districts: list[str] = field(default_factory=list)
    district: str = ""
    lon: float = 0.0
    lat: float = 0.0
    radius_m: float = 0.0
    first_case_at: datetime | None = None
    last_case_at: datetime | None = None
    nth_case_at: datetime | None = None  # when the N-th case came: the earliest it could have been seen
    updated_at: datetime | None = None
    ended_at: datetime | None = None
    merged_into: str | None = None

    @property
    def count(self) -> int:
        return len(self.case_ids)

    @property
    def active(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True)
class Member:
    """A case's place in a hot spot, as the store keeps it."""

    hotspot: str
    case_id: str
    core: bool
    category: str
    district: str
    lon: float
    lat: float
    event_time: datetime

    @classmethod
    def of(cls, hotspot: str, p: Point) -> Member:
        return cls(hotspot, p.case_id, p.core, p.category, p.district, p.lon, p.lat, p.event_time)


@dataclass
class Changes:
    """What one ``add`` or ``expire`` did, for the store to persist."""

    hotspots: dict[str, Hotspot] = field(default_factory=dict)  # opened, grown, merged or ended
    members: list[Member] = field(default_factory=list)
    accepted: int = 0  # new cases taken in
    duplicates: int = 0  # case ids seen before
    too_late: int = 0  # older than late_s on arrival

    def merge(self, other: Changes) -> Changes:
        self.hotspots.update(other.hotspots)
        self.members += other.members
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.too_late += other.too_late
        return self


def to_utm(lon: Sequence[float], lat: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    x, y = _TO_UTM.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x), np.asarray(y)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, a: int) -> int:
        self.parent.setdefault(a, a)
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


class Detector:
    def __init__(self, cfg: HotspotConfig, locate: Locate | None = None) -> None:
        self.cfg = cfg
        self.locate = locate or (lambda _lon, _lat: None)
        self.points: dict[str, dict[str, Point]] = {}  # group → case id → point
        self.hotspots: dict[str, Hotspot] = {}  # active hot spots by id

    # --- state ------------------------------------------------------------------------------------------

    def restore(self, points: Iterable[Point], hotspots: Iterable[Hotspot]) -> None:
        """Carry on from stored state: the recent cases with their flags, and the active hot spots."""
        for h in hotspots:
            if h.active:
                self.hotspots[h.id] = h
        for p in points:
            self.points.setdefault(self.cfg.group_of(p.category), {})[p.case_id] = p

    # --- the work ---------------------------------------------------------------------------------------

    def add(self, cases: Iterable[NewCase], now: datetime) -> Changes:
        """Take new cases in (any order, duplicates and late ones included), then end quiet hot spots."""
        changes = Changes()
        horizon = now.timestamp() - self.cfg.late_s
        fresh: dict[str, list[NewCase]] = {}
        batch_ids: set[str] = set()
        for c in cases:
            group = self.cfg.group_of(c.category)
            if c.case_id in batch_ids or c.case_id in self.points.get(group, {}):
                changes.duplicates += 1
            elif c.event_time.timestamp() < horizon:
                changes.too_late += 1
            else:
                batch_ids.add(c.case_id)
                fresh.setdefault(group, []).append(c)
        for group, new in sorted(fresh.items()):
            changes.merge(self._add_group(group, new, now))
        changes.merge(self.expire(now))
        return changes

    def expire(self, now: datetime) -> Changes:
        """End hot spots with no recent case; forget cases too old to matter to anything still to come."""
        changes = Changes()
        for h in list(self.hotspots.values()):
            quiet = self.cfg.density(h.group).quiet_s
            if h.last_case_at is not None and (now - h.last_case_at).total_seconds() >= quiet:
                h.ended_at = now
                h.updated_at = now
                del self.hotspots[h.id]
                changes.hotspots[h.id] = h
                for case_id in h.case_ids:
                    p = self.points.get(h.group, {}).get(case_id)
                    if p is not None:
                        p.spent = True
        for group, pts in self.points.items():
            keep_after = now.timestamp() - self.cfg.late_s - self.cfg.density(group).window_s
            for case_id in [k for k, p in pts.items() if p.t < keep_after and p.hotspot not in self.hotspots]:
                del pts[case_id]
        return changes

    def _add_group(self, group: str, new: list[NewCase], now: datetime) -> Changes:
        d = self.cfg.density(group)
        pts = self.points.setdefault(group, {})
        x, y = to_utm([c.lon for c in new], [c.lat for c in new])
        for c, xi, yi in zip(new, x, y, strict=True):
            pts[c.case_id] = Point(
                c.case_id,
                c.category,
                c.district,
                c.lon,
                c.lat,
                float(xi),
                float(yi),
                c.event_time.timestamp(),
            )
        live = [p for p in pts.values() if not p.spent]
        index = {p.case_id: i for i, p in enumerate(live)}
        xs = np.fromiter((p.x for p in live), float, len(live))
        ys = np.fromiter((p.y for p in live), float, len(live))
        ts = np.fromiter((p.t for p in live), float, len(live))
        geoms = shapely.points(xs, ys)
        tree = shapely.STRtree(geoms)

        def neighbours(idx: np.ndarray) -> dict[int, np.ndarray]:
            """Each point's space-time neighbourhood (itself included), from one bulk tree query."""
            src, dst = tree.query(geoms[idx], predicate="dwithin", distance=d.radius_m)
            src = idx[src]
            near = np.abs(ts[src] - ts[dst]) <= d.window_s
            src, dst = src[near], dst[near]
            order = np.argsort(src, kind="stable")
            src, dst = src[order], dst[order]
            keys, starts = np.unique(src, return_index=True)
            return dict(zip(keys.tolist(), np.split(dst, starts[1:]), strict=True))

        new_idx = np.array(sorted(index[c.case_id] for c in new), dtype=int)
        around = neighbours(new_idx)
        candidates = np.unique(np.concatenate(list(around.values()))) if around else new_idx
        hood = neighbours(candidates)
        changes = Changes(accepted=len(new))
        cores = [i for i, n in hood.items() if len(n) >= d.min_cases]
        newly_core = [i for i in cores if not live[i].core]
        if not newly_core:
            return changes
        for i in newly_core:
            live[i].core = True
        # new cores link to every core in their neighbourhood: the clusters they make or join or merge
        uf = _UnionFind()
        for i in newly_core:
            uf.find(i)
            for j in hood[i]:
                if live[j].core:
                    uf.union(i, int(j))
        components: dict[int, list[int]] = {}
        for i in list(uf.parent):
            components.setdefault(uf.find(i), []).append(i)
        touched: set[str] = set()
        for members in components.values():
            hid = self._cluster(group, members, live, hood, now, changes)
            touched.add(hid)
        for hid in touched:
            h = self.hotspots[hid]
            self._describe(h, pts, d.min_cases, now)
            changes.hotspots[hid] = h
        return changes

    def _cluster(
        self, group: str, members: list[int], live: list[Point], hood: dict[int, np.ndarray], now, changes
    ) -> str:
        """One connected set of core cases: the hot spot it makes, grows or merges into; returns its id."""
        existing = sorted(
            {live[i].hotspot for i in members if live[i].hotspot in self.hotspots},
            key=lambda hid: (self.hotspots[hid].opened_at, hid),
        )
        if existing:
            target = self.hotspots[existing[0]]
        else:
            seed = min((live[i] for i in members), key=lambda p: (p.t, p.case_id))
            target = Hotspot(id=f"{group}:{seed.case_id}", group=group, opened_at=now)
            self.hotspots[target.id] = target
        for other_id in existing[1:]:  # a case that joins two hot spots: the older absorbs the younger
            other = self.hotspots.pop(other_id)
            other.ended_at, other.merged_into, other.updated_at = now, target.id, now
            changes.hotspots[other.id] = other
            pts = self.points[group]
            for case_id in other.case_ids:
                p = pts.get(case_id)
                if p is not None:
                    p.hotspot = target.id
                    changes.members.append(Member.of(target.id, p))
                target.case_ids.append(case_id)
        joining = set(members)
        for i in members:  # a core's neighbours are in its cluster (border cases go to the first to claim)
            joining.update(int(j) for j in hood.get(i, ()) if live[int(j)].hotspot not in self.hotspots)
        for i in sorted(joining, key=lambda k: (live[k].t, live[k].case_id)):
            p = live[i]
            if p.hotspot != target.id:
                if p.hotspot not in self.hotspots or p.core:
                    p.hotspot = target.id
                    target.case_ids.append(p.case_id)
                else:
                    continue
            changes.members.append(Member.of(target.id, p))
        return target.id

    def _describe(self, h: Hotspot, pts: dict[str, Point], min_cases: int, now: datetime) -> None:
        """Centroid, radius, districts and case times, from the hot spot's cases."""
        seen: set[str] = set()
        h.case_ids = [c for c in h.case_ids if not (c in seen or seen.add(c))]
        members = [pts[c] for c in h.case_ids if c in pts]
        if not members:
            return
        members.sort(key=lambda p: (p.t, p.case_id))
        # a case no longer held (older than the detector keeps) is still the hot spot's
        h.case_ids = [c for c in h.case_ids if c not in pts] + [p.case_id for p in members]
        xs = np.array([p.x for p in members])
        ys = np.array([p.y for p in members])
        cx, cy = float(xs.mean()), float(ys.mean())
        h.radius_m = float(np.hypot(xs - cx, ys - cy).max())
        lon, lat = _FROM_UTM.transform(cx, cy)
        h.lon, h.lat = round(float(lon), 6), round(float(lat), 6)
        h.districts = sorted({p.district for p in members})
        counts: dict[str, int] = {}
        for p in members:
            counts[p.district] = counts.get(p.district, 0) + 1
        h.district = self.locate(h.lon, h.lat) or max(sorted(counts), key=counts.get)
        h.categories = sorted({p.category for p in members})
        h.first_case_at = members[0].event_time
        h.last_case_at = members[-1].event_time
        if h.nth_case_at is None:
            h.nth_case_at = members[min(min_cases, len(members)) - 1].event_time
        h.updated_at = now


def city_locator(city) -> Locate:
    """The district containing a point, by point-in-polygon against the city's boundaries (STRtree)."""
    from citybrain.geo.registry import locate

    def at(lon: float, lat: float) -> str | None:
        return str(locate(city, np.array([lon]), np.array([lat]))[0]) or None

    return at
