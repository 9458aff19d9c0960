"""Reads behind the leaders' pages, and the rollups they read (migration 016).

Every read takes the moment ``at`` it describes, so a page replays the city as it was: risk as stored
then, alerts open then, case figures up to then. Case figures for a period are sums over rollups:
whole UTC days from ``*_1d``, the hours at the edges from ``*_1h`` and the last partial hour from the raw
events (``spans``), so a year costs about 365 × districts × categories rows, never a year of events.

The same measure expressions fill the rollups (the batch writer, over the rows a batch inserted, after
its fold into ``cases``) and read the partial hour, so both agree by construction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

ORIGIN = "TIMESTAMPTZ '2000-01-01 00:00:00+00'"
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
LEVEL_RANKS = "ARRAY['normal', 'blue', 'yellow', 'orange', 'red']"

# a case's first handling: its earliest 'resolved' or 'closed' event (a close at the same moment as the
# resolution is the same handling), never before it was created
_HANDLED = (
    "e.type IN ('resolved', 'closed') AND e.event_time = LEAST(c.resolved_at, c.closed_at)"
    " AND NOT (e.type = 'closed' AND c.resolved_at = e.event_time)"
    " AND (c.opened_at IS NULL OR e.event_time >= c.opened_at)"
)
_OUTCOMES = {
    "handled": f"count(*) FILTER (WHERE {_HANDLED})",
    "on_time": f"count(*) FILTER (WHERE {_HANDLED} AND e.event_time <= coalesce(c.deadline, e.deadline))",
    "rated": "count(*) FILTER (WHERE e.type = 'closed' AND e.satisfaction IS NOT NULL)",
    "satisfied": "count(*) FILTER (WHERE e.type = 'closed' AND e.satisfaction >= 4)",
}
KPI_MEASURES = {
    "received": "count(*) FILTER (WHERE e.type = 'created')",
    "emergencies": "count(*) FILTER (WHERE e.type = 'created' AND e.urgency = 'emergency')",
    **_OUTCOMES,
}
UNIT_MEASURES = {"assigned": "count(*) FILTER (WHERE e.type = 'assigned')", **_OUTCOMES}
UNIT_KEY = "coalesce(e.assignee, c.assignee)"
# Before its fold the batch writer notes when each case of the rows it inserted was first handled
# (``handled_before``, a temporary table of the cases handled already): a handling event counts only if it
# is earlier than that, so a second report of a resolution (another event id, the same moment) is not a
# second handling. (table, its columns, the SELECT that fills it from ``{folded}``, the batch's cases one
# row each: one look-up by key each, whatever the planner guesses of a batch's size, never a scan of every
# case there is)
HANDLED_BEFORE = (
    "handled_before",
    "case_id text PRIMARY KEY, at timestamptz NOT NULL",
    "SELECT f.case_id, h.at FROM {folded} f CROSS JOIN LATERAL"
    " (SELECT LEAST(c.resolved_at, c.closed_at) AS at FROM cases c WHERE c.case_id = f.case_id"
    " AND (c.resolved_at IS NOT NULL OR c.closed_at IS NOT NULL) LIMIT 1) h",
)
_NEW_HANDLING = "(h.at IS NULL OR e.event_time < h.at)"


@dataclass(frozen=True)
class CaseRollup:
    """One family of case rollups: ``{name}_1h`` and ``{name}_1d`` keyed by district and ``key``."""

    name: str
    key: str  # the key column's name
    key_expr: str  # … and how it is found from an event ``e`` and its case ``c``
    measures: dict[str, str]
    where: str = "TRUE"

    def select(self, source: str, bucket: str, fresh: bool = False, cases: str = "cases") -> str:
        """Measures per (bucket, district, key) over the events of ``source`` (alias e) and their cases (in
        ``cases``); ``fresh``: the source is a batch's inserted rows, beside ``handled_before`` (see
        HANDLED_BEFORE)."""
        aggs = ", ".join(
            f"{expr.replace(_HANDLED, f'{_HANDLED} AND {_NEW_HANDLING}') if fresh else expr} AS {col}"
            for col, expr in self.measures.items()
        )
        handled = f" LEFT JOIN {HANDLED_BEFORE[0]} h ON h.case_id = e.case_id" if fresh else ""
        return (
            f"SELECT {bucket} AS bucket, e.district, {self.key_expr} AS {self.key}, {aggs}"
            f" FROM {source} e LEFT JOIN {cases} c ON c.case_id = e.case_id{handled}"
            f" WHERE {self.where} GROUP BY 1, 2, 3"
        )

    def upsert(self, source: str, cases: str) -> str:
        """Add the events of ``source`` to ``{name}_1h`` and ``{name}_1d`` (the batch writer, after its
        fold): one join of the events with their cases (``cases``: the state of those cases after the fold),
        grouped by hour; the days are sums of those hours."""
        cols = ", ".join(self.measures)
        conflict = f"ON CONFLICT ({self.key_first()}, bucket) DO UPDATE SET"
        merge_1h, merge_1d = (
            ", ".join(f"{c} = {self.name}_{res}.{c} + EXCLUDED.{c}" for c in self.measures)
            for res in ("1h", "1d")
        )
        sums = ", ".join(f"sum({c})::bigint" for c in self.measures)
        hourly = self.select(source, f"date_bin('1 hour', e.event_time, {ORIGIN})", fresh=True, cases=cases)
        return (
            f"WITH hourly AS MATERIALIZED ({hourly}),"
            f" h AS (INSERT INTO {self.name}_1h (bucket, district, {self.key}, {cols})"
            f" SELECT * FROM hourly {conflict} {merge_1h})"
            f" INSERT INTO {self.name}_1d (bucket, district, {self.key}, {cols})"
            f" SELECT date_bin('1 day', bucket, {ORIGIN}), district, {self.key}, {sums}"
            f" FROM hourly GROUP BY 1, 2, 3 {conflict} {merge_1d}"
        )

    def key_first(self) -> str:
        return "assignee, district" if self.key == "assignee" else "district, category"


CASE_KPIS = CaseRollup("case_kpis", "category", "e.category", KPI_MEASURES)
CASE_UNITS = CaseRollup(
    "case_units",
    "assignee",
    UNIT_KEY,
    UNIT_MEASURES,
    where=f"e.type IN ('assigned', 'resolved', 'closed') AND {UNIT_KEY} IS NOT NULL",
)


def case_rollup_upserts(source: str, cases: str) -> tuple[str, ...]:
    """What the batch writer runs after folding a batch of case events (``source``: the rows it inserted;
    ``cases``: the state of their cases after the fold)."""
    return tuple(r.upsert(source, cases) for r in (CASE_KPIS, CASE_UNITS))


# --- periods as rollup spans -------------------------------------------------------------------------------


def _floor(moment: datetime, step: timedelta) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    return epoch + ((moment - epoch) // step) * step


def _ceil(moment: datetime, step: timedelta) -> datetime:
    floor = _floor(moment, step)
    return floor if floor == moment else floor + step


def spans(start: datetime, end: datetime) -> list[tuple[str, datetime, datetime]]:
    """[start, end) as (source, lo, hi) pieces: whole UTC days ("1d"), whole hours ("1h") and the raw
    remainder ("raw"), so no piece reads more than it must. ``start``/``end`` are aware datetimes."""
    if end <= start:
        return []
    out: list[tuple[str, datetime, datetime]] = []
    day_lo, day_hi = _ceil(start, DAY), _floor(end, DAY)
    if day_lo < day_hi:
        out += _hours_and_raw(start, day_lo)
        out.append(("1d", day_lo, day_hi))
        out += _hours_and_raw(day_hi, end)
    else:
        out += _hours_and_raw(start, end)
    return out


def _hours_and_raw(start: datetime, end: datetime) -> list[tuple[str, datetime, datetime]]:
    if end <= start:
        return []
    hour_lo, hour_hi = _ceil(start, HOUR), _floor(end, HOUR)
    if hour_lo >= hour_hi:
        return [("raw", start, end)]
    out = []
    if start < hour_lo:
        out.append(("raw", start, hour_lo))
    out.append(("1h", hour_lo, hour_hi))
    if hour_hi < end:
        out.append(("raw", hour_hi, end))
    return out


def _period_rows(
    conn: psycopg.Connection, rollup: CaseRollup, start: datetime, end: datetime, district: str | None = None
) -> list[dict]:
    """Measures per (district, key) over [start, end), from the spans' rollups and raw edges."""
    parts, params = [], {"district": district}
    for i, (source, lo, hi) in enumerate(spans(start, end)):
        params[f"lo{i}"], params[f"hi{i}"] = lo, hi
        if source == "raw":
            # the raw edge: at most an hour of events on each side, by the same expressions as the rollup
            window = (
                f"(SELECT * FROM case_events WHERE event_time >= %(lo{i})s AND event_time < %(hi{i})s"
                " AND (%(district)s::text IS NULL OR district = %(district)s))"
            )
            parts.append(rollup.select(window, "NULL::timestamptz"))
        else:
            cols = ", ".join(rollup.measures)
            parts.append(
                f"SELECT bucket, district, {rollup.key}, {cols} FROM {rollup.name}_{source}"
                f" WHERE bucket >= %(lo{i})s AND bucket < %(hi{i})s"
                " AND (%(district)s::text IS NULL OR district = %(district)s)"
            )
    if not parts:
        return []
    sums = ", ".join(f"sum({c})::bigint AS {c}" for c in rollup.measures)
    query = (
        f"SELECT district, {rollup.key}, {sums} FROM ({' UNION ALL '.join(parts)}) p"
        f" GROUP BY district, {rollup.key}"
    )
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


# --- case figures ------------------------------------------------------------------------------------------


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class CaseFigures:
    """A period's case handling for one district, one unit, one category or the city."""

    received: int = 0
    emergencies: int = 0
    handled: int = 0
    on_time: int = 0
    rated: int = 0
    satisfied: int = 0
    assigned: int = 0

    @property
    def resolution_rate(self) -> float | None:
        """Handled ÷ received in the period (by event time: a period that clears a backlog exceeds 1)."""
        return rate(self.handled, self.received)

    @property
    def unit_resolution_rate(self) -> float | None:
        """For a handling unit: handled ÷ assigned in the period."""
        return rate(self.handled, self.assigned)

    @property
    def on_time_rate(self) -> float | None:
        """Handled by the deadline ÷ handled."""
        return rate(self.on_time, self.handled)

    @property
    def satisfaction_rate(self) -> float | None:
        """Rated 4-5 ÷ rated."""
        return rate(self.satisfied, self.rated)

    def __add__(self, other: CaseFigures) -> CaseFigures:
        return CaseFigures(
            **{f: getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__}  # type: ignore[arg-type]
        )


def _figures(row: dict) -> CaseFigures:
    return CaseFigures(**{k: int(row[k]) for k in CaseFigures.__dataclass_fields__ if k in row})


def total(figures: Iterable[CaseFigures]) -> CaseFigures:
    out = CaseFigures()
    for f in figures:
        out = out + f
    return out


@dataclass(frozen=True)
class CasePeriod:
    """Case figures over [start, end): per district, per (district, category), and the city's."""

    start: datetime
    end: datetime
    by_district: dict[str, CaseFigures]
    by_category: dict[tuple[str, str], CaseFigures]

    @property
    def city(self) -> CaseFigures:
        return total(self.by_district.values())

    def categories(self, district: str | None = None) -> list[tuple[str, CaseFigures]]:
        """Categories by appeals received, most first (the city's when ``district`` is None)."""
        merged: dict[str, CaseFigures] = {}
        for (d, category), f in self.by_category.items():
            if district is None or d == district:
                merged[category] = merged.get(category, CaseFigures()) + f
        return sorted(merged.items(), key=lambda kv: (-kv[1].received, kv[0]))


def case_period(
    conn: psycopg.Connection, start: datetime, end: datetime, district: str | None = None
) -> CasePeriod:
    """Case figures for events in [start, end) — for every district, or one."""
    rows = _period_rows(conn, CASE_KPIS, start, end, district)
    by_category = {(r["district"], r["category"]): _figures(r) for r in rows}
    by_district: dict[str, CaseFigures] = {}
    for (d, _), f in by_category.items():
        by_district[d] = by_district.get(d, CaseFigures()) + f
    return CasePeriod(start, end, by_district, by_category)


def unit_period(conn: psycopg.Connection, start: datetime, end: datetime) -> dict[str, CaseFigures]:
    """Each handling unit's figures over [start, end) (summed over the districts it worked in)."""
    out: dict[str, CaseFigures] = {}
    for r in _period_rows(conn, CASE_UNITS, start, end):
        out[r["assignee"]] = out.get(r["assignee"], CaseFigures()) + _figures(r)
    return out


def case_trend(
    conn: psycopg.Connection, start: datetime, end: datetime, step: str, district: str | None = None
) -> list[dict]:
    """Received, handled, on-time and satisfied per bucket (``step`` "1h" or "1d") over [start, end)."""
    if step not in ("1h", "1d"):
        raise ValueError(f"step must be 1h or 1d, not {step!r}")
    cols = ", ".join(f"sum({c})::bigint AS {c}" for c in KPI_MEASURES)
    query = sql.SQL(
        "SELECT bucket, {cols} FROM {table} WHERE bucket >= %(start)s AND bucket < %(end)s"
        " AND (%(district)s::text IS NULL OR district = %(district)s) GROUP BY bucket ORDER BY bucket"
    ).format(cols=sql.SQL(cols), table=sql.Identifier(f"case_kpis_{step}"))
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, {"start": start, "end": end, "district": district}).fetchall()


OPEN_CASES_AT_SQL = """
SELECT district,
       count(*) AS open_cases,
       count(*) FILTER (WHERE deadline < %(at)s) AS overdue,
       count(*) FILTER (WHERE urgency = 'emergency') AS open_emergencies
  FROM cases_sound
 WHERE opened_at <= %(at)s
   AND coalesce(LEAST(resolved_at, closed_at), 'infinity') > %(at)s
   AND (%(district)s::text IS NULL OR district = %(district)s)
 GROUP BY GROUPING SETS ((district), ())
"""


def open_cases_at(conn: psycopg.Connection, at: datetime, district: str | None = None) -> dict:
    """Cases open at ``at`` (opened by then, not yet handled then): open, overdue, emergencies, per district
    and (key None) for the city. Reads the current-state table, one row per case: cheap for open cases, and
    the same figures whatever moment is asked."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(OPEN_CASES_AT_SQL, {"at": at, "district": district}).fetchall()
    return {r["district"]: r for r in rows}


# --- risk --------------------------------------------------------------------------------------------------

INDICATOR_ROLLUP_SQL = f"""
INSERT INTO indicators_1h (bucket, district, window_s, n, score_sum, score_max, level_max, contributions)
SELECT date_bin('1 hour', window_end, {ORIGIN}), district, window_s, 1, score, score,
       array_position({LEVEL_RANKS}, level) - 1, contributions
  FROM indicators
 WHERE window_s = %(window_s)s AND window_end = %(end)s AND district = ANY(%(districts)s) AND final
ON CONFLICT (district, window_s, bucket) DO UPDATE
   SET n = indicators_1h.n + 1, score_sum = indicators_1h.score_sum + EXCLUDED.score_sum,
       score_max = GREATEST(indicators_1h.score_max, EXCLUDED.score_max),
       level_max = GREATEST(indicators_1h.level_max, EXCLUDED.level_max),
       contributions = citybrain_jsonb_add(indicators_1h.contributions, EXCLUDED.contributions)
"""


def roll_up_final(conn: psycopg.Connection, end: datetime, window_s: int, districts: Iterable[str]) -> None:
    """Add final indicator rows, just written for the first time, to ``indicators_1h`` (the caller's
    transaction: a final row is written once, so it is added once)."""
    conn.execute(INDICATOR_ROLLUP_SQL, {"window_s": window_s, "end": end, "districts": list(districts)})


def risk_series_1m(
    conn: psycopg.Connection, district: str, window_s: int, start: datetime, end: datetime
) -> list[dict]:
    """Each final window's score, level and contributions over (start, end]: the 1-minute resolution."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT window_end AS t, score, score AS score_max, level, contributions FROM indicators"
            " WHERE district = %s AND window_s = %s AND final AND window_end > %s AND window_end <= %s"
            " ORDER BY window_end",
            (district, window_s, start, end),
        ).fetchall()


def risk_series_1h(
    conn: psycopg.Connection, district: str, window_s: int, start: datetime, end: datetime
) -> list[dict]:
    """Hourly mean score, highest level and mean contributions over [start, end), from ``indicators_1h``."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT bucket AS t, score_sum / n AS score, score_max, level_max, n, contributions"
            " FROM indicators_1h WHERE district = %s AND window_s = %s AND bucket >= %s AND bucket < %s"
            " ORDER BY bucket",
            (district, window_s, start, end),
        ).fetchall()
    for r in rows:
        r["contributions"] = {k: v / r["n"] for k, v in r["contributions"].items()}
    return rows


def risk_over(conn: psycopg.Connection, window_s: int, start: datetime, end: datetime) -> list[dict]:
    """Every district's highest level, highest and mean score and mean contributions over [start, end),
    from ``indicators_1h`` (the map's longer time ranges)."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"SELECT h.district, d.name_zh, d.name_en, sum(h.score_sum) / sum(h.n) AS score,"
            f" max(h.score_max) AS score_max, ({LEVEL_RANKS})[max(h.level_max) + 1] AS level, sum(h.n) AS n,"
            " (SELECT coalesce(jsonb_object_agg(k, v), '{}')"
            "  FROM (SELECT c.key AS k, sum(c.value::float8) AS v"
            "   FROM indicators_1h h2, jsonb_each_text(h2.contributions) c"
            "  WHERE h2.district = h.district AND h2.window_s = %(w)s AND h2.bucket >= %(s)s"
            "    AND h2.bucket < %(e)s GROUP BY c.key) x) AS contributions"
            " FROM indicators_1h h JOIN districts d ON d.adcode = h.district"
            " WHERE h.window_s = %(w)s AND h.bucket >= %(s)s AND h.bucket < %(e)s"
            " GROUP BY h.district, d.name_zh, d.name_en ORDER BY h.district",
            {"w": window_s, "s": start, "e": end},
        ).fetchall()
    for r in rows:
        r["contributions"] = {k: v / r["n"] for k, v in r["contributions"].items()}
        r["floor"] = None
    return rows


ALERTS_AT_SQL = """
SELECT id, rule_id, severity, district, title, labels, status, acknowledged, assignee, resolved, value,
       CASE WHEN resolved_at <= %(at)s THEN resolved_at END AS resolved_at,  -- not what happened later
       opened_at, cleared_at, muted,
       opened_at <= %(at)s AND (resolved_at IS NULL OR resolved_at > %(at)s) AS open_then
  FROM alerts
 WHERE district = %(district)s AND opened_at <= %(at)s
   AND (resolved_at IS NULL OR resolved_at > %(since)s)
 ORDER BY open_then DESC, opened_at DESC
 LIMIT %(limit)s
"""


def district_alerts(
    conn: psycopg.Connection, district: str, at: datetime, since: datetime, limit: int = 200
) -> list[dict]:
    """A district's alerts open at ``at`` and those resolved in (since, at], open ones first."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            ALERTS_AT_SQL, {"district": district, "at": at, "since": since, "limit": limit}
        ).fetchall()
