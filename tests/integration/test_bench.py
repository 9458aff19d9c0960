import json

from citybrain.bench import ingest
from citybrain.bench.runner import save


def test_bench_ingest_reports_both_rates_and_their_ratio(database_url, tmp_path):
    from citybrain.store.migrate import migrate

    migrate(database_url)
    result = save(ingest.run(database_url, n_rows=3000, batch=1000, rounds=1, echo=lambda _: None),
                  tmp_path / "bench.json")
    saved = json.loads((tmp_path / "bench.json").read_text())
    assert saved == json.loads(json.dumps(result))
    rates = saved["rows_per_s"]
    assert set(rates) == {"bare_copy", "writer", "writer_replay"} and min(rates.values()) > 0
    assert abs(saved["ratio_writer_to_bare_copy"] - rates["writer"] / rates["bare_copy"]) < 0.01
    assert saved["machine"]["cpus"] >= 1


def test_bench_pipeline_measures_the_worker_against_raw_limits(bootstrap, seeded_url, registry, tmp_path):
    import uuid

    from citybrain.bench import pipeline
    from citybrain.runtime.broker import ensure_topics
    from tests.helpers import start_citybrain

    ensure_topics(bootstrap, 2)

    def start_worker():
        return start_citybrain(["worker"], tmp_path / "worker.log", kafka_bootstrap=bootstrap, database_url=seeded_url,
                               worker_id=f"bench-{uuid.uuid4().hex[:8]}", partitions=2)

    result = pipeline.run(bootstrap, seeded_url, registry[1], 3000, 2, start_worker, echo=lambda _: None)
    rates = result["events_per_s"]
    assert set(rates) == {"produce_only", "consume_only", "copy_only", "pipeline"} and min(rates.values()) > 0
    assert 0 < result["ratio_pipeline_to_consume_only"] and 0 < result["ratio_pipeline_to_copy_only"]
    latency = result["latency_ms"]
    assert latency["samples"] > 0 and 0 < latency["p50"] <= latency["p95"]
