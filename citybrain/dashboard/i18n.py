"""UI strings in Chinese (zh-CN, the default) and English; pages pick with ?lang=en."""

from __future__ import annotations

LANGUAGES = ("zh", "en")
DEFAULT = "zh"

STRINGS: dict[str, dict[str, str]] = {
    "title": {"zh": "城市大脑 · 运行指挥中心", "en": "City Brain · Operations Centre"},
    "map_title": {"zh": "各区县近 1 分钟事件数", "en": "Events per district, last minute"},
    "events_per_min": {"zh": "事件/分钟", "en": "events/min"},
    "cameras": {"zh": "视频点位", "en": "video points"},
    "cameras_down": {"zh": "离线/故障点位", "en": "cameras offline/fault"},
    "sensors": {"zh": "物联感知点", "en": "IoT monitoring points"},
    "open_cases": {"zh": "在办诉求", "en": "open cases"},
    "open_emergencies": {"zh": "紧急诉求", "en": "open emergencies"},
    "fresh": {"zh": "数据更新于", "en": "data as of"},
    "ago": {"zh": "秒前", "en": "s ago"},
    "stale": {"zh": "数据流中断", "en": "FEED STALLED"},
    "no_data": {"zh": "暂无数据", "en": "no data yet"},
    "db_down": {"zh": "数据库不可用", "en": "DATABASE UNREACHABLE"},
    "district": {"zh": "区县", "en": "district"},
    "events": {"zh": "事件", "en": "events"},
}


def lang_of(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT


def t(key: str, lang: str) -> str:
    return STRINGS[key][lang_of(lang)]
