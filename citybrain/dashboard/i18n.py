"""UI strings in Chinese (zh-CN, the default) and English; pages pick with ?lang=en."""

from __future__ import annotations

LANGUAGES = ("zh", "en")
DEFAULT = "zh"

STRINGS: dict[str, dict[str, str]] = {
    "title": {"zh": "城市大脑 · 运行指挥中心", "en": "City Brain · Operations Centre"},
    "map_title": {"zh": "各区县风险等级（近 15 分钟）", "en": "District risk, last 15 minutes"},
    "at_risk": {"zh": "风险区县及主要成因", "en": "Districts at risk, and why"},
    "all_clear": {"zh": "全市各区县均为蓝色（IV级）", "en": "All districts blue (IV)"},
    "events_per_min": {"zh": "事件/分钟", "en": "events/min"},
    "cameras": {"zh": "视频点位", "en": "video points"},
    "cameras_down": {"zh": "离线/故障点位", "en": "cameras offline/fault"},
    "sensors": {"zh": "物联感知点", "en": "IoT monitoring points"},
    "open_cases": {"zh": "在办诉求", "en": "open cases"},
    "open_emergencies": {"zh": "紧急诉求", "en": "open emergencies"},
    "active_alerts": {"zh": "活动告警", "en": "active alerts"},
    "fresh": {"zh": "数据更新于", "en": "data as of"},
    "ago": {"zh": "秒前", "en": "s ago"},
    "stale": {"zh": "数据流中断", "en": "FEED STALLED"},
    "no_data": {"zh": "暂无数据", "en": "no data yet"},
    "db_down": {"zh": "数据库不可用", "en": "DATABASE UNREACHABLE"},
    "district": {"zh": "区县", "en": "district"},
    "events": {"zh": "事件", "en": "events"},
}


INDICATORS: dict[str, dict[str, str]] = {
    "camera_offline_ratio": {"zh": "视频点位离线", "en": "cameras offline"},
    "sensor_offline_ratio": {"zh": "感知设备离线", "en": "sensors silent"},
    "exceed_water_level": {"zh": "水位超警戒", "en": "water over warning line"},
    "exceed_gas": {"zh": "燃气浓度超限", "en": "gas over alarm level"},
    "exceed_pm25": {"zh": "PM2.5 超标", "en": "PM2.5 over limit"},
    "exceed_noise": {"zh": "噪声超标", "en": "noise over limit"},
    "exceed_temperature": {"zh": "高温", "en": "heat"},
    "case_pressure": {"zh": "诉求量激增", "en": "surge of citizen cases"},
    "open_emergencies": {"zh": "紧急诉求未办结", "en": "open emergency cases"},
    "overdue_cases": {"zh": "诉求超期", "en": "overdue cases"},
}
LEVELS: dict[str, dict[str, str]] = {
    "blue": {"zh": "蓝色 IV级", "en": "Blue IV"},
    "yellow": {"zh": "黄色 III级", "en": "Yellow III"},
    "orange": {"zh": "橙色 II级", "en": "Orange II"},
    "red": {"zh": "红色 I级", "en": "Red I"},
}


def indicator_name(key: str, lang: str) -> str:
    return INDICATORS.get(key, {}).get(lang_of(lang), key)


def level_name(level: str, lang: str) -> str:
    return LEVELS[level][lang_of(lang)]


def lang_of(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT


def t(key: str, lang: str) -> str:
    return STRINGS[key][lang_of(lang)]
