"""config/wall.yaml, validated: the wall screen's playlist, paging and urban-core inset."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from citybrain.config import load_yaml


class Panel(StrEnum):
    RISK = "risk"
    ALERTS = "alerts"
    CASES = "cases"
    VIDEO = "video"


class WallConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    rotate_s: float = Field(ge=2)
    rows_per_page: int = Field(ge=1, le=20)
    table_rows_per_page: int = Field(ge=1, le=40)
    playlist: tuple[Panel, ...] = Field(min_length=1)
    core_districts: tuple[str, ...] = ()

    @field_validator("core_districts")
    @classmethod
    def _codes(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
        bad = [c for c in codes if not (len(c) == 6 and c.isdigit())]
        if bad:
            raise ValueError(f"not district codes: {', '.join(bad)}")
        return codes

    @classmethod
    def load(cls, config_dir: Path) -> WallConfig:
        return load_yaml(config_dir / "wall.yaml", cls)
