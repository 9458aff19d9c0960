"""Which windows are open, which are final, and which events came too late. Pure.

Windows end on multiples of the shortest window (the tumbling step). The
window in progress (ending after now) is computed too, over what has arrived
so far, so an incident shows within a tick instead of after its minute ends.
A window stays open for ``allowed_lateness_s`` after its end and is recomputed on every
tick; then it is final and never changes again. An event whose step window
is already final is late: it is stored, counted, and changes no final row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from citybrain.risk.config import RiskConfig


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    final: bool
    until: datetime | None = None  # the window in progress: its figures so far, counted up to this moment

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())

    @property
    def counted_until(self) -> datetime:
        """Where counting stops: the end, or now for the window in progress."""
        return self.until or self.end


def _floor(t: datetime, step: int) -> datetime:
    epoch = t.timestamp()
    return datetime.fromtimestamp(math.floor(epoch / step) * step, UTC)


def due(now: datetime, cfg: RiskConfig) -> list[Window]:
    """Every window to (re)compute at ``now``: all still open, and those that just became final."""
    step = cfg.step_s
    horizon = now - timedelta(seconds=cfg.allowed_lateness_s + max(step, cfg.tick_s))
    end = _floor(now, step)
    windows = [
        Window(end + timedelta(seconds=step - w), end + timedelta(seconds=step), False, until=now)
        for w in cfg.windows_s
    ]
    while end > horizon:
        final = now >= end + timedelta(seconds=cfg.allowed_lateness_s)
        windows.extend(Window(end - timedelta(seconds=w), end, final) for w in cfg.windows_s)
        end -= timedelta(seconds=step)
    return windows


def is_late(event_time: datetime, now: datetime, cfg: RiskConfig) -> bool:
    """True when the step window holding ``event_time`` is already final."""
    window_end = _floor(event_time, cfg.step_s) + timedelta(seconds=cfg.step_s)
    return now >= window_end + timedelta(seconds=cfg.allowed_lateness_s)


def late_cutoff(now: datetime, cfg: RiskConfig) -> datetime:
    """Events dated before this are late at ``now`` (``is_late`` for a whole batch, as one bound for SQL)."""
    return _floor(now - timedelta(seconds=cfg.allowed_lateness_s), cfg.step_s)
