"""Dashboard metrics under gunicorn: every process records into the multiprocess directory and the
master's endpoint (``gunicorn_conf`` hooks) serves their sum; readers count cache hits and misses."""

import subprocess
import sys
import textwrap

from citybrain.runtime.broker import free_port

SCRIPT = textwrap.dedent("""
    import multiprocessing, urllib.request
    from citybrain.dashboard import gunicorn_conf as conf

    class Log:
        def info(self, *args): pass
        def warning(self, *args): print("WARNING", *args)

    class Server:
        log = Log()

    def process(n):  # a gunicorn worker: counts its own cache hits
        from citybrain import metrics
        metrics.DASHBOARD_CACHE.labels("city", "hit").inc(n)

    if __name__ == "__main__":
        conf.on_starting(Server())
        children = [multiprocessing.get_context("fork").Process(target=process, args=(n,)) for n in (2, 3)]
        for c in children: c.start()
        for c in children: c.join()
        conf.when_ready(Server())
        print(urllib.request.urlopen("http://127.0.0.1:{port}/metrics", timeout=5).read().decode())
""")


def test_the_gunicorn_master_serves_the_sum_of_every_dashboard_process(tmp_path):
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "CITYBRAIN_METRICS_PORT": str(port - 1),
        "CITYBRAIN_METRICS_HOST": "127.0.0.1",
    }
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "counter_999999.db").write_bytes(b"left over from a previous run")
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT.replace("{port}", str(port))],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert 'citybrain_dashboard_cache_total{result="hit",source="city"} 5.0' in run.stdout, run.stdout


def test_a_reader_counts_hits_and_misses_and_times_its_queries():
    from prometheus_client import REGISTRY

    from citybrain.dashboard.sources import BrokerReader

    calls = []
    reader = BrokerReader("test_reader", lambda at, key: calls.append(1) or len(calls), ttl_s=60)
    assert reader.read().value == 1 and reader.read().value == 1 and len(calls) == 1

    def sample(name, **labels):
        return REGISTRY.get_sample_value(name, {"source": "test_reader", **labels})

    assert sample("citybrain_dashboard_cache_total", result="miss") == 1
    assert sample("citybrain_dashboard_cache_total", result="hit") == 1
    assert sample("citybrain_dashboard_query_seconds_count") == 1
