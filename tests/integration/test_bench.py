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
