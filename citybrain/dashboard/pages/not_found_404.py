"""The page for any address that is not a page (Dash pages finds it by its module name)."""

from __future__ import annotations

import dash
from dash import html

from citybrain.dashboard import auth
from citybrain.dashboard.i18n import t


def layout(**_query) -> html.Div:
    lang = auth.current_lang()
    return html.Div(
        className="page message-page",
        children=[
            html.H2(t("not_found", lang)),
            html.P(t("not_found_hint", lang)),
            html.A(t("go_home", lang), href="/"),
        ],
    )


dash.register_page(__name__, path="/404", title="页面不存在 · citybrain", layout=layout)
