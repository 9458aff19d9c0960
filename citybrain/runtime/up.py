"""`citybrain up`: the whole command centre on one machine, embedded where unset."""

from __future__ import annotations

import os
import signal
import sys
import time
import urllib.error
import urllib.request

import psycopg

from citybrain import accounts
from citybrain.alerts.rules import RulesConfig
from citybrain.geo.city import City
from citybrain.geo.registry import build_registry
from citybrain.hotspots.config import HotspotConfig
from citybrain.risk.config import RiskConfig
from citybrain.runtime import broker, database
from citybrain.runtime.errors import StartupError
from citybrain.runtime.supervisor import Supervisor, interrupt_on_signals
from citybrain.settings import Settings
from citybrain.store.migrate import migrate
from citybrain.store.policies import StorageConfig, apply_policies
from citybrain.store.registry import seed_city
from citybrain.store.roles import ensure_app_role

DASHBOARD_START_TIMEOUT_S = 90.0


def echo(text: str) -> None:
    print(text, flush=True)


def check_config(settings: Settings) -> None:
    """Load every configuration file, so a mistake stops `up` before anything starts."""
    City.load(settings.config_dir)
    StorageConfig.load(settings.config_dir)
    RiskConfig.load(settings.config_dir)
    RulesConfig.load(settings.config_dir)
    HotspotConfig.load(settings.config_dir)


def prepare_database(url: str, settings: Settings, app_url: str | None = None) -> dict[str, int]:
    """Apply migrations and storage policies, load the city and its device registry, and (given its
    URL) set up the application's least-privilege role."""
    migrate(url, mode=settings.storage_mode)
    counts: dict = {"storage": apply_policies(url, StorageConfig.load(settings.config_dir))}
    city = City.load(settings.config_dir)
    cameras, sensors = build_registry(city, settings.cameras, settings.sensors, settings.seed)
    counts |= seed_city(url, city, cameras, sensors)
    if app_url:
        counts["app_role"] = ensure_app_role(url, app_url)
    return counts


def first_admin(url: str, settings: Settings) -> str:
    """Create the first administrator when there is no account; say how to sign in."""
    with psycopg.connect(url, autocommit=True) as conn:
        generated = accounts.ensure_first_admin(conn, settings.admin_user, settings.admin_password)
        if generated:
            return (
                f"user {settings.admin_user}, password {generated}  (shown once; change it with"
                f" `citybrain users passwd {settings.admin_user}`)"
            )
        if settings.admin_password and accounts.get_or_none(conn, settings.admin_user):
            return f"user {settings.admin_user}, password from CITYBRAIN_ADMIN_PASSWORD"
        return "with your account (`citybrain users list`, `citybrain users add NAME --role officer`)"


def _wait_for_http(url: str, supervisor: Supervisor, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        supervisor.check()
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise StartupError(f"dashboard did not answer at {url} within {timeout_s:.0f} s")


def up(settings: Settings) -> None:
    interrupt_on_signals()
    data_dir = settings.data_dir
    log_dir = data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    supervisor = Supervisor(log_dir, env)
    pg_server = None
    try:
        check_config(settings)
        if not broker.port_free(settings.dashboard_host, settings.dashboard_port):
            raise StartupError(
                f"dashboard port {settings.dashboard_port} on {settings.dashboard_host} is already in use "
                "(set CITYBRAIN_DASHBOARD_PORT)"
            )
        if settings.database_url:
            database_url = settings.database_url
            database.wait_for_database(database_url)
            echo(f"database   {database.redact(database_url)} (external)")
        else:
            pg_server, database_url = database.start_embedded(data_dir)
            echo(f"database   embedded PostgreSQL, data in {data_dir / 'pg'}")
        if settings.kafka_bootstrap:
            bootstrap = settings.kafka_bootstrap
            echo(f"broker     {bootstrap} (external)")
        else:
            proc, bootstrap = broker.start_embedded(settings.broker_port, log_dir / "broker.log")
            supervisor.adopt("broker", proc, log_dir / "broker.log")
            echo(f"broker     embedded Kafka-compatible broker on {bootstrap}")
        broker.ensure_topics(bootstrap, settings.partitions)
        app_url = database.app_database_url(database_url, settings.app_database_url, data_dir)
        counts = prepare_database(database_url, settings, app_url)
        echo(
            f"storage    {counts['storage']} mode; worker and dashboard connect as role {counts['app_role']}"
        )
        echo(
            f"city       {counts['districts']} districts, {counts['cameras']:,} cameras, "
            f"{counts['sensors']:,} sensors"
        )

        sign_in = first_admin(database_url, settings)
        # the children get the application role only, never the owner's URL
        env.update(
            CITYBRAIN_DATABASE_URL=app_url,
            CITYBRAIN_APP_DATABASE_URL=app_url,
            CITYBRAIN_KAFKA_BOOTSTRAP=bootstrap,
        )
        env.pop("CITYBRAIN_ADMIN_PASSWORD", None)
        me = [sys.executable, "-m", "citybrain"]
        supervisor.start("dashboard", [*me, "dashboard"])
        supervisor.start("worker", [*me, "worker"])
        supervisor.start("simulator", [*me, "simulate"])
        url = f"http://{settings.dashboard_host}:{settings.dashboard_port}/"
        _wait_for_http(url, supervisor, DASHBOARD_START_TIMEOUT_S)
        echo(f"logs       {log_dir}")
        echo(f"sign in    {sign_in}")
        echo(f"\ncitybrain is up: {url}   (Ctrl-C stops everything)")
        while True:
            time.sleep(0.5)
            supervisor.keep_alive(echo)
    except KeyboardInterrupt:
        echo("\nstopping ...")
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not abandon children
        supervisor.stop_all()
        if pg_server is not None:
            pg_server.cleanup()
        signal.signal(signal.SIGINT, signal.default_int_handler)
    echo("stopped.")
