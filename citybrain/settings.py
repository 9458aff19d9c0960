"""All runtime settings in one place, read from CITYBRAIN_* environment variables.

Every field is listed in the README's configuration table; a test fails when
one is missing there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYBRAIN_", extra="ignore")

    database_url: str | None = Field(
        None,
        description="PostgreSQL/TimescaleDB URL this process connects with: the schema owner for `up`,"
        " `migrate` and `users`; the application role for `worker` and `dashboard`. Unset: `up` starts an"
        " embedded PostgreSQL.",
    )
    app_database_url: str | None = Field(
        None,
        description="URL of the application's own non-superuser role, which `up` and `migrate` create"
        " and grant; `up` hands it to the worker and dashboard. Unset: `up` uses role citybrain_app with a"
        " password kept in the data directory.",
    )
    admin_user: str = Field(
        "admin", description="Name of the first administrator `up` creates when there are no users."
    )
    admin_password: str | None = Field(
        None,
        description="Password of that first administrator. Unset: `up` generates one and prints it once.",
    )
    cookie_secure: bool = Field(
        False, description="Send session cookies over HTTPS only (set when the dashboard is served over TLS)."
    )
    kafka_bootstrap: str | None = Field(
        None, description="Kafka bootstrap servers (host:port,...). Unset: `up` starts an embedded broker."
    )
    data_dir: Path = Field(
        PROJECT_ROOT / ".citybrain", description="Where the embedded database keeps its files between runs."
    )
    config_dir: Path = Field(PROJECT_ROOT / "config", description="City and rule configuration directory.")
    broker_port: int = Field(9092, ge=1, le=65535, description="Port of the embedded broker on 127.0.0.1.")
    dashboard_host: str = Field("127.0.0.1", description="Address the dashboard listens on.")
    dashboard_port: int = Field(8050, ge=1, le=65535, description="Port the dashboard listens on.")
    dashboard_refresh_s: float = Field(2.0, gt=0, description="How often dashboard pages refresh, seconds.")
    cameras: int = Field(95_000, ge=0, description="Video points in the simulated device registry.")
    sensors: int = Field(1_760, ge=0, description="IoT monitoring points in the simulated device registry.")
    seed: int = Field(
        20260101, description="Seed of the device registry and simulator (same seed, same city)."
    )
    sim_rate: float = Field(200.0, gt=0, description="Simulator events per second, all streams together.")
    partitions: int = Field(4, ge=1, description="Partitions of each topic created by citybrain.")
    worker_id: str = Field("citybrain-worker", description="Faust application id (consumer group).")
    # While a backlog drains, a batch gathers fetches up to this (stream/consumer.py): a batch costs the
    # database about 50 ms whatever its size, and the embedded broker's fetch brings about 26,000 readings.
    # Draining 300,000 events, 20,000 → 40,000 (two fetches a batch): readings 105,000 → 145,000–170,000
    # events/s, camera status 92,000 → 108,000, case events 74,000–85,000 → 92,000–99,000.
    batch_size: int = Field(
        40_000, ge=1, description="Max events the worker fetches and stores in one transaction."
    )
    batch_within_s: float = Field(
        0.5, gt=0, description="Max seconds the worker waits for records when none have arrived."
    )
    max_future_s: float = Field(300.0, ge=0, description="Events dated further in the future go to the DLQ.")
    max_event_age_days: int | None = Field(
        None,
        ge=1,
        description="Events older than this many days go to the DLQ as too_old (unset: the raw retention).",
    )
    max_message_bytes: int = Field(
        1_048_576, ge=1024, description="Messages larger than this go to the DLQ as too_large, unparsed."
    )
    dead_letter_payload_bytes: int = Field(
        65_536,
        ge=256,
        description="Dead letters keep at most this much of the payload (with its size and SHA-256).",
    )
    storage_mode: Literal["detect", "timescale", "plain"] = Field(
        "detect",
        description="How `migrate` chooses storage for a new database: `detect` (TimescaleDB when the server "
        "can run it, plain PostgreSQL when it has none, an error naming the fix when TimescaleDB "
        "is installed but not "
        "preloaded), `timescale` (require it) or `plain` (never use it).",
    )
    metrics_host: str = Field("127.0.0.1", description="Address the Prometheus metrics endpoints listen on.")
    metrics_port: int | None = Field(
        None,
        ge=1,
        le=65533,
        description="Port of the worker's Prometheus `/metrics` endpoint; the dashboard uses the "
        "next port and the simulator the one after. Unset: no endpoint.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level of every citybrain process."
    )
