"""Writer throughput against a bare COPY of the same rows into the same table.

Both run on the same database in the same process, alternating, several
rounds; the median of each is reported and their ratio is the figure that
means something on a shared, noisy machine.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg

from citybrain.store.migrate import storage_mode
from citybrain.store.writer import READINGS, BatchWriter


def make_rows(n: int, seed: int = 1) -> list[tuple]:
    rng = np.random.default_rng(seed)
    start = datetime.now(UTC) - timedelta(hours=1)
    offsets = rng.uniform(0, 3600, n)
    districts = rng.choice([f"5101{c:02d}" for c in (4, 5, 6, 7, 8, 12, 13, 14)], n)
    values = rng.uniform(0, 200, n).round(2)
    return [
        (
            uuid.uuid4(),
            start + timedelta(seconds=float(o)),
            f"iot-{i % 1760:05d}",
            str(d),
            "pm25",
            float(v),
            "ug/m3",
        )
        for i, (o, d, v) in enumerate(zip(offsets, districts, values, strict=True))
    ]


def _batches(rows: Sequence[tuple], size: int):
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def _reset(conn: psycopg.Connection) -> None:
    plain = (
        storage_mode(conn) == "plain"
    )  # plain rollups are tables the writer fills; aggregates refresh themselves
    conn.execute("TRUNCATE readings, readings_1m, readings_1h" if plain else "TRUNCATE readings")
    conn.commit()


def bare_copy(conn: psycopg.Connection, rows: Sequence[tuple], batch: int, table: str = "readings") -> float:
    """Seconds to COPY the rows straight into the table, one transaction per batch."""
    cols = ", ".join(READINGS.columns)
    started = time.perf_counter()
    for chunk in _batches(rows, batch):
        with conn.transaction(), conn.cursor().copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for row in chunk:
                copy.write_row(row)
    return time.perf_counter() - started


def writer(conn: psycopg.Connection, rows: Sequence[tuple], batch: int) -> float:
    """Seconds for the project's BatchWriter (staging, dedup, rollups) to write the rows."""
    w = BatchWriter(conn, READINGS)
    started = time.perf_counter()
    for chunk in _batches(rows, batch):
        w.write(chunk)
    return time.perf_counter() - started


def run(url: str, n_rows: int, batch: int, rounds: int, echo: Callable[[str], None] = print) -> dict:
    rows = make_rows(n_rows)
    timings: dict[str, list[float]] = {"bare_copy": [], "writer": [], "writer_replay": []}
    with psycopg.connect(url) as conn:
        for r in range(rounds):
            _reset(conn)
            timings["bare_copy"].append(bare_copy(conn, rows, batch))
            _reset(conn)
            timings["writer"].append(writer(conn, rows, batch))
            timings["writer_replay"].append(writer(conn, rows, batch))  # every row a duplicate
            echo(
                f"  round {r + 1}/{rounds}: "
                + ", ".join(f"{k} {n_rows / v[-1]:,.0f} rows/s" for k, v in timings.items())
            )
        _reset(conn)
    rate = {k: n_rows / statistics.median(v) for k, v in timings.items()}
    return {
        "benchmark": "ingest",
        "rows": n_rows,
        "batch": batch,
        "rounds": rounds,
        "rows_per_s": {k: round(v) for k, v in rate.items()},
        "ratio_writer_to_bare_copy": round(rate["writer"] / rate["bare_copy"], 3),
        "ratio_replay_to_bare_copy": round(rate["writer_replay"] / rate["bare_copy"], 3),
    }
