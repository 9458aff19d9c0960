"""The leader map (/map): the district risk choropleth for a time range — now, or the worst level of
the last hour, day or week — with the districts ranked beside it; clicking a district opens its page.

Leaders and admins only. ``?at=`` (or the replay slider) shows the map as it was at that moment from
stored indicators; the page stops refreshing while it replays. The first answer draws the map; later
ones send a ``dash.Patch`` of its colours and hover texts.
"""

from __future__ import annotations

from datetime import UTC, datetime

from dash import ALL, Input, Output, State, clientside_callback, dcc, html, no_update
from dash import ctx as callback_ctx

from citybrain.dashboard import auth, shell
from citybrain.dashboard.components import replay
from citybrain.dashboard.components.district_map import district_map, graph_config, map_legend, map_patch
from citybrain.dashboard.components.leader_views import VIEWPORT_JS, local_stamp, risk_table
from citybrain.dashboard.components.report_table import export_buttons
from citybrain.dashboard.context import context
from citybrain.dashboard.i18n import t
from citybrain.dashboard.leader_sources import LEADERS, MAP_RANGES

PAGE = "lmap"
TICK = "lmap-tick"
AT = "lmap-at"
RANGE = "lmap-range"
MAP = "lmap-map"
TABLE = "lmap-table"
TABLE_BOX = "lmap-table-box"
GO = "lmap-go"
DOWNLOAD = "lmap-download"
VIEWPORT = "lmap-viewport"
VIEWPORT_TICK = "lmap-viewport-tick"
DRAWN_FOR = "lmap-drawn-for"  # the viewport height the map's labels were last sized for


def _names(lang: str) -> dict[str, str]:
    ctx = context()
    return {code: ctx.district_name(code, lang) for code in ctx.district_names}


def layout(at: str | None = None, **_query) -> html.Div:
    ctx = context()
    lang = auth.current_lang()
    moment, bad = replay.parse_at(at, ctx.tz)
    rows = ctx.leader.risk.read(moment, "now").value
    rows = rows.rows if rows else []
    return html.Div(
        className="page leader leader-map",
        children=[
            dcc.Interval(id=TICK, interval=ctx.refresh_ms, disabled=moment is not None),
            dcc.Interval(id=VIEWPORT_TICK, interval=2000),  # the browser's own size, checked in the browser
            dcc.Store(id=VIEWPORT),
            dcc.Store(id=DRAWN_FOR, data=None),
            dcc.Store(id=AT, data=moment.isoformat() if moment else None),
            dcc.Location(id=GO, refresh="callback-nav"),
            dcc.Download(id=DOWNLOAD),
            replay.replay_bar(moment, bad, ctx.tz, lang),
            html.Div(
                className="leader-body",
                children=[
                    html.Section(
                        className="leader-map-panel",
                        children=[
                            html.Div(
                                className="map-head",
                                children=[
                                    html.H2(t("leader_map_title", lang), className="panel-title"),
                                    dcc.RadioItems(
                                        id=RANGE,
                                        className="segmented",
                                        value="now",
                                        inline=True,
                                        options=[
                                            {"label": t(f"range_{r}", lang), "value": r} for r in MAP_RANGES
                                        ],
                                    ),
                                ],
                            ),
                            html.Div(
                                className="map-head",
                                children=[
                                    map_legend(lang),
                                    html.Span(t("map_click_hint", lang), className="hint"),
                                ],
                            ),
                            dcc.Graph(
                                id=MAP,
                                className="district-map",
                                config=graph_config(),
                                responsive=True,
                                figure=district_map(
                                    ctx.city, rows, lang, ctx.wall.core_districts, hotspots=[]
                                ),
                            ),
                        ],
                    ),
                    html.Section(
                        className="leader-side",
                        children=[
                            html.Div(
                                className="section-head",
                                children=[
                                    html.H2(t("districts_by_risk", lang), className="panel-title"),
                                    export_buttons(PAGE, "risk", lang),
                                ],
                            ),
                            html.Div(
                                risk_table(
                                    rows,
                                    _names(lang),
                                    lang,
                                    replay.at_query(moment, ctx.tz),
                                    ctx.sources.instruction_counts.read(moment).value,
                                ).html(TABLE),
                                id=TABLE_BOX,
                                className="table-box",
                            ),
                        ],
                    ),
                ],
            ),
        ],
    )


shell.register(__name__, path="/map", label_key="page_leader_map", roles=LEADERS, layout=layout, order=3)


def _moment(at_iso: str | None) -> datetime | None:
    return datetime.fromisoformat(at_iso) if at_iso else None


def _rows(at_iso, range_name) -> list[dict]:
    if range_name not in MAP_RANGES:
        range_name = "now"
    picture = context().leader.risk.read(_moment(at_iso), range_name).value
    return picture.rows if picture else []


clientside_callback(
    VIEWPORT_JS, Output(VIEWPORT, "data"), Input(VIEWPORT_TICK, "n_intervals"), State(VIEWPORT, "data")
)


@auth.secure_callback(
    LEADERS,
    Output(MAP, "figure"),
    Output(DRAWN_FOR, "data"),
    Output(TABLE_BOX, "children"),
    Input(TICK, "n_intervals"),
    Input(RANGE, "value"),
    Input(VIEWPORT, "data"),
    State(AT, "data"),
    State(DRAWN_FOR, "data"),
    prevent_initial_call=True,
)
def refresh(_n, range_name, viewport, at_iso, drawn_for):
    """Colours and hover texts as a patch; the whole map only when the window's height changed (label
    sizes follow it, so a 4K screen gets labels twice as large)."""
    ctx = context()
    lang = auth.current_lang()
    rows = _rows(at_iso, range_name)
    core = ctx.wall.core_districts
    # appeal hot spots active at the moment shown (now, or the replayed moment), as circles
    hotspots = ctx.sources.hotspots.read(_moment(at_iso)).value or []
    if viewport and viewport.get("h") != drawn_for:
        figure = district_map(ctx.city, rows, lang, core, vh_px=viewport["h"], hotspots=hotspots)
        drawn_for = viewport["h"]
    else:
        figure = map_patch(ctx.city, rows, lang, core, hotspots=hotspots, vh_px=drawn_for or 1080)
        drawn_for = no_update
    return (
        figure,
        drawn_for,
        risk_table(
            rows,
            _names(lang),
            lang,
            replay.at_query(_moment(at_iso), ctx.tz),
            ctx.sources.instruction_counts.read(_moment(at_iso)).value,
        ).html(TABLE),
    )


@auth.secure_callback(
    LEADERS, Output(GO, "href"), Input(MAP, "clickData"), State(AT, "data"), prevent_initial_call=True
)
def open_district(click, at_iso):
    """A click on a district opens its page, at the same moment when replaying."""
    points = (click or {}).get("points") or []
    code = points[0].get("location") if points else None
    if not code or code not in context().district_names:
        return no_update
    return f"/district/{code}" + replay.at_query(_moment(at_iso), context().tz)


@auth.secure_callback(
    LEADERS,
    Output(DOWNLOAD, "data"),
    Input({"type": f"{PAGE}-export", "table": ALL, "fmt": ALL}, "n_clicks"),
    State(AT, "data"),
    State(RANGE, "value"),
    prevent_initial_call=True,
)
def export(clicks, at_iso, range_name):
    trigger = callback_ctx.triggered_id
    if not trigger or not any(clicks or []):
        return no_update
    ctx = context()
    lang = auth.current_lang()
    counts = ctx.sources.instruction_counts.read(_moment(at_iso)).value
    table = risk_table(_rows(at_iso, range_name), _names(lang), lang, instructions=counts)
    return table.download(trigger["fmt"], local_stamp(_moment(at_iso) or datetime.now(UTC), ctx.tz))
