"""A small known data set for the leaders' pages, with its figures worked out by hand.

Everything is placed relative to a moment ``now`` (whole minutes), so the live pages ("last 24 h")
show it. Jinjiang (510104) has five citizen cases in the last 24 hours and one three days earlier
(its baseline); Qingyang (510105) has one. Risk: Jinjiang was orange two hours ago (a gauge over its
line) and is normal now; an alert was open then and is resolved now.

Hand-computed, last 24 h, Jinjiang:
  received 5 (1 emergency); handled 3 (c1 on time, c2 late, c3 on time) → resolution 3/5 = 60 %,
  on time 2/3 = 66.7 %; rated 3 (5, 2, 4), satisfied 2 → 66.7 %; open 2, overdue 1 (c4, an emergency).
City: received 6, handled 4, on time 3 (75 %), rated 4, satisfied 3 (75 %); resolution 4/6 = 66.7 %.
Top categories in Jinjiang: city_appearance 3, gas_safety 1, noise 1.
Units: grid-001 assigned 2, handled 2, on time 1, satisfied 1 of 2 rated;
       grid-002 assigned 1, handled 1, on time 1, satisfied 1 of 1.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import psycopg

from citybrain.events import Level
from citybrain.risk.score import Assessment
from citybrain.store.risk import write_indicators
from citybrain.store.writer import CASE_EVENTS, BatchWriter

JINJIANG, QINGYANG = "510104", "510105"
H = timedelta(hours=1)
M = timedelta(minutes=1)
PAST = 2 * H  # the replayed moment is now - PAST
ORANGE = {
    "exceed_water_level": 15.0,
    "open_emergencies": 12.0,
    "case_pressure": 8.0,
    "camera_offline_ratio": 20.0,
}
QUIET = {
    "exceed_water_level": 0.0,
    "open_emergencies": 0.0,
    "case_pressure": 2.0,
    "camera_offline_ratio": 3.0,
}


def _case(
    when, case_id, district, kind, category, deadline, urgency="normal", satisfaction=None, assignee=None
):
    return (
        uuid.uuid4(),
        when,
        case_id,
        district,
        kind,
        category,
        urgency,
        deadline,
        satisfaction,
        assignee,
        104.07,
        30.66,
    )


def case_rows(now: datetime) -> list[tuple]:
    J, Q = JINJIANG, QINGYANG
    rows = []

    def lifecycle(cid, district, category, created, deadline, urgency="normal", **steps):
        rows.append(_case(created, cid, district, "created", category, deadline, urgency))
        if "assigned" in steps:
            when, unit = steps["assigned"]
            rows.append(_case(when, cid, district, "assigned", category, deadline, urgency, assignee=unit))
        if "resolved" in steps:
            rows.append(_case(steps["resolved"], cid, district, "resolved", category, deadline, urgency))
        if "closed" in steps:
            when, score = steps["closed"]
            rows.append(_case(when, cid, district, "closed", category, deadline, urgency, satisfaction=score))

    t = now
    lifecycle(
        "c0",
        J,
        "noise",
        t - 72 * H,
        t - 70 * H,
        assigned=(t - 71.5 * H, "grid-002"),
        resolved=t - 71 * H,
        closed=(t - 70.5 * H, 5),
    )
    lifecycle(
        "c1",
        J,
        "city_appearance",
        t - 10 * H,
        t - 6 * H,
        assigned=(t - 9 * H, "grid-001"),
        resolved=t - 8 * H,
        closed=(t - 7 * H, 5),
    )
    lifecycle(
        "c2",
        J,
        "city_appearance",
        t - 9 * H,
        t - 8.5 * H,
        assigned=(t - 9 * H + 10 * M, "grid-001"),
        resolved=t - 5 * H,
        closed=(t - 4 * H, 2),
    )
    lifecycle(
        "c3",
        J,
        "noise",
        t - 5 * H,
        t + 10 * H,
        assigned=(t - 4 * H, "grid-002"),
        resolved=t - 3 * H,
        closed=(t - 2 * H, 4),
    )
    lifecycle("c4", J, "gas_safety", t - 3 * H, t - 1 * H, urgency="emergency")
    lifecycle("c5", J, "city_appearance", t - 2 * H, t + 20 * H)
    lifecycle("q1", Q, "traffic", t - 4 * H, t + 4 * H, resolved=t - 1 * H, closed=(t - 30 * M, 5))
    return rows


def assessment(contributions: dict[str, float], level: Level, floor: str | None = None) -> Assessment:
    return Assessment(
        sum(contributions.values()), level, {k: 0.0 for k in contributions}, contributions, floor
    )


def seed(url: str, now: datetime, window_s: int = 900) -> None:
    """Cases through the batch writer (so the rollups are the writer's) and final indicator rows through
    the indicator writer: every minute of the last 3 hours, orange until now - 90 min, quiet after."""
    with psycopg.connect(url) as conn:
        BatchWriter(conn, CASE_EVENTS).write(case_rows(now), now=now)
        for minutes in range(180, 0, -1):
            end = now - minutes * M
            orange = end <= now - 90 * M
            rows = {
                JINJIANG: assessment(ORANGE, Level.ORANGE, "water_over_warning_line")
                if orange
                else assessment(QUIET, Level.NORMAL),
                QINGYANG: assessment(QUIET, Level.NORMAL),
            }
            write_indicators(conn, end, window_s, True, rows)
        conn.commit()
