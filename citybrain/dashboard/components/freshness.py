"""The data-freshness badge: a wall screen must never look live when it is not."""

from __future__ import annotations

from datetime import datetime, tzinfo

from citybrain.dashboard.i18n import t
from citybrain.dashboard.sources import CityPicture, Reading

STALE_AFTER_S = 30.0


def freshness(reading: Reading[CityPicture], lang: str, now: datetime, tz: tzinfo) -> tuple[str, str]:
    """(text, css class) saying how fresh the data is, in the city's local time; red when the feed or the
    database stalls."""
    if reading.error:
        return f"{t('db_down', lang)} · {reading.taken_at.astimezone(tz):%H:%M:%S}", "freshness stale"
    last = reading.value.totals.last_ingested if reading.value else None
    if last is None:
        return t("no_data", lang), "freshness stale"
    age = max(0.0, (now - last).total_seconds())
    text = f"{t('fresh', lang)} {last.astimezone(tz):%H:%M:%S} · {age:.0f} {t('ago', lang)}"
    if age > STALE_AFTER_S:
        return f"{t('stale', lang)} · {text}", "freshness stale"
    return text, "freshness ok"
