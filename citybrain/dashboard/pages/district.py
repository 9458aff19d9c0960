"""A district's page (/district/<adcode>): its risk and what drives it over time, its citizen cases
beside the city's and its own baseline, its top case categories, its video points and sensors, and
its alerts — for the last 24 hours, 7 days or 30 days, live or at a replayed moment (``?at=``).

Leaders and admins only. Every figure comes from rollups (case_kpis_*, indicators_1h) or the
1-minute indicator rows of at most a day; none from scanning raw events over the period.
The row ``district-instructions`` is kept free for leaders' instructions (批示) on this district.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dash
from dash import ALL, Input, Output, State, clientside_callback, dcc, html, no_update
from dash import ctx as callback_ctx

from citybrain.dashboard import auth
from citybrain.dashboard.components import replay
from citybrain.dashboard.components.alert_table import alert_title
from citybrain.dashboard.components.hotspot_map import hotspot_list
from citybrain.dashboard.components.kpi import kpi_tile
from citybrain.dashboard.components.leader_views import (
    VIEWPORT_JS,
    alerts_table,
    baseline_of,
    categories_table,
    comparison_table,
    contributions_figure,
    font_px,
    local_stamp,
)
from citybrain.dashboard.components.report_table import leader_card
from citybrain.dashboard.context import context
from citybrain.dashboard.i18n import floor_name, level_name, t
from citybrain.dashboard.leader_sources import BASELINE_PERIODS, LEADERS, ROLLING
from citybrain.store.leader import CaseFigures

PAGE = "district"
TICK = "district-tick"
AT = "district-at"
CODE = "district-code"
PERIOD = "district-period"
RESOLUTION = "district-resolution"
HEAD = "district-head"
KPIS = "district-kpis"
INSTRUCTIONS = "district-instructions"  # leaders' instructions (批示): open / overdue counts go here
CHART = "district-chart"
CASES = "district-cases"
CATEGORIES = "district-categories"
DEVICES = "district-devices"
ALERTS = "district-alerts"
HOTSPOTS = "district-hotspots"
DOWNLOAD = "district-download"
VIEWPORT = "district-viewport"
VIEWPORT_TICK = "district-viewport-tick"
TABLES = ("cases", "categories", "alerts")


def layout(adcode: str | None = None, at: str | None = None, **_query) -> html.Div:
    ctx = context()
    lang = auth.current_lang()
    if adcode not in ctx.district_names:
        return html.Div(
            className="page message-page",
            children=[
                html.H2(t("unknown_district", lang).format(code=adcode)),
                dcc.Link(t("back_to_map", lang), href="/map"),
            ],
        )
    moment, bad = replay.parse_at(at, ctx.tz)
    return html.Div(
        className="page leader district-page",
        children=[
            dcc.Interval(id=TICK, interval=max(ctx.refresh_ms, 5000), disabled=moment is not None),
            dcc.Store(id=AT, data=moment.isoformat() if moment else None),
            dcc.Store(id=CODE, data=adcode),
            dcc.Download(id=DOWNLOAD),
            dcc.Interval(id=VIEWPORT_TICK, interval=2000),  # the browser's size, checked in the browser
            dcc.Store(id=VIEWPORT),
            replay.replay_bar(moment, bad, ctx.tz, lang),
            html.Div(
                className="district-top",
                children=[
                    dcc.Link(
                        t("back_to_map", lang),
                        href="/map" + replay.at_query(moment, ctx.tz),
                        className="back",
                    ),
                    html.H2(ctx.district_name(adcode, lang), className="district-name"),
                    html.Div(id=HEAD, className="district-level"),
                    dcc.RadioItems(
                        id=PERIOD,
                        className="segmented",
                        value="24h",
                        inline=True,
                        options=[{"label": t(f"period_{p}", lang), "value": p} for p in ROLLING],
                    ),
                    dcc.RadioItems(
                        id=RESOLUTION,
                        className="segmented",
                        value="1m",
                        inline=True,
                        options=[{"label": t(f"resolution_{r}", lang), "value": r} for r in ("1m", "1h")],
                    ),
                ],
            ),
            html.Div(id=KPIS, className="kpis leader-kpis"),
            html.Div(id=INSTRUCTIONS, className="kpis leader-kpis instructions-slot"),
            html.Div(
                className="district-grid",
                children=[
                    html.Section(
                        className="leader-card chart-card",
                        children=[
                            html.H2(t("risk_trend", lang), className="panel-title"),
                            dcc.Graph(id=CHART, className="leader-chart", config={"displayModeBar": False}),
                        ],
                    ),
                    leader_card(PAGE, t("case_kpis_title", lang), CASES, "cases", lang),
                    leader_card(
                        PAGE, t("top_categories", lang), CATEGORIES, "categories", lang, "categories-card"
                    ),
                    leader_card(PAGE, t("devices_title", lang), DEVICES, None, lang, "devices-card"),
                    leader_card(PAGE, t("district_alerts", lang), ALERTS, "alerts", lang, "alerts-card"),
                    leader_card(PAGE, t("hotspots_recent", lang), HOTSPOTS, None, lang, "hotspots-card"),
                ],
            ),
        ],
    )


clientside_callback(
    VIEWPORT_JS, Output(VIEWPORT, "data"), Input(VIEWPORT_TICK, "n_intervals"), State(VIEWPORT, "data")
)
dash.register_page(
    __name__,
    path_template="/district/<adcode>",
    name="district",
    title=t("page_district", "zh") + " · citybrain",
    layout=auth.page_roles(LEADERS)(layout),
    roles=LEADERS,
)


def _moment(at_iso: str | None) -> datetime | None:
    return datetime.fromisoformat(at_iso) if at_iso else None


def _period(name: str | None) -> str:
    return name if name in ROLLING else "24h"


def _tables(code: str, at: datetime | None, period: str, lang: str) -> dict:
    """The page's three report tables, as shown and as downloaded."""
    ctx = context()
    leader = ctx.leader
    cases = leader.cases.read(at, ("period", period)).value
    before = leader.cases.read(at, ("baseline", period)).value
    open_cases = leader.open_cases.read(at).value or {}
    figures = cases.by_district.get(code, CaseFigures()) if cases else CaseFigures()
    city = cases.city if cases else CaseFigures()
    baseline = baseline_of(
        before.by_district.get(code, CaseFigures()) if before else CaseFigures(), BASELINE_PERIODS
    )
    alerts = leader.alerts.read(at, (code, period)).value or []
    titles = [alert_title(a, ctx, lang) for a in alerts]
    names = {c: ctx.district_name(c, lang) for c in ctx.district_names}
    instructions = ctx.sources.instruction_counts.read(at).value or {}
    return {
        "figures": figures,
        "open": open_cases.get(code, {}),
        "instructions": instructions.get(code, {}),
        "cases": comparison_table(
            figures, city, baseline, open_cases.get(code, {}), open_cases.get(None, {}), lang
        ),
        "categories": categories_table(cases.categories(code) if cases else [], lang),
        "alerts": alerts_table(alerts, names, titles, ctx.tz, lang),
    }


def _devices(code: str, at: datetime | None, risk_row: dict | None, lang: str) -> list:
    """Cameras and sensors of the district: live from the device tables; at a replayed moment the
    cameras' offline share stored with that moment's indicator, and sensors heard in the 15 minutes
    before it."""
    rows = context().leader.devices.read(at).value or []
    row = next((r for r in rows if r["district"] == code), None)
    if row is None:
        return [html.Div(t("no_data", lang), className="report-empty")]
    cameras = row["cameras_online"] + row["cameras_offline"] + row["cameras_fault"] + row["cameras_unknown"]
    down = row["cameras_offline"] + row["cameras_fault"]
    if at is not None and risk_row is not None and "camera_offline_ratio" in risk_row.get("sub_values", {}):
        down = round(risk_row["sub_values"]["camera_offline_ratio"] * cameras)
    return [
        kpi_tile(t("cameras_online_of", lang), f"{cameras - down:,} / {cameras:,}", tile_id="dev-cameras"),
        kpi_tile(t("cameras_offline_n", lang), f"{down:,}", alarm=cameras > 0 and down > 0.05 * cameras),
        kpi_tile(
            t("sensors_reporting_of", lang),
            f"{row['sensors_reporting']:,} / {row['sensors']:,}",
            tile_id="dev-sensors",
        ),
        kpi_tile(t("sensors_silent_n", lang), f"{row['sensors_silent']:,}", alarm=row["sensors_silent"] > 0),
    ]


def _kpis(figures: CaseFigures, open_row: dict, lang: str, instructions: dict | None = None) -> list:
    def pct(v):
        return "—" if v is None else f"{v * 100:.1f}%"

    return [
        kpi_tile(t("fig_received", lang), f"{figures.received:,}", tile_id="kpi-received"),
        kpi_tile(t("fig_handled", lang), f"{figures.handled:,}", tile_id="kpi-handled"),
        kpi_tile(t("fig_resolution", lang), pct(figures.resolution_rate), tile_id="kpi-resolution"),
        kpi_tile(t("fig_on_time", lang), pct(figures.on_time_rate), tile_id="kpi-on-time"),
        kpi_tile(t("fig_satisfaction", lang), pct(figures.satisfaction_rate), tile_id="kpi-satisfaction"),
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
        kpi_tile(  # leaders' instructions open, and of them overdue
            t("kpi_instructions", lang),
            f"{(instructions or {}).get('open', 0):,} / {(instructions or {}).get('overdue', 0):,}",
            alarm=(instructions or {}).get("overdue", 0) > 0,
            tile_id="kpi-instructions",
        ),
    ]


def _head(row: dict | None, lang: str) -> list:
    if row is None:
        return [html.Span(t("no_data", lang), className="level-chip level-none", id="district-level-chip")]
    parts = [
        html.Span(
            t("district_level", lang).format(
                level=level_name(row["level"], lang), score=f"{row['score']:.0f}"
            ),
            className=f"level-chip level-{row['level']}",
            id="district-level-chip",
        )
    ]
    if row.get("floor"):
        parts.append(
            html.Span(t("floor_reason", lang).format(floor=floor_name(row["floor"], lang)), className="floor")
        )
    return parts


@auth.secure_callback(
    LEADERS,
    Output(HEAD, "children"),
    Output(KPIS, "children"),
    Output(CHART, "figure"),
    Output(CASES, "children"),
    Output(CATEGORIES, "children"),
    Output(DEVICES, "children"),
    Output(ALERTS, "children"),
    Output(HOTSPOTS, "children"),
    Input(TICK, "n_intervals"),
    Input(PERIOD, "value"),
    Input(RESOLUTION, "value"),
    Input(VIEWPORT, "data"),
    State(AT, "data"),
    State(CODE, "data"),
)
def refresh(_n, period, resolution, viewport, at_iso, code):
    ctx = context()
    lang = auth.current_lang()
    if code not in ctx.district_names:
        return (no_update,) * 8
    at, period = _moment(at_iso), _period(period)
    # a minute per point for a day at most (1,440 rows); longer periods read the hourly rollup
    resolution = "1m" if resolution == "1m" and period == "24h" else "1h"
    picture = ctx.leader.risk.read(at, "now").value
    risk_row = next((r for r in picture.rows if r["district"] == code), None) if picture else None
    series = ctx.leader.series.read(at, (code, period, resolution)).value or []
    levels = ctx.risk.levels
    figure = contributions_figure(
        series,
        list(ctx.risk.indicators),
        {"blue": levels.blue, "yellow": levels.yellow, "orange": levels.orange, "red": levels.red},
        ctx.tz,
        lang,
        font_px(viewport),
    )
    tables = _tables(code, at, period, lang)
    return (
        _head(risk_row, lang),
        _kpis(tables["figures"], tables["open"], lang, tables["instructions"]),
        figure,
        tables["cases"].html("district-cases-table"),
        tables["categories"].html("district-categories-table", t("no_cases_then", lang)),
        _devices(code, at, risk_row, lang),
        tables["alerts"].html("district-alerts-table", t("no_alerts_then", lang)),
        # appeal hot spots of the last 24 hours filed under the district or with cases in it
        hotspot_list(
            ctx.sources.recent_hotspots.read(at, code).value or [],
            {c: ctx.district_name(c, lang) for c in ctx.district_names},
            ctx.local,
            lang,
        ),
    )


@auth.secure_callback(
    LEADERS,
    Output(RESOLUTION, "options"),
    Output(RESOLUTION, "value"),
    Input(PERIOD, "value"),
    State(RESOLUTION, "value"),
    prevent_initial_call=True,
)
def resolutions(period, resolution):
    """Per minute for a day at most (1,440 points): longer periods are shown per hour."""
    lang = auth.current_lang()
    minute_ok = _period(period) == "24h"
    options = [
        {"label": t("resolution_1m", lang), "value": "1m", "disabled": not minute_ok},
        {"label": t("resolution_1h", lang), "value": "1h"},
    ]
    return options, resolution if minute_ok else "1h"


@auth.secure_callback(
    LEADERS,
    Output(DOWNLOAD, "data"),
    Input({"type": f"{PAGE}-export", "table": ALL, "fmt": ALL}, "n_clicks"),
    State(AT, "data"),
    State(CODE, "data"),
    State(PERIOD, "value"),
    prevent_initial_call=True,
)
def export(clicks, at_iso, code, period):
    trigger = callback_ctx.triggered_id
    ctx = context()
    if (
        not trigger
        or not any(clicks or [])
        or trigger["table"] not in TABLES
        or code not in ctx.district_names
    ):
        return no_update
    at = _moment(at_iso)
    table = _tables(code, at, _period(period), auth.current_lang())[trigger["table"]]
    stamp = f"{code}-{_period(period)}-{local_stamp(at or datetime.now(UTC), ctx.tz)}"
    return table.download(trigger["fmt"], stamp)
