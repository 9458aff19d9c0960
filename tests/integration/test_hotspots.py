"""Appeal hot spots on the real pipeline (broker, worker, PostgreSQL): the ``hotspot`` scenario opens one
``case_hotspot`` alert carrying the hot spot's centroid, radius, count and cases; a sparse scatter of the
same category does not; duplicate events count once; and the district's risk explanation shows the
hot spot's contribution (and its floor)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import dict_row

from citybrain.events import CaseEvent, Level
from citybrain.hotspots.detect import city_locator
from citybrain.risk.config import RiskConfig
from citybrain.runtime.broker import ensure_topics
from citybrain.settings import PROJECT_ROOT
from citybrain.sim import scenarios
from citybrain.store import hotspots as hotspot_store
from citybrain.store import queries
from tests.helpers import read_topic, run_citybrain, wait_until

pytestmark = pytest.mark.integration

WUHOU, PIDU = "510107", "510117"


def _rows(url: str, query: str, params: dict | None = None) -> list[dict]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(query, params or {}).fetchall()


def hotspot_alerts(url: str) -> list[dict]:
    return _rows(url, "SELECT * FROM alerts WHERE rule_id = 'appeal_hotspot' ORDER BY id")


def test_a_hotspot_scenario_opens_one_alert_and_raises_its_districts_risk(
    bootstrap, seeded_url, city, registry, worker
):
    cameras, _ = registry
    locate = city_locator(city)
    wait_until(lambda: _rows(seeded_url, "SELECT 1 FROM indicators LIMIT 1"), 90, 0.5, "the first risk tick")

    # noise first: 15 water appeals scattered over 5 km of Pidu make no hot spot
    sparse = scenarios.hotspot(cameras, PIDU, locate, 15, 5000, seed=3)
    scenarios.send(bootstrap, sparse)
    wait_until(
        lambda: _rows(seeded_url, "SELECT 1 FROM hotspot_progress WHERE watermark IS NOT NULL"),
        30,
        0.3,
        "the detector to read the scattered cases",
    )

    burst = scenarios.hotspot(cameras, WUHOU, locate, 15, 400, seed=11)
    sent_at = datetime.now(UTC)
    scenarios.send(bootstrap, burst)

    def full_alert():
        rows = hotspot_alerts(seeded_url)
        return rows if rows and rows[-1]["labels"].get("count") == "15" else None

    alerts = wait_until(full_alert, 45, 0.3, "a case_hotspot alert with all 15 cases")
    print(f"hot spot → alert with every case after {(datetime.now(UTC) - sent_at).total_seconds():.1f} s")
    (alert,) = alerts  # one alert: not one per case, not one per district
    labels = alert["labels"]
    assert alert["status"] == "active" and alert["severity"] == "major"
    assert sorted(labels["cases"].split(",")) == sorted(e.case_id for e in burst)
    assert float(labels["radius_m"]) <= 800  # 400 m around a point: at most its diameter from the centroid
    lon, lat = map(float, labels["centroid"].split(","))
    assert locate(lon, lat) == alert["district"]
    assert alert["value"] == 15 and alert["peak"] == 15
    assert not [e for e in sparse if e.case_id in labels["cases"]]
    with psycopg.connect(seeded_url) as conn:
        (spot,) = hotspot_store.active(conn)
        assert spot["case_count"] == 15 and spot["id"] == labels["hotspot"]
        cases = hotspot_store.cases_of(conn, spot["id"])
    assert {c["case_id"] for c in cases} == {e.case_id for e in burst}
    assert all(c["category"] == "water_supply" for c in cases)

    # the same events again, and one case created twice under a new event id: still 15 cases, one alert
    again = [e.model_copy(update={"event_id": uuid.uuid4()}) for e in burst[:1]]
    scenarios.send(bootstrap, burst + again)
    wait_until(
        lambda: _rows(
            seeded_url, "SELECT 1 FROM case_events WHERE event_id = %(id)s", {"id": again[0].event_id}
        ),
        30,
        0.3,
        "the duplicate to be stored",
    )
    wait_until(
        lambda: _rows(
            seeded_url,
            "SELECT 1 FROM hotspot_progress WHERE watermark >= (SELECT max(ingested_at) FROM case_events)",
        ),
        30,
        0.3,
        "the detector to read past the duplicate",
    )
    assert [a["labels"]["count"] for a in hotspot_alerts(seeded_url)] == ["15"]

    # the district's risk says why: the hot spot's contribution, and its floor lifts a quiet district
    cfg = RiskConfig.load(PROJECT_ROOT / "config")

    def explained():
        with psycopg.connect(seeded_url) as conn:
            row = next(
                r for r in queries.latest_risk(conn, cfg.windows_s[-1]) if r["district"] == alert["district"]
            )
        return row if row["contributions"].get("case_hotspots", 0) > 0 else None

    row = wait_until(explained, 30, 0.5, "the hot spot in the district's risk")
    weight = cfg.indicators["case_hotspots"]
    assert row["sub_values"]["case_hotspots"] == 1.0
    assert row["contributions"]["case_hotspots"] == pytest.approx(weight.weight / weight.full_at)
    assert Level(row["level"]).rank >= Level.BLUE.rank


def test_the_scenario_command_sends_a_burst_of_created_cases(bootstrap):
    ensure_topics(bootstrap, 2)
    result = run_citybrain(
        ["scenario", "hotspot", "--district", WUHOU, "--cases", "12", "--radius", "300", "--minutes", "0"],
        kafka_bootstrap=bootstrap,
        partitions=2,
        config_dir=PROJECT_ROOT / "config",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "12 water_supply appeals within 300 m" in result.stdout and "12 appeals sent" in result.stdout
    events = [CaseEvent.model_validate_json(r.value) for r in read_topic(bootstrap, "case.events", 2)]
    assert len(events) == 12 and {e.type.value for e in events} == {"created"}
    assert {e.category for e in events} == {"water_supply"} and all(e.location for e in events)


def test_the_scenario_command_refuses_an_unknown_district():
    result = run_citybrain(["scenario", "hotspot", "--district", "999999"], kafka_bootstrap="127.0.0.1:1")
    assert result.returncode != 0 and "999999" in result.stdout + result.stderr


def test_scenario_cases_straddling_a_border_are_filed_where_they_are(city, registry):
    cameras, _ = registry
    events: list[CaseEvent] = scenarios.hotspot(
        cameras, WUHOU, city_locator(city), 30, 3000, seed=5, now=datetime(2026, 11, 30, tzinfo=UTC)
    )
    assert len({e.district for e in events}) > 1  # 3 km around a point of Wuhou reaches its neighbours
    assert all(e.event_time == datetime(2026, 11, 30, tzinfo=UTC) for e in events)
    spread = scenarios.hotspot(cameras, WUHOU, city_locator(city), 10, 400, over_s=1200, seed=5)
    times = sorted(e.event_time for e in spread)
    assert times[-1] - times[0] <= timedelta(minutes=20) and times[-1] > times[0]
