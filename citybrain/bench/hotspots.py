"""How well the hot-spot detector works, on a seeded simulated day with planted clusters.

The day: the city's background appeals (its yearly rate, where people are, every category) plus
``clusters`` planted hot spots of the configured groups -- some centred on a district border -- with a
share of events arriving late and some twice. The detector is fed tick by tick on the day's own clock,
as the worker feeds it, and the alert is taken to open at the first alert-rule tick after detection
(plus the rule's hold). Reported: precision (detected hot spots that are planted ones), recall (planted
ones detected, each once), and the delay from the N-th case of a cluster (N: its group's minimum) to the
alert, p50 and max; and the detector's cost per case.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import shapely

from citybrain.alerts.rules import CaseHotspotRule, RulesConfig
from citybrain.geo.city import City
from citybrain.geo.registry import Devices
from citybrain.hotspots.config import HotspotConfig
from citybrain.hotspots.detect import Detector, Hotspot, NewCase, city_locator
from citybrain.sim.hotspots import Planted, background, plant

DAY_START = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # midnight in Chengdu
LATE_SHARE = 0.05  # events that arrive late (exponential delay, mean LATE_MEAN_S)
LATE_MEAN_S = 300.0
DUPLICATE_SHARE = 0.02  # events delivered twice
BORDER_SHARE = 0.25  # planted clusters centred on a district border


def _border_point(city: City, rng: np.random.Generator) -> tuple[float, float]:
    """A point on the border between two neighbouring districts of the urban core."""
    frame = city.frame.set_index("adcode")
    core = ["510104", "510105", "510106", "510107", "510108"]
    while True:
        a, b = rng.choice(core, 2, replace=False)
        line = shapely.intersection(frame.loc[a, "geometry"].boundary, frame.loc[b, "geometry"].boundary)
        if line.length > 0.01:
            p = line.interpolate(float(rng.uniform(0.2, 0.8)), normalized=True)
            return p.x, p.y


def simulated_day(
    city: City,
    cameras: Devices,
    cfg: HotspotConfig,
    clusters: int,
    hours: float,
    seed: int,
) -> tuple[list[NewCase], list[tuple[Planted, str]], list[tuple[datetime, NewCase]]]:
    """Background cases, planted clusters (with their group) and the arrival schedule of every event."""
    rng = np.random.default_rng(seed)
    locate = city_locator(city)
    cases = background(cameras, DAY_START, hours, city.spec.appeals_per_year, rng)
    groups = sorted(cfg.groups) + ["traffic"]  # every configured group, and one category on the default
    planted = []
    for k in range(clusters):
        group = groups[k % len(groups)]
        density = cfg.density(group)
        category = cfg.groups[group].categories[0] if group in cfg.groups else group
        if rng.random() < BORDER_SHARE:
            lon, lat = _border_point(city, rng)
        else:
            i = int(rng.integers(0, len(cameras)))
            lon, lat = float(cameras.lon[i]), float(cameras.lat[i])
        n = int(rng.integers(density.min_cases + 2, 3 * density.min_cases + 1))
        start = DAY_START + timedelta(hours=float(rng.uniform(0.1, max(0.2, hours - 1.5))))
        p = plant(
            f"planted{k:02d}",
            category,
            lon,
            lat,
            n,
            density.radius_m * 0.6,
            start,
            density.window_s * 0.8,
            rng,
        )
        planted.append((p, group))
        cases += p.cases(locate)
    arrivals = []
    for c in cases:
        delay = rng.exponential(LATE_MEAN_S) if rng.random() < LATE_SHARE else 0.0
        arrivals.append((c.event_time + timedelta(seconds=delay), c))
        if rng.random() < DUPLICATE_SHARE:
            arrivals.append((c.event_time + timedelta(seconds=delay + rng.uniform(1, 120)), c))
    arrivals.sort(key=lambda a: a[0])
    return cases, planted, arrivals


def replay(
    detector: Detector, arrivals: list[tuple[datetime, NewCase]], tick_s: float, until: datetime
) -> tuple[dict[str, Hotspot], float]:
    """Feed the arrivals tick by tick; every hot spot ever reported, and the detector's CPU seconds."""
    found: dict[str, Hotspot] = {}
    i, now, busy = 0, arrivals[0][0] if arrivals else until, 0.0
    while now <= until:
        batch = []
        while i < len(arrivals) and arrivals[i][0] <= now:
            batch.append(arrivals[i][1])
            i += 1
        started = time.process_time()
        changes = detector.add(batch, now)
        busy += time.process_time() - started
        for h in changes.hotspots.values():
            found.setdefault(h.id, h)
        now += timedelta(seconds=tick_s)
    return found, busy


def _alert_at(h: Hotspot, rules: RulesConfig) -> datetime:
    """When the alert opens: the first rule tick at or after detection, plus the rule's hold."""
    rule = next((r for r in rules.rules if isinstance(r, CaseHotspotRule)), None)
    tick = rules.tick_s
    epoch = h.opened_at.timestamp()
    at = math.ceil(epoch / tick) * tick + (rule.hold_s if rule else 0.0)
    return datetime.fromtimestamp(at, UTC)


def _quantile(values: list[float], q: float) -> float | None:
    return round(float(np.quantile(values, q)), 1) if values else None


def run(
    city: City,
    cameras: Devices,
    cfg: HotspotConfig,
    rules: RulesConfig,
    clusters: int = 12,
    hours: float = 24.0,
    seed: int = 1,
    echo: Callable[[str], None] = lambda _s: None,
) -> dict:
    cases, planted, arrivals = simulated_day(city, cameras, cfg, clusters, hours, seed)
    echo(
        f"hot spots: {len(cases):,} cases over {hours:g} h ({len(arrivals) - len(cases):,} duplicates,"
        f" {LATE_SHARE:.0%} late), {len(planted)} planted clusters"
    )
    detector = Detector(cfg, city_locator(city))
    found, busy = replay(detector, arrivals, cfg.tick_s, DAY_START + timedelta(hours=hours + 2))
    live = {hid: h for hid, h in found.items() if h.merged_into is None}
    owner = {cid: k for k, (p, _) in enumerate(planted) for cid in p.case_ids}
    matched: dict[int, list[Hotspot]] = {}
    false_positives = []
    for h in live.values():
        votes: dict[int, int] = {}
        for cid in h.case_ids:
            if cid in owner:
                votes[owner[cid]] = votes.get(owner[cid], 0) + 1
        best = max(votes, key=votes.get) if votes else None
        if best is not None and votes[best] * 2 >= h.count:
            matched.setdefault(best, []).append(h)
        else:
            false_positives.append(h)
    true_positives = sum(len(v) for v in matched.values())
    duplicates = sum(len(v) - 1 for v in matched.values())
    delays, detection = [], []
    for k, spots in matched.items():
        p, group = planted[k]
        nth = p.times[min(cfg.density(group).min_cases, len(p.times)) - 1]
        first = min(spots, key=lambda h: h.opened_at)
        detection.append((first.opened_at - nth).total_seconds())
        delays.append((_alert_at(first, rules) - nth).total_seconds())
    detected = len(live)
    result = {
        "benchmark": "hotspots",
        "hours": hours,
        "seed": seed,
        "cases": len(cases),
        "events": len(arrivals),
        "planted": len(planted),
        "planted_on_borders": sum(
            1 for p, _ in planted if len({c.district for c in p.cases(city_locator(city))}) > 1
        ),
        "detected": detected,
        "true_positives": true_positives,
        "false_positives": len(false_positives),
        "found_twice": duplicates,
        "precision": round((true_positives - duplicates) / detected, 3) if detected else 1.0,
        "recall": round(len(matched) / len(planted), 3) if planted else 1.0,
        "delay_nth_case_to_detection_s": {"p50": _quantile(detection, 0.5), "max": _quantile(detection, 1.0)},
        "delay_nth_case_to_alert_s": {"p50": _quantile(delays, 0.5), "max": _quantile(delays, 1.0)},
        "detector_cpu_s": round(busy, 3),
        "detector_us_per_event": round(busy / max(len(arrivals), 1) * 1e6, 1),
        "detector_tick_s": cfg.tick_s,
        "alert_tick_s": rules.tick_s,
    }
    return result
