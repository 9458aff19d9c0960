"""Build the Dash application; `server` is the WSGI entry for gunicorn at scale.

Everything is served from this process (Dash's own JS bundles, our CSS):
the dashboard works on an isolated intranet with no CDN.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import dash

from citybrain.dashboard import data
from citybrain.geo.city import City
from citybrain.risk.config import RiskConfig
from citybrain.settings import Settings

PAGES = ("citybrain.dashboard.pages.overview",)


def create_app(settings: Settings) -> dash.Dash:
    if not settings.database_url:
        raise ValueError("the dashboard needs CITYBRAIN_DATABASE_URL")
    app = dash.Dash(
        __name__,
        use_pages=True,
        pages_folder="",
        assets_folder=str(Path(__file__).parent / "assets"),
        serve_locally=True,
        title="citybrain",
        update_title=None,
        suppress_callback_exceptions=True,
    )
    app.server.config["CITYBRAIN_CITY"] = City.load(settings.config_dir)
    app.server.config["CITYBRAIN_REFRESH_S"] = settings.dashboard_refresh_s
    risk = RiskConfig.load(settings.config_dir)
    data.configure(settings.database_url, ttl_s=settings.dashboard_refresh_s, risk_window_s=risk.windows_s[-1])
    for module in PAGES:
        importlib.import_module(module)
    app.layout = dash.html.Div([dash.page_container])
    return app


def run(settings: Settings) -> None:
    app = create_app(settings)
    app.run(host=settings.dashboard_host, port=settings.dashboard_port, debug=False)
