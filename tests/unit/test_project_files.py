"""The README, docker-compose.yml and generated docs stay true to the code."""

import importlib.util
import json
import re

import yaml

from citybrain.events import json_schemas
from citybrain.settings import PROJECT_ROOT, Settings

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_in_the_readme():
    missing = [
        f"CITYBRAIN_{name.upper()}"
        for name in Settings.model_fields
        if f"`CITYBRAIN_{name.upper()}`" not in README
    ]
    assert missing == []


def test_readme_shows_the_two_commands():
    assert "make up" in README and "make test" in README


def test_ci_runs_the_readme_test_command():
    assert "make test" in (PROJECT_ROOT / ".ci/run").read_text()


def test_event_schema_doc_is_current():
    doc = json.loads((PROJECT_ROOT / "docs/event-schemas.json").read_text(encoding="utf-8"))
    assert doc == json.loads(json.dumps(json_schemas())), (
        "regenerate with: citybrain schema > docs/event-schemas.json"
    )


def test_docker_compose_describes_a_working_deployment():
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"timescaledb", "kafka", "migrate", "worker", "simulator", "dashboard"} <= set(services)
    assert services["timescaledb"]["image"].startswith("timescale/timescaledb")
    commands = {name: s.get("command") for name, s in services.items()}
    assert commands["worker"] == ["worker"] and commands["migrate"] == ["migrate"]
    # every CITYBRAIN_* variable the deployment sets is a real setting
    for service in services.values():
        for key in service.get("environment") or {}:
            if key.startswith("CITYBRAIN_"):
                assert key[len("CITYBRAIN_") :].lower() in Settings.model_fields, key
    env = services["worker"]["environment"]
    assert services["worker"]["deploy"]["replicas"] <= int(env["CITYBRAIN_PARTITIONS"])
    wsgi = re.search(r"(citybrain\.[\w.]+):server", " ".join(services["dashboard"]["entrypoint"])).group(1)
    assert importlib.util.find_spec(wsgi) is not None
    assert (PROJECT_ROOT / "Dockerfile").exists()
    # migrations run as the owner and set up the application role the long-running services use
    migrate_env = services["migrate"]["environment"]
    assert migrate_env["CITYBRAIN_DATABASE_URL"].startswith("postgresql://citybrain:")
    assert migrate_env["CITYBRAIN_APP_DATABASE_URL"].startswith("postgresql://citybrain_app:")
    for name in ("worker", "dashboard", "simulator"):
        env = services[name].get("environment") or compose["x-citybrain"]["environment"]
        assert env["CITYBRAIN_DATABASE_URL"].startswith("postgresql://citybrain_app:"), name


def test_prometheus_in_docker_compose_scrapes_the_worker_dashboard_and_simulator():
    from citybrain.metrics import port_for

    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    prometheus = services["prometheus"]
    assert prometheus["image"].startswith("prom/prometheus")
    mount = next(v for v in prometheus["volumes"] if v.endswith(":/etc/prometheus/prometheus.yml:ro"))
    config = yaml.safe_load((PROJECT_ROOT / mount.split(":")[0]).read_text())
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]

    targets = {}  # service -> port, as Prometheus will reach it
    for job in config["scrape_configs"]:
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                host, port = target.split(":")
                targets[host] = int(port)
        for dns in job.get("dns_sd_configs", []):
            assert dns["type"] == "A"
            targets.update({name: dns["port"] for name in dns["names"]})
    assert set(targets) == {"worker", "dashboard", "simulator"}
    for name, port in targets.items():
        env = services[name].get("environment") or compose["x-citybrain"]["environment"]
        assert env["CITYBRAIN_METRICS_HOST"] == "0.0.0.0", name  # reachable from the prometheus container
        assert port == port_for(int(env["CITYBRAIN_METRICS_PORT"]), name), name
        assert name in prometheus["depends_on"]
    # the dashboard's gunicorn processes are summed by the master: multiprocess mode and its hooks
    dashboard = services["dashboard"]
    assert dashboard["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    entry = dashboard["entrypoint"]
    conf = entry[entry.index("--config") + 1]
    assert conf.startswith("python:") and importlib.util.find_spec(conf[len("python:") :]) is not None
    assert "prometheus-data" in compose["volumes"]
