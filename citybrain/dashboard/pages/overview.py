"""Overview (the wall screen): the district risk map with the urban core enlarged, live city figures,
the alerts themselves, and a side panel rotating through a playlist (config/wall.yaml).

Open to every role, including wall-screen accounts; nothing on it acts. Sizes are in viewport units
(see the ``.overview`` rules in ``assets/citybrain.css``) and the map's label sizes follow the
viewport's height, reported by the browser, so 1080p and 4K walls show the same screen.
The first answer draws the whole map; every later refresh sends a ``dash.Patch`` of its colours only.
"""

from __future__ import annotations

from datetime import UTC, datetime

from dash import ClientsideFunction, Input, Output, State, clientside_callback, dcc, html, no_update

from citybrain.accounts import Role
from citybrain.dashboard import auth, shell
from citybrain.dashboard.components import wall_panels as wp
from citybrain.dashboard.components.alert_table import alert_title
from citybrain.dashboard.components.district_map import (
    district_map,
    drawn_once,
    graph_config,
    map_legend,
    map_patch,
)
from citybrain.dashboard.components.kpi import kpi_tile
from citybrain.dashboard.context import context
from citybrain.dashboard.i18n import t
from citybrain.dashboard.wall_config import Panel

MAP = "overview-map"
TOTALS = "overview-totals"
SIDE = "overview-side"
TICKER = "overview-ticker"
TICK = "overview-tick"
VIEWPORT = "overview-viewport"
DRAWN_FOR = "overview-drawn-for"  # the viewport height the map's labels were last sized for
ROLES = frozenset(Role)
PANEL_TITLES = {
    Panel.RISK: "panel_risk",
    Panel.ALERTS: "panel_alerts",
    Panel.CASES: "panel_cases",
    Panel.VIDEO: "panel_video",
}


def layout(**_query) -> html.Div:
    ctx = context()
    lang = auth.current_lang()
    return html.Div(
        className="page overview",
        children=[
            dcc.Interval(id=TICK, interval=ctx.refresh_ms),
            dcc.Store(id=VIEWPORT),
            dcc.Store(id=DRAWN_FOR, data=None),
            html.Div(id=TOTALS, className="kpis"),
            html.Div(
                className="panels",
                children=[
                    html.Div(
                        className="map-panel",
                        children=[
                            html.Div(
                                className="map-head",
                                children=[
                                    html.H2(t("map_title", lang), className="panel-title"),
                                    map_legend(lang),
                                ],
                            ),
                            dcc.Graph(
                                id=MAP,
                                className="district-map",
                                config=graph_config(),
                                responsive=True,
                                figure=district_map(ctx.city, [], lang, ctx.wall.core_districts, hotspots=[]),
                            ),
                        ],
                    ),
                    html.Div(
                        className="side-panel",
                        children=[
                            html.Div(id=TICKER, className="ticker"),
                            html.Div(id=SIDE, className="side-rotation"),
                        ],
                    ),
                ],
            ),
        ],
    )


shell.register(__name__, path="/", label_key="page_overview", roles=ROLES, layout=layout, order=0, wall=True)

clientside_callback(
    ClientsideFunction(namespace="citybrain", function_name="viewport"),
    Output(VIEWPORT, "data"),
    Input(TICK, "n_intervals"),
)


def _names(lang: str) -> dict[str, str]:
    ctx = context()
    return {code: ctx.district_name(code, lang) for code in ctx.district_names}


def kpis(picture, devices: list[dict] | None, lang: str) -> list:
    """Every figure changes with the city: devices online and reporting, cases, alerts."""
    if picture is None:
        return []
    totals = picture.totals
    tiles = [kpi_tile(t("events_per_min", lang), f"{totals.events_per_min:,.0f}", tile_id="kpi-events")]
    if devices:
        online = sum(r["cameras_online"] for r in devices)
        reporting = sum(r["sensors_reporting"] for r in devices)
        sensors = sum(r["sensors"] for r in devices)
        tiles += [
            kpi_tile(
                f"{t('cameras_online', lang)} {t('of_total', lang)} {totals.cameras:,}",
                f"{online:,}",
                tile_id="kpi-cameras-online",
            ),
            kpi_tile(
                t("cameras_down", lang),
                f"{totals.cameras_down:,}",
                alarm=totals.cameras_down > 0.05 * totals.cameras,
                tile_id="kpi-cameras-down",
            ),
            kpi_tile(
                f"{t('sensors_reporting', lang)} {t('of_total', lang)} {sensors:,}",
                f"{reporting:,}",
                alarm=sensors > 0 and reporting < 0.9 * sensors,
                tile_id="kpi-sensors",
            ),
        ]
    tiles += [
        kpi_tile(t("open_cases", lang), f"{totals.open_cases:,}", tile_id="kpi-open-cases"),
        kpi_tile(
            t("open_emergencies", lang),
            f"{totals.open_emergencies:,}",
            alarm=totals.open_emergencies > 0,
            tile_id="kpi-emergencies",
        ),
        kpi_tile(
            t("active_alerts", lang),
            f"{totals.active_alerts:,}",
            alarm=totals.critical_unacked > 0,
            tile_id="kpi-alerts",
        ),
    ]
    return tiles


def ticker(alerts: list[dict], titles: list[str], names: dict[str, str], now: datetime, lang: str) -> list:
    """The newest critical or major alert, always on screen whatever the side panel shows."""
    top = [
        (a, title) for a, title in zip(alerts, titles, strict=True) if a["severity"] in ("critical", "major")
    ]
    if not top:
        return [html.Span(t("no_active_alerts", lang), className="ticker-quiet")]
    a, title = top[0]
    more = [html.Span(t("more", lang).format(n=len(top) - 1), className="more")] if len(top) > 1 else []
    return [html.Div(wp.alert_rows([a], [title], names, now, lang), className="ticker-alert"), *more]


def side_panel(picture, alerts: list[dict], titles: list[str], devices, case_kpis, now: datetime, lang: str):
    ctx = context()
    names = _names(lang)
    per = {
        Panel.RISK: ctx.wall.rows_per_page,
        Panel.ALERTS: ctx.wall.rows_per_page,
        Panel.CASES: ctx.wall.table_rows_per_page,
        Panel.VIDEO: ctx.wall.table_rows_per_page,
    }
    lists = {
        Panel.RISK: wp.warned(picture.risk if picture else []),
        Panel.ALERTS: list(zip(alerts, titles, strict=True)),
        Panel.CASES: wp.case_order(case_kpis or {}),
        Panel.VIDEO: wp.video_order(devices or []),
    }
    pages = {p: wp.paginate(items, per[p]) for p, items in lists.items()}
    slot = wp.slot_at(
        now, ctx.wall.rotate_s, wp.rotation(ctx.wall.playlist, {p: len(v) for p, v in pages.items()})
    )
    page = pages[slot.panel][slot.page]
    hidden = len(lists[slot.panel]) - len(page)
    if slot.panel is Panel.RISK:
        body = wp.risk_rows(page, names, lang)
    elif slot.panel is Panel.ALERTS:
        body = wp.alert_rows([a for a, _ in page], [title for _, title in page], names, now, lang)
    elif slot.panel is Panel.CASES:
        body = wp.case_rows(page, names, lang)
    else:
        body = wp.video_rows(page, names, lang)
    dots = html.Div(
        className="playlist",
        children=[html.Span(className="dot on" if p is slot.panel else "dot") for p in ctx.wall.playlist],
    )
    return [wp.panel_frame(t(PANEL_TITLES[slot.panel], lang), slot, hidden, lang, body), dots]


@auth.secure_callback(
    ROLES,
    Output(MAP, "figure"),
    Output(DRAWN_FOR, "data"),
    Output(TOTALS, "children"),
    Output(TICKER, "children"),
    Output(SIDE, "children"),
    Input(TICK, "n_intervals"),
    Input(VIEWPORT, "data"),
    State(DRAWN_FOR, "data"),
)
def refresh(_n, viewport, drawn_for):
    ctx = context()
    lang = auth.current_lang()
    now = datetime.now(UTC)
    city = ctx.sources.city.read()
    picture = city.value
    alerts = wp.wall_alerts(ctx.sources.alerts.read().value or [])
    titles = [alert_title(a, ctx, lang) for a in alerts]
    devices = ctx.sources.devices.read().value
    case_kpis = ctx.sources.case_kpis.read().value
    risk = picture.risk if picture else []
    core = ctx.wall.core_districts
    spots = ctx.sources.hotspots.read()
    hotspots = spots.value or []
    if viewport and viewport["h"] != drawn_for:  # first answer, or the window changed size: draw it all
        figure = drawn_once(
            (lang, viewport["h"], city.taken_at, spots.taken_at),
            lambda: district_map(ctx.city, risk, lang, core, vh_px=viewport["h"], hotspots=hotspots),
        )
        drawn_for = viewport["h"]
    else:
        figure = map_patch(ctx.city, risk, lang, core, hotspots=hotspots, vh_px=drawn_for or 1080)
        drawn_for = no_update
    names = _names(lang)
    return (
        figure,
        drawn_for,
        kpis(picture, devices, lang),
        ticker(alerts, titles, names, now, lang),
        side_panel(picture, alerts, titles, devices, case_kpis, now, lang),
    )
