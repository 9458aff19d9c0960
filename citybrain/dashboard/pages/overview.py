"""Overview (the wall screen): district risk map, why districts are at risk, city totals, data freshness."""

from __future__ import annotations

from datetime import UTC, datetime

import dash
from dash import Input, Output, State, callback, dcc, html

from citybrain.dashboard import data
from citybrain.dashboard.components.district_map import district_map, graph_config
from citybrain.dashboard.components.freshness import freshness
from citybrain.dashboard.i18n import indicator_name, lang_of, level_name, t

MAP = "overview-map"
TOTALS = "overview-totals"
FRESHNESS = "overview-freshness"
AT_RISK = "overview-at-risk"
TICK = "overview-tick"
LANG = "overview-lang"

KPIS = ("events_per_min", "cameras", "cameras_down", "sensors", "open_cases", "open_emergencies", "active_alerts")


def layout(lang: str | None = None, **_query) -> html.Div:
    lang = lang_of(lang)
    app = dash.get_app()
    return html.Div(
        className="page overview",
        children=[
            dcc.Store(id=LANG, data=lang),
            dcc.Interval(id=TICK, interval=int(app.server.config["CITYBRAIN_REFRESH_S"] * 1000)),
            html.Header(className="topbar", children=[
                html.H1(t("title", lang)),
                html.Div(id=FRESHNESS, className="freshness"),
            ]),
            html.Div(id=TOTALS, className="kpis"),
            html.Div(className="panels", children=[
                html.Div(className="map-panel", children=[
                    html.H2(t("map_title", lang), className="panel-title"),
                    dcc.Graph(id=MAP, className="district-map", config=graph_config(),
                              figure=district_map(app.server.config["CITYBRAIN_CITY"], [], lang)),
                ]),
                html.Div(className="side-panel", children=[
                    html.H2(t("at_risk", lang), className="panel-title"),
                    html.Div(id=AT_RISK, className="at-risk"),
                ]),
            ]),
        ],
    )


dash.register_page(__name__, path="/", name="overview", title="citybrain", layout=layout)


def _kpi(label: str, value: str, alarm: bool = False) -> html.Div:
    return html.Div(className="kpi alarm" if alarm else "kpi",
                    children=[html.Div(value, className="kpi-value"), html.Div(label, className="kpi-label")])


def at_risk(risk: list[dict], city, lang: str) -> list:
    """Non-blue districts, worst first, each with the sub-indicators that put it there."""
    names = city.frame.set_index("adcode")["name_zh" if lang == "zh" else "name_en"]
    flagged = sorted((r for r in risk if r["level"] != "blue"), key=lambda r: r["score"], reverse=True)
    if not flagged:
        return [html.Div(t("all_clear", lang), className="all-clear")]
    items = []
    for r in flagged:
        drivers = sorted(r["contributions"].items(), key=lambda kv: kv[1], reverse=True)[:3]
        items.append(html.Div(className=f"risk-item level-{r['level']}", children=[
            html.Div(className="risk-head", children=[
                html.Span(names.get(r["district"], r["district"]), className="risk-district"),
                html.Span(f"{level_name(r['level'], lang)} · {r['score']:.0f}", className="risk-level"),
            ]),
            html.Ul([html.Li(f"{indicator_name(k, lang)}  +{v:.0f}") for k, v in drivers if v > 0],
                    className="risk-drivers"),
        ]))
    return items


@callback(
    Output(MAP, "figure"), Output(TOTALS, "children"), Output(FRESHNESS, "children"), Output(FRESHNESS, "className"),
    Output(AT_RISK, "children"),
    Input(TICK, "n_intervals"), State(LANG, "data"),
)
def refresh(_n, lang):
    snapshot = data.cache().snapshot()
    city = dash.get_app().server.config["CITYBRAIN_CITY"]
    totals = snapshot.totals
    kpis = []
    if totals is not None:
        values = {
            "events_per_min": f"{totals.events_per_min:,.0f}",
            "cameras": f"{totals.cameras:,}",
            "cameras_down": f"{totals.cameras_down:,}",
            "sensors": f"{totals.sensors:,}",
            "open_cases": f"{totals.open_cases:,}",
            "open_emergencies": f"{totals.open_emergencies:,}",
            "active_alerts": f"{totals.active_alerts:,}",
        }
        alarms = {"open_emergencies": totals.open_emergencies > 0, "active_alerts": totals.critical_unacked > 0}
        kpis = [_kpi(t(k, lang), values[k], alarm=alarms.get(k, False)) for k in KPIS]
    text, css = freshness(snapshot, lang, datetime.now(UTC))
    return district_map(city, snapshot.risk, lang), kpis, text, css, at_risk(snapshot.risk, city, lang)
