"""Data lifecycle from config/storage.yaml: compression, retention, rollup refresh.

On TimescaleDB these become background-job policies (re-applied on every
migrate, so a changed config takes effect); on plain PostgreSQL the worker
calls ``prune_past_retention`` periodically (through ``maintenance.run_prune``, which
records each run) to delete what is past retention. Either way the retention
is the owner's: ``apply_policies`` (run by ``migrate``/``up`` as the schema
owner) writes it where the application role can only read it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg
from pydantic import BaseModel, ConfigDict, Field, model_validator

from citybrain.config import load_yaml
from citybrain.store.migrate import connect, storage_mode
from citybrain.store.runs import record_run

RAW_TABLES = ("readings", "camera_status", "case_events")
# (view, refresh start_offset, end_offset, schedule) — the 1-minute views refresh
# every minute over the last two hours; real-time aggregation covers the rest.
ROLLUP_REFRESH = {
    "1m": ("2 hours", "1 minute", "1 minute"),
    "1h": ("3 days", "1 hour", "30 minutes"),
}
LONGEST_REFRESH_WINDOW_DAYS = 3  # the hourly views' start offset
# Rows stored more than this after their event time are queued by the writer and refreshed by the worker
# (store/bookkeeping.py, store/maintenance.py): the 1-minute policy looks back 2 hours and runs every minute,
# so this leaves it an hour to be late itself before rows could slip past it.
LATE_AFTER = "1 hour"
APPLY_TASK = "apply_policies"


class StorageConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    raw_retention_days: int = Field(ge=1)
    compress_after_days: int = Field(ge=1)
    rollup_1m_retention_days: int = Field(ge=1)
    rollup_1h_retention_days: int = Field(ge=1)
    aggregate_compress_after_days: int = Field(ge=1)

    @model_validator(mode="after")
    def _order(self) -> StorageConfig:
        if self.compress_after_days >= self.raw_retention_days:
            raise ValueError("compress_after_days must be less than raw_retention_days")
        # TimescaleDB refuses a compression policy on a continuous aggregate that reaches into its
        # refresh window
        if self.aggregate_compress_after_days <= LONGEST_REFRESH_WINDOW_DAYS:
            raise ValueError(
                f"aggregate_compress_after_days must be more than {LONGEST_REFRESH_WINDOW_DAYS} "
                "(the hourly rollups' refresh window)"
            )
        if self.aggregate_compress_after_days >= self.rollup_1m_retention_days:
            raise ValueError("aggregate_compress_after_days must be less than rollup_1m_retention_days")
        if self.rollup_1h_retention_days < self.raw_retention_days:
            raise ValueError(
                "rollup_1h_retention_days must be at least raw_retention_days (aggregates outlive raw data)"
            )
        return self

    @classmethod
    def load(cls, config_dir: Path) -> StorageConfig:
        return load_yaml(config_dir / "storage.yaml", cls)

    def retention(self, resolution: str) -> int:
        return {"1m": self.rollup_1m_retention_days, "1h": self.rollup_1h_retention_days}[resolution]


def _days(n: int) -> str:
    return f"{n} days"


def apply_policies(url: str, cfg: StorageConfig) -> str:
    """Register TimescaleDB's background policies when in timescale mode; returns the mode.

    The time they were applied is kept in ``maintenance_runs`` (task ``apply_policies``): a job that has
    never run long after that is overdue (store/health.py).
    """
    with connect(url, autocommit=True) as conn:
        mode = storage_mode(conn)
        record_retention(conn, cfg)
        if mode == "timescale":
            started = datetime.now(UTC)
            _apply_timescale_policies(conn, cfg)
            record_run(conn, APPLY_TASK, started, None)
    return mode


def _apply_timescale_policies(conn: psycopg.Connection, cfg: StorageConfig) -> None:
    with conn.transaction():
        for table in RAW_TABLES:
            conn.execute("SELECT remove_compression_policy(%s, if_exists => true)", (table,))
            conn.execute(
                "SELECT add_compression_policy(%s, %s::interval)", (table, _days(cfg.compress_after_days))
            )
            conn.execute("SELECT remove_retention_policy(%s, if_exists => true)", (table,))
            conn.execute(
                "SELECT add_retention_policy(%s, %s::interval)", (table, _days(cfg.raw_retention_days))
            )
            for resolution, (start, end, every) in ROLLUP_REFRESH.items():
                view = f"{table}_{resolution}"
                # second argument: if_not_exists (named so in every 2.x release)
                conn.execute("SELECT remove_continuous_aggregate_policy(%s, true)", (view,))
                conn.execute(
                    "SELECT add_continuous_aggregate_policy(%s, start_offset => %s::interval,"
                    " end_offset => %s::interval, schedule_interval => %s::interval)",
                    (view, start, end, every),
                )
                conn.execute("SELECT remove_retention_policy(%s, if_exists => true)", (view,))
                conn.execute(
                    "SELECT add_retention_policy(%s, %s::interval)", (view, _days(cfg.retention(resolution)))
                )
                # after the refresh policy: compress_after must lie beyond its window
                conn.execute("SELECT remove_compression_policy(%s, if_exists => true)", (view,))
                conn.execute(
                    "SELECT add_compression_policy(%s, compress_after => %s::interval)",
                    (view, _days(cfg.aggregate_compress_after_days)),
                )
        # indicators are what leaders read trends from: kept as long as the hourly rollups
        conn.execute("SELECT remove_retention_policy('indicators', if_exists => true)")
        conn.execute(
            "SELECT add_retention_policy('indicators', %s::interval)", (_days(cfg.rollup_1h_retention_days),)
        )
        conn.execute("SELECT remove_compression_policy('indicators', if_exists => true)")
        conn.execute(
            "SELECT add_compression_policy('indicators', compress_after => %s::interval)",
            (_days(cfg.aggregate_compress_after_days),),
        )


def record_retention(conn: psycopg.Connection, cfg: StorageConfig) -> None:
    """Write the configured retention where only the schema owner can change it (migration 019): plain
    PostgreSQL's prune reads it from there, so the worker's role cannot choose what to delete."""
    conn.execute(
        "INSERT INTO retention_days (what, days) VALUES ('raw', %s), ('rollup_1m', %s), ('rollup_1h', %s)"
        " ON CONFLICT (what) DO UPDATE SET days = EXCLUDED.days",
        (cfg.raw_retention_days, cfg.rollup_1m_retention_days, cfg.rollup_1h_retention_days),
    )


def prune_past_retention(conn: psycopg.Connection) -> int:
    """Delete what is past the owner's retention; returns rows deleted. Plain PostgreSQL: raw rows,
    rollups, indicators, the leaders' rollups and the sensors' minutes; TimescaleDB: the leaders' rollups and
    the sensors' minutes (plain tables there too), its policies doing the rest.

    Runs the owner's ``citybrain_prune_past_retention()`` and ``citybrain_prune_sensor_minutes()``
    (migrations 019, 021, 024): the application role that calls them has no DELETE on the event tables
    itself, and neither lets it choose the days."""
    with conn.transaction():
        return conn.execute(
            "SELECT citybrain_prune_past_retention() + citybrain_prune_sensor_minutes()"
        ).fetchone()[0]
