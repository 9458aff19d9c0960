"""The frame around every page: navigation (from the page registry, filtered by the user's role),
the language switch, the clock in the city's time zone, the data-freshness badge, the signed-in
user and sign-out.

Pages register themselves with ``register`` (one call per page module), which records who may
open them and wraps their layout with the server-side role check.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import dash
import flask
from dash import ClientsideFunction, Input, Output, State, dcc, html
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from citybrain.accounts import Role
from citybrain.dashboard import auth
from citybrain.dashboard.components.freshness import freshness_data
from citybrain.dashboard.context import context
from citybrain.dashboard.i18n import html_lang, t

CLOCK = "shell-clock"
CLOCK_TICK = "shell-clock-tick"
FRESHNESS = "shell-freshness"
FRESH_DATA = "shell-freshness-data"
STALE_BANNER = "shell-stale-banner"
TICK = "shell-tick"
ZONE = "shell-zone"
NAV = "shell-nav"
EVERYONE = frozenset(Role)


def register(
    module: str,
    path: str,
    label_key: str,
    roles: Iterable[Role],
    layout,
    order: int,
    wall: bool = False,
    **kwargs,
) -> None:
    """``dash.register_page`` plus who may open the page; the layout refuses everyone else on the server.

    ``wall`` pages are the ones a wall-screen account may open (read-only screens).
    """
    roles = frozenset(roles) | ({Role.WALL} if wall else frozenset())
    dash.register_page(
        module,
        path=path,
        name=label_key,
        title=t(label_key, "zh") + " · citybrain",
        order=order,
        layout=auth.page_roles(roles)(layout),
        roles=roles,
        label_key=label_key,
        wall=wall,
        **kwargs,
    )


def nav_pages(role: Role | None) -> list[dict]:
    """The pages ``role`` may open, in their registered order (the 404 page is never listed)."""
    return [p for p in dash.page_registry.values() if role in p.get("roles", ()) and p.get("label_key")]


def layout():
    """Built per page load, for the signed-in user and language."""
    if not flask.has_request_context() or not current_user.is_authenticated:
        return html.Div([dash.page_container])  # never served: the gate answers anonymous requests first
    ctx = context()
    lang = auth.current_lang()
    user = current_user
    other = "en" if lang == "zh" else "zh"
    links = [
        dcc.Link(t(p["label_key"], lang), href=p["relative_path"], className="nav-link")
        for p in nav_pages(user.role)
    ]
    return html.Div(
        className=f"shell role-{user.role.value}",
        lang=html_lang(lang),
        children=[
            html.Header(
                className="shell-header",
                children=[
                    html.Div(
                        className="brand",
                        children=[
                            html.Span(
                                ctx.city.spec.name_zh if lang == "zh" else ctx.city.spec.name_en,
                                className="brand-city",
                            ),
                            html.H1(t("title", lang)),
                        ],
                    ),
                    html.Nav(links, id=NAV, className="shell-nav"),
                    html.Div(
                        className="shell-status",
                        children=[
                            html.Span(id=CLOCK, className="clock", title=t("local_time", lang)),
                            html.Div(id=FRESHNESS, className="freshness"),
                            html.A(
                                t("other_language", lang),
                                href=f"?lang={other}",
                                className="lang-switch",
                                lang=other,
                            ),
                            html.Span(
                                [html.B(user.display_name), f" · {t('role_' + user.role.value, lang)}"],
                                className="shell-user",
                            ),
                            html.Form(
                                action="/logout",
                                method="POST",
                                className="sign-out",
                                children=[
                                    dcc.Input(type="hidden", name="csrf_token", value=generate_csrf()),
                                    html.Button(t("sign_out", lang), type="submit"),
                                ],
                            ),
                        ],
                    ),
                ],
            ),
            html.Div(id=STALE_BANNER, className="stale-banner"),
            html.Main(dash.page_container, className="shell-main"),
            dcc.Interval(id=TICK, interval=ctx.refresh_ms),
            dcc.Interval(id=CLOCK_TICK, interval=1000),
            dcc.Store(id=ZONE, data={"tz": ctx.city.spec.timezone, "lang": lang}),
            dcc.Store(id=FRESH_DATA),
        ],
    )


dash.clientside_callback(
    ClientsideFunction(namespace="citybrain", function_name="clock"),
    Output(CLOCK, "children"),
    Input(CLOCK_TICK, "n_intervals"),
    Input(ZONE, "data"),
)


dash.clientside_callback(
    ClientsideFunction(namespace="citybrain", function_name="markNav"),
    Output(NAV, "className"),
    Input("_pages_location", "pathname"),
)


# the age is the browser's own: it ticks every second and turns the screen stale when answers stop
dash.clientside_callback(
    ClientsideFunction(namespace="citybrain", function_name="freshness"),
    Output(FRESHNESS, "children"),
    Output(FRESHNESS, "className"),
    Output(STALE_BANNER, "children"),
    Output(STALE_BANNER, "className"),
    Input(CLOCK_TICK, "n_intervals"),
    Input(FRESH_DATA, "data"),
    State(ZONE, "data"),
)


@auth.secure_callback(EVERYONE, Output(FRESH_DATA, "data"), Input(TICK, "n_intervals"))
def refresh_freshness(_n):
    ctx = context()
    return freshness_data(ctx.sources.city.read(), datetime.now(UTC), ctx.refresh_ms, auth.current_lang())
