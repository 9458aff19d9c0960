"""From a district's raw figures in a window to an explained score. Pure: no I/O, no clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from citybrain.risk.config import EXCEED, Level, RiskConfig


@dataclass(frozen=True)
class DistrictInputs:
    """What the store counted for one district and window."""

    cameras: int = 0
    cameras_down: int = 0
    sensors: dict[str, int] = field(default_factory=dict)  # kind → sensors in the district
    sensors_silent: int = 0
    sensors_exceeding: dict[str, int] = field(
        default_factory=dict
    )  # kind → sensors over threshold in the window
    new_cases: int = 0
    expected_cases: float = 0.0  # baseline for the window
    open_emergencies: int = 0
    overdue_cases: int = 0
    hotspots: int = 0  # appeal hot spots active in the window, filed under the district


@dataclass(frozen=True)
class Assessment:
    score: float
    level: Level  # the higher of the score's level and the highest floor that applies
    values: dict[str, float]  # sub-indicator → raw value
    contributions: dict[str, float]  # sub-indicator → points of the score; they add up to `score`
    floor: str | None = None  # the floor that raised the level above the score's own, if one did

    def drivers(self, n: int = 3) -> list[tuple[str, float]]:
        """The sub-indicators that contribute most, largest first (zero contributions left out)."""
        ranked = sorted(self.contributions.items(), key=lambda kv: kv[1], reverse=True)
        return [(k, v) for k, v in ranked[:n] if v > 0]


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole > 0 else 0.0


def sub_indicators(inputs: DistrictInputs, cfg: RiskConfig) -> dict[str, float]:
    total_sensors = sum(inputs.sensors.values())
    values = {
        "camera_offline_ratio": _ratio(inputs.cameras_down, inputs.cameras),
        "sensor_offline_ratio": _ratio(inputs.sensors_silent, total_sensors),
    }
    for kind in cfg.thresholds:
        values[f"{EXCEED}{kind.value}"] = _ratio(
            inputs.sensors_exceeding.get(kind.value, 0), inputs.sensors.get(kind.value, 0)
        )
    expected = max(inputs.expected_cases, cfg.baseline.min_expected_cases)
    values["case_pressure"] = inputs.new_cases / expected
    values["open_emergencies"] = float(inputs.open_emergencies)
    values["overdue_cases"] = float(inputs.overdue_cases)
    values["case_hotspots"] = float(inputs.hotspots)
    return values


def level_of(score: float, cfg: RiskConfig) -> Level:
    """The level a score reaches; below blue a district is normal: no warning at all."""
    if score >= cfg.levels.red:
        return Level.RED
    if score >= cfg.levels.orange:
        return Level.ORANGE
    if score >= cfg.levels.yellow:
        return Level.YELLOW
    if score >= cfg.levels.blue:
        return Level.BLUE
    return Level.NORMAL


def floor_of(values: dict[str, float], cfg: RiskConfig) -> tuple[str, Level] | None:
    """The highest hazard floor the raw values trigger (the first configured among equals), if any."""
    best = None
    for name, floor in cfg.floors.items():
        if values.get(floor.indicator, 0.0) > floor.above and (
            best is None or floor.level.rank > best[1].rank
        ):
            best = (name, floor.level)
    return best


def assess_values(values: dict[str, float], cfg: RiskConfig) -> Assessment:
    contributions = {}
    for name, w in cfg.indicators.items():
        normalised = min(max((values[name] - w.zero_at) / (w.full_at - w.zero_at), 0.0), 1.0)
        contributions[name] = w.weight * normalised
    score = sum(contributions.values())
    level, applied = level_of(score, cfg), None
    floor = floor_of(values, cfg)
    if floor is not None and floor[1].rank > level.rank:
        applied, level = floor
    return Assessment(score=score, level=level, values=values, contributions=contributions, floor=applied)


def assess(inputs: DistrictInputs, cfg: RiskConfig) -> Assessment:
    return assess_values(sub_indicators(inputs, cfg), cfg)
