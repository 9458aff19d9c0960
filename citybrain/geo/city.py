"""The city's districts: names from config/city.yaml, boundaries from its GeoJSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import geopandas as gpd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from citybrain.config import ConfigError, load_yaml


class DistrictSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    adcode: str = Field(pattern=r"^\d{6}$")
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    density: float = Field(1.0, gt=0, description="relative device density per km²")


class CitySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name_zh: str
    name_en: str
    adcode: str = Field(pattern=r"^\d{6}$")
    timezone: str = Field(description="IANA time zone the city's staff read times in, e.g. Asia/Shanghai")
    center: tuple[float, float]
    boundaries: str
    appeals_per_year: int = Field(ge=0, description="citizen appeals (hotline cases) a year, city-wide")
    districts: list[DistrictSpec] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{name!r} is not a known IANA time zone (for example Asia/Shanghai)") from None
        return name

    @field_validator("districts")
    @classmethod
    def _unique(cls, districts: list[DistrictSpec]) -> list[DistrictSpec]:
        seen: set[str] = set()
        for d in districts:
            if d.adcode in seen:
                raise ValueError(f"adcode {d.adcode} listed twice")
            seen.add(d.adcode)
        return districts


@dataclass(frozen=True)
class City:
    spec: CitySpec
    geojson: dict

    @classmethod
    def load(cls, config_dir: Path) -> City:
        path = config_dir / "city.yaml"
        spec = load_yaml(path, CitySpec)
        geo_path = config_dir / spec.boundaries
        try:
            geojson = json.loads(geo_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: boundaries: cannot read {geo_path}: {exc}") from None
        have = {f.get("properties", {}).get("adcode") for f in geojson.get("features", [])}
        missing = [d.adcode for d in spec.districts if d.adcode not in have]
        if missing:
            raise ConfigError(f"{geo_path}: no boundary for district(s) {', '.join(missing)}")
        return cls(spec, geojson)

    @property
    def tz(self) -> ZoneInfo:
        """The city's time zone: screens show local time, never UTC."""
        return ZoneInfo(self.spec.timezone)

    @property
    def districts(self) -> list[DistrictSpec]:
        return self.spec.districts

    @cached_property
    def frame(self) -> gpd.GeoDataFrame:
        """Districts in config order with names, density and area (km²)."""
        shapes = gpd.GeoDataFrame.from_features(self.geojson["features"], crs="EPSG:4326").set_index("adcode")
        meta = gpd.pd.DataFrame([d.model_dump() for d in self.districts]).set_index("adcode")
        frame = gpd.GeoDataFrame(meta.join(shapes[["geometry"]]), geometry="geometry", crs="EPSG:4326")
        frame["area_km2"] = frame.to_crs(frame.estimate_utm_crs()).area / 1e6
        return frame.reset_index()
