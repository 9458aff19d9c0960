"""Compute every due window's district risk, store it and say what changed. Blocking; run in a thread.

The worker calls ``tick`` every ``tick_s`` on the group leader only, so with
several workers each window is still computed once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from citybrain.events import DistrictRisk
from citybrain.risk import windows
from citybrain.risk.config import RiskConfig
from citybrain.risk.score import assess
from citybrain.store.risk import CameraCounts, gather, write_indicators


@dataclass(frozen=True)
class TickResult:
    windows: int
    published: list[DistrictRisk]


def tick(database_url: str, cfg: RiskConfig, now: datetime) -> TickResult:
    published: list[DistrictRisk] = []
    due = windows.due(now, cfg)
    with psycopg.connect(database_url) as conn:
        cameras = CameraCounts.read(conn)
        for window in due:
            inputs = gather(conn, window.start, window.counted_until, cfg, cameras)
            assessments = {d: assess(i, cfg) for d, i in inputs.items()}
            written = write_indicators(conn, window.end, window.seconds, window.final, assessments)
            published += [
                DistrictRisk(
                    event_time=window.end,
                    district=d,
                    window_s=window.seconds,
                    score=a.score,
                    level=a.level,
                    final=window.final,
                    values=a.values,
                    contributions=a.contributions,
                    floor=a.floor,
                )
                for d, a in assessments.items()
                if d in written
            ]
    return TickResult(len(due), published)
