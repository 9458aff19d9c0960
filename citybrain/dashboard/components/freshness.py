"""The data-freshness badge: a wall screen must never look live when it is not."""

from __future__ import annotations

from datetime import datetime

from citybrain.dashboard.data import Snapshot
from citybrain.dashboard.i18n import t

STALE_AFTER_S = 30.0


def freshness(snapshot: Snapshot, lang: str, now: datetime) -> tuple[str, str]:
    """(text, css class) saying how fresh the data is; red when the feed or the database stalls."""
    if snapshot.error:
        return f"{t('db_down', lang)} · {snapshot.taken_at:%H:%M:%S} UTC", "freshness stale"
    last = snapshot.totals.last_ingested if snapshot.totals else None
    if last is None:
        return t("no_data", lang), "freshness stale"
    age = max(0.0, (now - last).total_seconds())
    text = f"{t('fresh', lang)} {last:%H:%M:%S} UTC · {age:.0f} {t('ago', lang)}"
    if age > STALE_AFTER_S:
        return f"{t('stale', lang)} · {text}", "freshness stale"
    return text, "freshness ok"
