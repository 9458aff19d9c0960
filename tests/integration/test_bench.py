import json

import pytest

from citybrain.bench import ingest
from citybrain.bench.runner import save


def test_bench_ingest_reports_both_rates_and_their_ratio(database_url, tmp_path):
    from citybrain.store.migrate import migrate

    migrate(database_url)
    result = save(
        ingest.run(database_url, n_rows=3000, batch=1000, rounds=1, echo=lambda _: None),
        tmp_path / "bench.json",
    )
    saved = json.loads((tmp_path / "bench.json").read_text())
    assert saved == json.loads(json.dumps(result))
    rates = saved["rows_per_s"]
    assert set(rates) == {"bare_copy", "writer", "writer_replay"} and min(rates.values()) > 0
    assert abs(saved["ratio_writer_to_bare_copy"] - rates["writer"] / rates["bare_copy"]) < 0.01
    assert saved["machine"]["cpus"] >= 1


def test_bench_pipeline_measures_the_worker_against_raw_limits_and_the_reference():
    from citybrain.bench import pipeline
    from tests.helpers import settings_for

    result = pipeline.run_standalone(
        settings_for(partitions=2),
        4000,
        echo=lambda _: None,
        latency_rates=(200, 1000),
        latency_s=2,
        floods=1,
        backlog_events=3000,
        simulator=(2000, 1.0),
    )
    rates = result["events_per_s"]
    assert set(rates) == {
        "produce_only",
        "consume_only",
        "copy_only",
        "worker_readings",
        "worker_cameras",
        "worker_cases",
        "reference",
        "two_workers",
        "simulator",
    }
    assert min(rates.values()) > 0
    first, last = result["copy_only_rows_per_s"]  # just before and just after the worker drains readings
    assert min(first, last) > 0 and rates["copy_only"] == pytest.approx((first + last) / 2, abs=1)
    for ratio in ("consume_only", "copy_only", "reference"):
        assert result[f"ratio_worker_to_{ratio}"] == pytest.approx(
            rates["worker_readings"] / rates[ratio], rel=0.01, abs=0.001
        )
    assert [entry["rate_per_s"] for entry in result["latency_ms"]] == [200, 1000]
    for entry in result["latency_ms"]:
        assert entry["samples"] == entry["rate_per_s"] * 2 and 0 < entry["p50"] <= entry["p95"]
    assert result["worker_peak_rss_mib"] > 10
    after_outage = result["backlog"]  # everything on the three topics again, and 3,000 more readings
    assert after_outage["events"] > 4000 + 3000 + 4000 + 800 and after_outage["events_per_s"] > 0
    assert after_outage["worker_peak_rss_mib"] > 10
    (screen,) = result["event_to_screen_s"]  # a flood reaches the wall's readers, and its critical alert
    assert 0 < screen["incident"] < 60 and screen["alert"] is not None and screen["alert"] >= 0


def test_a_month_of_history_for_bench_wall_reads_back_as_the_wall_reads_it(seeded_url):
    from datetime import UTC, datetime

    import psycopg

    from citybrain.sim.city_sim import CASE_CATEGORIES
    from citybrain.store import queries
    from citybrain.store.synthetic import MonthShape, fill_month

    shape = MonthShape(days=1, live_minutes=1, readings_per_s=10, camera_reports_per_s=5, cases_per_day=240)
    now = datetime.now(UTC)
    with psycopg.connect(seeded_url, autocommit=True) as conn:
        rows = fill_month(conn, now, CASE_CATEGORIES, shape, echo=lambda _: None)
        assert rows["cases"] == 240 and rows["readings"] == 600 and rows["camera_status"] == 300
        assert rows["indicators"] == 20 * 2 * (24 * 60 + 1)  # every district, both windows, every minute
        devices = queries.device_status(conn)
        kpis = queries.case_kpis(conn, now.replace(hour=0, minute=0, second=0, microsecond=0), now)
    assert sum(d["sensors_reporting"] for d in devices) == rows["sensors"]  # every sensor heard just now
    assert sum(d["cameras_offline"] + d["cameras_online"] for d in devices) == rows["cameras"]
    assert kpis[None].opened > 0 and kpis[None].open_cases > 0
