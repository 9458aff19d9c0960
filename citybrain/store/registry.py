"""Write the city (districts) and its device registry into the database."""

from __future__ import annotations

import psycopg

from citybrain.geo.city import City
from citybrain.geo.registry import Devices


def _copy_upsert(conn: psycopg.Connection, table: str, key: str, columns: list[str], rows) -> None:
    cols = ", ".join(columns)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != key)
    conn.execute(f"CREATE TEMP TABLE stage_{table} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
    with conn.cursor().copy(f"COPY stage_{table} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    conn.execute(
        f"INSERT INTO {table} ({cols}) SELECT {cols} FROM stage_{table} "
        f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )


def seed_city(url: str, city: City, cameras: Devices, sensors: Devices) -> dict[str, int]:
    """Upsert districts and devices; existing camera status is kept. Returns row counts."""
    frame = city.frame
    with psycopg.connect(url) as conn, conn.transaction():
        _copy_upsert(
            conn,
            "districts",
            "adcode",
            ["adcode", "name_zh", "name_en", "area_km2"],
            frame[["adcode", "name_zh", "name_en", "area_km2"]].itertuples(index=False, name=None),
        )
        _copy_upsert(
            conn,
            "cameras",
            "camera_id",
            ["camera_id", "district", "lon", "lat"],
            zip(cameras.ids, cameras.district, cameras.lon.tolist(), cameras.lat.tolist(), strict=True),
        )
        _copy_upsert(
            conn,
            "sensors",
            "device_id",
            ["device_id", "district", "kind", "lon", "lat"],
            zip(
                sensors.ids,
                sensors.district,
                sensors.kind,
                sensors.lon.tolist(),
                sensors.lat.tolist(),
                strict=True,
            ),
        )
        counts = {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("districts", "cameras", "sensors")
        }
    return counts


def load_lookup(url: str) -> tuple[dict[str, str], dict[str, tuple[str, str]], frozenset[str]]:
    """camera_id → district, device_id → (district, kind), and the district codes, for enriching events at
    ingest."""
    with psycopg.connect(url) as conn:
        cams = dict(conn.execute("SELECT camera_id, district FROM cameras").fetchall())
        sens = {
            d: (dist, kind) for d, dist, kind in conn.execute("SELECT device_id, district, kind FROM sensors")
        }
        districts = frozenset(r[0] for r in conn.execute("SELECT adcode FROM districts"))
    return cams, sens, districts
