"""The data-freshness badge: a wall screen must never look live when it is not.

The server only says what it knows when it answers: how old the newest
ingested event was at that moment, and whether the database answered. The
age on screen is computed in the browser (``citybrainFreshness`` in
``assets/citybrain.js``) from the moment that answer arrived, so a frozen
dashboard process, a dead connection or a server that is gone cannot keep a
green "0 s ago" on a wall: the age keeps growing, and once no refresh has
succeeded for two intervals the whole screen says it stopped updating.
"""

from __future__ import annotations

from datetime import datetime

from citybrain.dashboard.clock import epoch_ms
from citybrain.dashboard.i18n import t
from citybrain.dashboard.sources import CityPicture, Reading

STALE_AFTER_S = 8.0  # the city sends hundreds of events a second: 8 s without one is a stalled feed, and the
# browser's 1-s tick shows it red within 10 s of the last event
MISSED_REFRESHES = 2  # the screen is stale once this many refresh intervals passed without an answer
JITTER_MS = 500  # an answer a little late is not a missed one


def freshness_data(reading: Reading[CityPicture], now: datetime, interval_ms: int, lang: str) -> dict:
    """What the browser needs to tell the data's age by itself: ages as of ``now`` (server time), no clock
    comparison between server and browser, and the texts in the UI language."""
    last = reading.value.totals.last_ingested if reading.value else None
    return {
        "served_ms": epoch_ms(now),
        "feed_age_s": max(0.0, (now - last).total_seconds()) if last else None,
        "db_error": bool(reading.error),
        "stale_after_s": STALE_AFTER_S,
        "screen_stale_after_ms": MISSED_REFRESHES * interval_ms + JITTER_MS,
        "text": {
            k: t(k, lang)
            for k in ("fresh", "ago", "stale", "db_down", "no_data", "screen_stale", "last_update")
        },
    }
