"""Moments as the browser's clocks read them: the pages' ages, countdowns and durations tick in the
browser (assets), from milliseconds since the epoch that the server sends once."""

from __future__ import annotations

from datetime import datetime


def epoch_ms(moment: datetime | None) -> int | None:
    return int(moment.timestamp() * 1000) if moment else None
