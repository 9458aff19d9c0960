"""Overview (the wall screen): district risk map, why districts are at risk, city totals.

Open to every role, including wall-screen accounts; nothing on it acts.
"""

from __future__ import annotations

from dash import Input, Output, dcc, html

from citybrain.accounts import Role
from citybrain.dashboard import auth, shell
from citybrain.dashboard.components.district_map import district_map, graph_config
from citybrain.dashboard.components.kpi import kpi_tile
from citybrain.dashboard.components.risk_card import risk_card
from citybrain.dashboard.context import context
from citybrain.dashboard.i18n import t

MAP = "overview-map"
TOTALS = "overview-totals"
AT_RISK = "overview-at-risk"
TICK = "overview-tick"
ROLES = frozenset(Role)

KPIS = ("events_per_min", "cameras", "cameras_down", "sensors", "open_cases", "open_emergencies", "active_alerts")


def layout(**_query) -> html.Div:
    ctx = context()
    lang = auth.current_lang()
    return html.Div(
        className="page overview",
        children=[
            dcc.Interval(id=TICK, interval=ctx.refresh_ms),
            html.Div(id=TOTALS, className="kpis"),
            html.Div(className="panels", children=[
                html.Div(className="map-panel", children=[
                    html.H2(t("map_title", lang), className="panel-title"),
                    dcc.Graph(id=MAP, className="district-map", config=graph_config(),
                              figure=district_map(ctx.city, [], lang)),
                ]),
                html.Div(className="side-panel", children=[
                    html.H2(t("at_risk", lang), className="panel-title"),
                    html.Div(id=AT_RISK, className="at-risk"),
                ]),
            ]),
        ],
    )


shell.register(__name__, path="/", label_key="page_overview", roles=ROLES, layout=layout, order=0, wall=True)


def at_risk(risk: list[dict], lang: str) -> list:
    """Non-blue districts, worst first, each with the sub-indicators that put it there."""
    ctx = context()
    flagged = sorted((r for r in risk if r["level"] != "blue"), key=lambda r: r["score"], reverse=True)
    if not flagged:
        return [html.Div(t("all_clear", lang), className="all-clear")]
    return [risk_card(r, ctx.district_name(r["district"], lang), lang) for r in flagged]


@auth.secure_callback(
    ROLES,
    Output(MAP, "figure"), Output(TOTALS, "children"), Output(AT_RISK, "children"),
    Input(TICK, "n_intervals"),
)
def refresh(_n):
    ctx = context()
    lang = auth.current_lang()
    reading = ctx.sources.city.read()
    picture = reading.value
    kpis = []
    if picture is not None:
        totals = picture.totals
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
        kpis = [kpi_tile(t(k, lang), values[k], alarm=alarms.get(k, False)) for k in KPIS]
    risk = picture.risk if picture else []
    return district_map(ctx.city, risk, lang), kpis, at_risk(risk, lang)
