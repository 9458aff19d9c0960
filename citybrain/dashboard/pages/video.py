"""The video-point map (/video): every camera's status on the district map — online ones as density,
offline and faulty ones drawn one by one (see ``components/video_map.py`` for why) — and, for the district
clicked (or chosen), its points that are down with how long each has been down, downloadable as CSV or
Excel for reports.

Leaders, officers and admins read it; nothing on it acts. ``?at=2026-12-01T09:30`` (city time) shows the
cameras as they were at that moment.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import dash
import dash_ag_grid as dag
import pandas as pd
from dash import ClientsideFunction, Input, Output, State, clientside_callback, dcc, html

from citybrain.accounts import DUTY_READERS
from citybrain.dashboard import auth, shell
from citybrain.dashboard.clock import epoch_ms
from citybrain.dashboard.components.alert_table import GRID_THEME
from citybrain.dashboard.components.district_map import graph_config
from citybrain.dashboard.components.replay import parse_at
from citybrain.dashboard.components.video_map import legend, video_map, video_patch
from citybrain.dashboard.context import Context, context
from citybrain.dashboard.i18n import t

MAP = "video-map"
LEGEND = "video-legend"
TICK = "video-tick"
SECOND, GRID_TICK = "video-second", "video-grid-tick"
VIEWPORT = "video-viewport"
DRAWN_FOR = "video-drawn-for"  # the viewport the map was last drawn for
AT = "video-at"
DISTRICT = "video-district"
TITLE = "video-down-title"
DOWN = "video-down"
CSV, XLSX, DOWNLOAD = "video-csv", "video-xlsx", "video-download"
ROLES = DUTY_READERS


def _grid(lang: str) -> dag.AgGrid:
    columns = [
        {"field": "camera_id", "headerName": t("col_camera", lang), "flex": 1.2, "minWidth": 120},
        {"field": "status_label", "headerName": t("col_video_status", lang), "flex": 0.7, "minWidth": 70},
        {"field": "since", "headerName": t("col_down_since", lang), "flex": 1.2, "minWidth": 120},
        {
            "colId": "age",
            "headerName": t("col_down_for", lang),
            "flex": 1,
            "minWidth": 100,
            "valueGetter": {"function": "citybrainDownFor(params.data.since_ms, params.data.until_ms)"},
        },
        {"field": "lonlat", "headerName": t("col_lonlat", lang), "flex": 1.3, "minWidth": 130},
    ]
    return dag.AgGrid(
        id=DOWN,
        className="cases-grid video-grid",
        columnDefs=columns,
        rowData=[],
        getRowId="params.data.camera_id",
        defaultColDef={"sortable": True, "resizable": True, "suppressMovable": True},
        rowClassRules={"row-fault": "params.data.status === 'fault'"},
        dashGridOptions={"theme": {"function": GRID_THEME}, "animateRows": False, "suppressCellFocus": True},
        style={"height": "100%", "width": "100%"},
    )


def layout(at: str | None = None, **_query) -> html.Div:
    ctx = context()
    lang = auth.current_lang()
    moment, _unreadable = parse_at(at, ctx.tz)  # unreadable or future: now
    districts = [{"label": ctx.district_name(d.adcode, lang), "value": d.adcode} for d in ctx.city.districts]
    return html.Div(
        className="page video",
        children=[
            dcc.Interval(id=TICK, interval=ctx.refresh_ms, disabled=moment is not None),
            dcc.Interval(id=SECOND, interval=1000, disabled=moment is not None),
            dcc.Store(id=GRID_TICK),
            dcc.Store(id=VIEWPORT),
            dcc.Store(id=DRAWN_FOR, data=None),
            dcc.Store(id=AT, data=moment.isoformat() if moment else None),
            dcc.Download(id=DOWNLOAD),
            html.Div(
                className="video-map-panel",
                children=[
                    html.Div(
                        className="map-head",
                        children=[
                            html.H2(
                                t("video_title", lang)
                                + (f" · {ctx.local(moment):%Y-%m-%d %H:%M}" if moment else ""),
                                className="panel-title",
                            ),
                            html.Div(legend(None, lang), id=LEGEND),
                        ],
                    ),
                    dcc.Graph(
                        id=MAP, className="video-map", config=graph_config(), responsive=True, figure={}
                    ),
                ],
            ),
            html.Section(
                className="video-side",
                children=[
                    dcc.Dropdown(
                        id=DISTRICT,
                        options=districts,
                        placeholder=t("filter_district", lang),
                        className="filter",
                    ),
                    html.H2(t("video_pick", lang), id=TITLE, className="panel-title video-down-title"),
                    html.Div(_grid(lang), className="grid-box"),
                    html.Div(
                        className="action-row export-row",
                        children=[
                            html.Button(t("video_export_csv", lang), id=CSV, className="btn"),
                            html.Button(t("video_export_xlsx", lang), id=XLSX, className="btn"),
                        ],
                    ),
                ],
            ),
        ],
    )


shell.register(__name__, path="/video", label_key="page_video", roles=ROLES, layout=layout, order=5)

clientside_callback(
    ClientsideFunction(namespace="citybrain", function_name="viewport"),
    Output(VIEWPORT, "data"),
    Input(TICK, "n_intervals"),
)
clientside_callback(  # "down for" ticks every second between refreshes
    ClientsideFunction(namespace="citybrain", function_name="tickGrids"),
    Output(GRID_TICK, "data"),
    Input(SECOND, "n_intervals"),
)


def _names(ctx: Context, lang: str) -> dict[str, str]:
    return {code: ctx.district_name(code, lang) for code in ctx.district_names}


def _at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@auth.secure_callback(
    ROLES,
    Output(MAP, "figure"),
    Output(LEGEND, "children"),
    Output(DRAWN_FOR, "data"),
    Input(TICK, "n_intervals"),
    Input(VIEWPORT, "data"),
    State(DRAWN_FOR, "data"),
    State(AT, "data"),
)
def refresh(_n, viewport, drawn_for, at):
    """The whole figure the first time (and when the screen's size changes), then patches of the points."""
    ctx = context()
    lang = auth.current_lang()
    picture = ctx.sources.video.read(at=_at(at)).value
    if picture is None:
        return dash.no_update, dash.no_update, dash.no_update
    names = _names(ctx, lang)
    size = viewport or {"h": 1080, "w": 1920}
    if drawn_for != size:
        figure = video_map(ctx.city, picture, lang, names, size, unlabelled=ctx.wall.core_districts)
        return figure, legend(picture, lang), size
    codes = list(ctx.city.frame["adcode"])
    return video_patch(picture, lang, names, codes), legend(picture, lang), dash.no_update


@auth.secure_callback(ROLES, Output(DISTRICT, "value"), Input(MAP, "clickData"), prevent_initial_call=True)
def pick(click):
    """A click on a district (or on a point in it) chooses that district."""
    if not click or not click.get("points"):
        return dash.no_update
    point = click["points"][0]
    code = point.get("location") or point.get("customdata")
    return code if isinstance(code, str) and code in context().district_names else dash.no_update


def down_rows(rows: list[dict], ctx: Context, lang: str, at: datetime | None) -> list[dict]:
    until = epoch_ms(at)  # at a past moment, down until then
    return [
        {
            "camera_id": r["camera_id"],
            "status": r["status"],
            "status_label": t(f"video_{r['status']}", lang),
            "since": f"{ctx.local(r['since']):%m-%d %H:%M}" if r["since"] else "",
            "since_ms": epoch_ms(r["since"]),
            "until_ms": until,
            "lonlat": f"{r['lon']:.4f}, {r['lat']:.4f}",
        }
        for r in rows
    ]


@auth.secure_callback(
    ROLES,
    Output(DOWN, "rowData"),
    Output(TITLE, "children"),
    Input(DISTRICT, "value"),
    Input(TICK, "n_intervals"),
    State(AT, "data"),
)
def district_down(district, _n, at):
    ctx = context()
    lang = auth.current_lang()
    if not district:
        return [], t("video_pick", lang)
    moment = _at(at)
    rows = ctx.sources.video_down.read(at=moment, key=district).value or []
    name = ctx.district_name(district, lang)
    title = (
        t("video_district", lang).format(district=name, n=len(rows))
        if rows
        else t("video_none_down", lang).format(district=name)
    )
    return down_rows(rows, ctx, lang, moment), title


def export_frame(rows: list[dict], ctx: Context, lang: str, at: datetime | None) -> pd.DataFrame:
    """The district's points down as a report table: local times, and minutes down as a number."""
    now = at or datetime.now(UTC)
    return pd.DataFrame(
        {
            t("col_camera", lang): [r["camera_id"] for r in rows],
            t("col_district", lang): [ctx.district_name(r["district"], lang) for r in rows],
            t("col_video_status", lang): [t(f"video_{r['status']}", lang) for r in rows],
            t("col_down_since", lang): [
                f"{ctx.local(r['since']):%Y-%m-%d %H:%M:%S}" if r["since"] else "" for r in rows
            ],
            t("col_down_for", lang) + " (min)": [
                round((now - r["since"]).total_seconds() / 60, 1) if r["since"] else None for r in rows
            ],
            "lon": [r["lon"] for r in rows],
            "lat": [r["lat"] for r in rows],
        }
    )


@auth.secure_callback(
    ROLES,
    Output(DOWNLOAD, "data"),
    Input(CSV, "n_clicks"),
    Input(XLSX, "n_clicks"),
    State(DISTRICT, "value"),
    State(AT, "data"),
    prevent_initial_call=True,
)
def export(_csv, _xlsx, district, at):
    if not district:
        return dash.no_update
    ctx = context()
    lang = auth.current_lang()
    moment = _at(at)
    rows = ctx.sources.video_down.read(at=moment, key=district).value or []
    frame = export_frame(rows, ctx, lang, moment)
    stamp = f"{ctx.local(moment or datetime.now(UTC)):%Y%m%d-%H%M}"
    name = f"video-down-{district}-{stamp}"
    if dash.ctx.triggered_id == XLSX:
        buffer = io.BytesIO()
        frame.to_excel(buffer, index=False, sheet_name=district, engine="openpyxl")
        return dcc.send_bytes(buffer.getvalue(), f"{name}.xlsx")
    # with a byte-order mark, so Excel opens the Chinese names as UTF-8
    return dcc.send_string("\ufeff" + frame.to_csv(index=False), f"{name}.csv")
