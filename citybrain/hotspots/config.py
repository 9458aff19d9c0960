"""config/hotspots.yaml, validated on load: a mistake names the file, the key and what is wrong."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from citybrain.config import load_yaml

__all__ = ["Density", "Group", "HotspotConfig"]


class Density(BaseModel):
    """What makes a hot spot: ``min_cases`` within ``radius_m`` metres and ``window_min`` minutes of one
    case; it ends when it has had no case for ``quiet_min`` minutes."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    min_cases: int = Field(ge=2, description="N: cases (the core case included) that make a hot spot")
    radius_m: float = Field(gt=0, le=5000, description="R: metres between a core case and its neighbours")
    window_min: float = Field(
        gt=0, le=24 * 60, description="T: minutes between a core case and its neighbours"
    )
    quiet_min: float = Field(gt=0, le=24 * 60, description="a hot spot with no case this recent has ended")

    @property
    def window_s(self) -> float:
        return self.window_min * 60

    @property
    def quiet_s(self) -> float:
        return self.quiet_min * 60


class Group(Density):
    """Related categories counted together (water supply and drainage appeals about one burst main)."""

    categories: tuple[str, ...] = Field(min_length=1)


class HotspotConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    tick_s: float = Field(3.0, gt=0, description="how often the detector reads new cases")
    late_s: float = Field(3600, ge=0, description="cases older than this on arrival are too late to count")
    default: Density
    groups: dict[str, Group] = {}

    @field_validator("groups")
    @classmethod
    def _names(cls, groups: dict[str, Group]) -> dict[str, Group]:
        import re

        for name in groups:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise ValueError(f"group name {name!r}: use lower-case letters, digits and _")
        return groups

    @model_validator(mode="after")
    def _each_category_once(self) -> HotspotConfig:
        seen: dict[str, str] = {}
        for name, group in self.groups.items():
            for category in group.categories:
                if category in seen:
                    raise ValueError(
                        f"groups.{name}.categories: {category!r} is already in group {seen[category]!r}"
                    )
                seen[category] = name
        return self

    def group_of(self, category: str) -> str:
        """The group a category counts in: its configured group, or a group of its own."""
        return self._by_category.get(category, category)

    def density(self, group: str) -> Density:
        return self.groups.get(group, self.default)

    @property
    def _by_category(self) -> dict[str, str]:
        return {c: name for name, g in self.groups.items() for c in g.categories}

    @property
    def max_window_s(self) -> float:
        return max([self.default.window_s, *(g.window_s for g in self.groups.values())])

    @classmethod
    def load(cls, config_dir: Path) -> HotspotConfig:
        return load_yaml(config_dir / "hotspots.yaml", cls)
