"""A flood on the real pipeline (broker, worker, database) with the shipped risk configuration: every
gauge of one district over its warning line turns the district orange, with the flood named as the
reason, within the wall's bound — read the way the wall reads it (the newest row, provisional or final)."""

from datetime import UTC, datetime

import psycopg

from citybrain.bench.wall_latency import flood_to_wall
from citybrain.events import Level
from citybrain.risk.config import RiskConfig
from citybrain.settings import PROJECT_ROOT
from citybrain.sim import scenarios
from citybrain.store import queries
from tests.helpers import wait_until

PARTITIONS = 2
SHUANGLIU = "510116"
WALL_BOUND_S = 15.0  # the issue: an incident changes its district's colour on the wall within 15 s
WALL_REFRESH_S = 2.0  # what the wall's own refresh adds after the data is in the database


def wall_row(url: str, district: str, window_s: int) -> dict | None:
    with psycopg.connect(url) as conn:
        return next((r for r in queries.latest_risk(conn, window_s) if r["district"] == district), None)


def test_a_flood_turns_its_district_orange_within_the_wall_bound(bootstrap, seeded_url, registry, worker):
    _, sensors = registry
    cfg = RiskConfig.load(PROJECT_ROOT / "config")
    window_s = cfg.windows_s[-1]  # the wall shows the rolling 15 minutes
    # the worker is up and scoring: Shuangliu is quiet (normal) before the flood
    before = wait_until(lambda: wall_row(seeded_url, SHUANGLIU, window_s), 90, 0.5, "the first risk tick")
    assert before["level"] == Level.NORMAL

    flood = scenarios.flood(sensors, SHUANGLIU, 6.5)
    first_event = min(e.event_time for e in flood)
    scenarios.send(bootstrap, flood)

    def orange():
        row = wall_row(seeded_url, SHUANGLIU, window_s)
        return row if row and Level(row["level"]).rank >= Level.ORANGE.rank else None

    row = wait_until(orange, WALL_BOUND_S + 10, 0.2, "Shuangliu to turn orange")
    took = (datetime.now(UTC) - first_event).total_seconds()
    print(f"flood → orange in the wall's data after {took:.1f} s")
    assert took <= WALL_BOUND_S - WALL_REFRESH_S, f"took {took:.1f} s"
    assert row["floor"] == "water_over_warning_line" and row["sub_values"]["exceed_water_level"] == 1.0
    assert not row["final"]  # the window in progress, not a completed minute
    assert row["score"] < cfg.levels.orange  # the weighted sum alone would not have said orange
    # no other district is flooded
    with psycopg.connect(seeded_url) as conn:
        others = {
            r["district"]: r["level"]
            for r in queries.latest_risk(conn, window_s)
            if r["district"] != SHUANGLIU
        }
    assert "orange" not in others.values() and "red" not in others.values()


def test_the_wall_latency_measurement_sees_a_flood_and_its_alert(bootstrap, seeded_url, registry, worker):
    """The figure `citybrain bench` reports: incident → colour on the wall, critical alert → listed."""
    _, sensors = registry
    wait_until(lambda: wall_row(seeded_url, "510114", 900), 90, 0.5, "the first risk tick")
    latency = flood_to_wall(bootstrap, seeded_url, sensors, "510114", refresh_s=2.0, timeout_s=40)
    print(f"incident → wall {latency.incident_s:.1f} s, alert → wall {latency.alert_s} s")
    assert latency.incident_s <= WALL_BOUND_S
    assert latency.alert_s is not None and latency.alert_s <= 5.0
