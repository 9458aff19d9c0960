"""Case performance (/cases): the city's 12345-style appeal figures for today, this week, this month and
this year — received, handled, resolution, on-time and satisfaction rates — the districts and the
handling units ranked by the rate a leader picks, and the trend: the figures a leader reports upward.

Leaders and admins only; every figure is a sum over the case rollups (store/leader.py), live or up to
a replayed moment (``?at=``). The row ``cases-instructions`` is kept free for leaders' instructions
(批示) figures.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dash import ALL, Input, Output, State, clientside_callback, dcc, html, no_update
from dash import ctx as callback_ctx

from citybrain.dashboard import auth, shell
from citybrain.dashboard.components import replay
from citybrain.dashboard.components.kpi import kpi_tile
from citybrain.dashboard.components.leader_views import (
    RANK_BY,
    VIEWPORT_JS,
    font_px,
    local_stamp,
    ranking_table,
    report_table,
    trend_figure,
)
from citybrain.dashboard.components.report_table import leader_card
from citybrain.dashboard.context import context
from citybrain.dashboard.i18n import t
from citybrain.dashboard.leader_sources import CALENDAR, LEADERS, period_bounds
from citybrain.store.leader import CaseFigures

PAGE = "cases"
TICK = "cases-tick"
AT = "cases-at"
PERIOD = "cases-period"
RANK = "cases-rank"
KPIS = "cases-kpis"
INSTRUCTIONS = "cases-instructions"  # leaders' instructions (批示): open / overdue counts go here
REPORT = "cases-report"
DISTRICTS = "cases-districts"
UNITS = "cases-units"
TREND = "cases-trend"
DOWNLOAD = "cases-download"
VIEWPORT = "cases-viewport"
VIEWPORT_TICK = "cases-viewport-tick"
TABLES = ("report", "districts", "units")


def layout(at: str | None = None, **_query) -> html.Div:
    ctx = context()
    lang = auth.current_lang()
    moment, bad = replay.parse_at(at, ctx.tz)
    return html.Div(
        className="page leader cases-page",
        children=[
            dcc.Interval(id=TICK, interval=max(ctx.refresh_ms, 5000), disabled=moment is not None),
            dcc.Store(id=AT, data=moment.isoformat() if moment else None),
            dcc.Download(id=DOWNLOAD),
            dcc.Interval(id=VIEWPORT_TICK, interval=2000),  # the browser's size, checked in the browser
            dcc.Store(id=VIEWPORT),
            replay.replay_bar(moment, bad, ctx.tz, lang),
            html.Div(
                className="district-top",
                children=[
                    html.H2(t("cases_period_kpis", lang), className="district-name"),
                    dcc.RadioItems(
                        id=PERIOD,
                        className="segmented",
                        value="today",
                        inline=True,
                        options=[{"label": t(f"period_{p}", lang), "value": p} for p in CALENDAR],
                    ),
                    html.Span(t("rank_by", lang), className="hint"),
                    dcc.RadioItems(
                        id=RANK,
                        className="segmented",
                        value="resolution",
                        inline=True,
                        options=[{"label": t(key, lang), "value": by} for by, key in RANK_BY.items()],
                    ),
                ],
            ),
            html.Div(id=KPIS, className="kpis leader-kpis"),
            html.Div(id=INSTRUCTIONS, className="kpis leader-kpis instructions-slot"),
            html.Div(
                className="perf-grid",
                children=[
                    leader_card(PAGE, t("report_table", lang), REPORT, "report", lang),
                    html.Section(
                        className="leader-card chart-card",
                        children=[
                            html.H2(t("case_trend", lang), className="panel-title"),
                            dcc.Graph(id=TREND, className="leader-chart", config={"displayModeBar": False}),
                        ],
                    ),
                    leader_card(PAGE, t("districts_ranked", lang), DISTRICTS, "districts", lang, "rank-card"),
                    leader_card(PAGE, t("units_ranked", lang), UNITS, "units", lang, "rank-card"),
                ],
            ),
        ],
    )


clientside_callback(
    VIEWPORT_JS, Output(VIEWPORT, "data"), Input(VIEWPORT_TICK, "n_intervals"), State(VIEWPORT, "data")
)
shell.register(__name__, path="/cases", label_key="page_cases", roles=LEADERS, layout=layout, order=4)


def _moment(at_iso: str | None) -> datetime | None:
    return datetime.fromisoformat(at_iso) if at_iso else None


def _tables(at: datetime | None, period: str, by: str, lang: str) -> dict:
    ctx = context()
    leader = ctx.leader
    periods = {p: leader.cases.read(at, ("period", p)).value for p in CALENDAR}
    names = {c: ctx.district_name(c, lang) for c in ctx.district_names}
    chosen = periods[period]
    by_district = chosen.by_district if chosen else {}
    return {
        "city": chosen.city if chosen else None,
        "report": report_table([(p, v.city) for p, v in periods.items() if v is not None], lang),
        "districts": ranking_table({**dict.fromkeys(names, CaseFigures()), **by_district}, by, names, lang),
        "units": ranking_table(leader.units.read(at, period).value or {}, by, {}, lang, unit=True),
    }


def _kpis(city, open_row: dict, lang: str) -> list:
    def pct(v):
        return "—" if v is None else f"{v * 100:.1f}%"

    if city is None:
        return []
    return [
        kpi_tile(t("fig_received", lang), f"{city.received:,}", tile_id="kpi-received"),
        kpi_tile(t("fig_handled", lang), f"{city.handled:,}", tile_id="kpi-handled"),
        kpi_tile(t("fig_resolution", lang), pct(city.resolution_rate), tile_id="kpi-resolution"),
        kpi_tile(t("fig_on_time", lang), pct(city.on_time_rate), tile_id="kpi-on-time"),
        kpi_tile(t("fig_satisfaction", lang), pct(city.satisfaction_rate), tile_id="kpi-satisfaction"),
        kpi_tile(t("fig_open", lang), f"{open_row.get('open_cases', 0):,}", tile_id="kpi-open"),
        kpi_tile(
            t("fig_overdue", lang),
            f"{open_row.get('overdue', 0):,}",
            alarm=open_row.get("overdue", 0) > 0,
            tile_id="kpi-overdue",
        ),
        kpi_tile(
            t("fig_open_emergencies", lang),
            f"{open_row.get('open_emergencies', 0):,}",
            alarm=open_row.get("open_emergencies", 0) > 0,
            tile_id="kpi-emergencies",
        ),
    ]


@auth.secure_callback(
    LEADERS,
    Output(KPIS, "children"),
    Output(REPORT, "children"),
    Output(DISTRICTS, "children"),
    Output(UNITS, "children"),
    Output(TREND, "figure"),
    Input(TICK, "n_intervals"),
    Input(PERIOD, "value"),
    Input(RANK, "value"),
    Input(VIEWPORT, "data"),
    State(AT, "data"),
)
def refresh(_n, period, by, viewport, at_iso):
    ctx = context()
    lang = auth.current_lang()
    period = period if period in CALENDAR else "today"
    by = by if by in RANK_BY else "resolution"
    at = _moment(at_iso)
    tables = _tables(at, period, by, lang)
    open_cases = ctx.leader.open_cases.read(at).value or {}
    trend = ctx.leader.trend.read(at, (period, None)).value or []
    start, end = period_bounds(period, at or datetime.now(UTC), ctx.tz)
    return (
        _kpis(tables["city"], open_cases.get(None, {}), lang),
        tables["report"].html("cases-report-table"),
        tables["districts"].html("cases-districts-table"),
        tables["units"].html("cases-units-table", t("no_cases_then", lang)),
        trend_figure(trend, ctx.tz, lang, daily=end - start > timedelta(days=2), font_px=font_px(viewport)),
    )


@auth.secure_callback(
    LEADERS,
    Output(DOWNLOAD, "data"),
    Input({"type": f"{PAGE}-export", "table": ALL, "fmt": ALL}, "n_clicks"),
    State(AT, "data"),
    State(PERIOD, "value"),
    State(RANK, "value"),
    prevent_initial_call=True,
)
def export(clicks, at_iso, period, by):
    trigger = callback_ctx.triggered_id
    if not trigger or not any(clicks or []) or trigger["table"] not in TABLES:
        return no_update
    ctx = context()
    period = period if period in CALENDAR else "today"
    by = by if by in RANK_BY else "resolution"
    at = _moment(at_iso)
    table = _tables(at, period, by, auth.current_lang())[trigger["table"]]
    return table.download(trigger["fmt"], f"{period}-{local_stamp(at or datetime.now(UTC), ctx.tz)}")
