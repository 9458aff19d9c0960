"""Build the Dash application; `server` is the WSGI entry for gunicorn at scale.

Everything is served from this process (Dash's own JS bundles, the grid,
our CSS, the alarm sound): the dashboard works on an isolated intranet with
no CDN. Every request passes the sign-in gate (``auth``) first.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

import dash
import flask
import plotly.io.json

from citybrain import metrics
from citybrain.dashboard import auth, shell
from citybrain.dashboard.context import Context, configure
from citybrain.dashboard.i18n import html_lang
from citybrain.settings import Settings

log = logging.getLogger("citybrain.dashboard")
PAGES = (
    "citybrain.dashboard.pages.overview",
    "citybrain.dashboard.pages.duty",
    "citybrain.dashboard.pages.ops",
    "citybrain.dashboard.pages.leader_map",
    "citybrain.dashboard.pages.district",
    "citybrain.dashboard.pages.cases",
    "citybrain.dashboard.pages.video",
    "citybrain.dashboard.pages.not_found_404",
)


class CityDash(dash.Dash):
    """Dash with ``<html lang>`` set to the signed-in user's language."""

    def interpolate_index(self, **kwargs) -> str:
        page = super().interpolate_index(**kwargs)
        lang = html_lang(auth.current_lang() if flask.has_request_context() else "zh")
        return page.replace("<html>", f'<html lang="{lang}">', 1)


# Dash encodes every callback answer with plotly's JSON engine. Its default (orjson when installed) first
# walks the whole answer in Python to clean it, which made encoding the largest cost of a wall refresh; the
# standard library's encoder with plotly's hook for numpy and dates is about three times cheaper for our
# answers (component trees and patches), and the first draw with the district GeoJSON is no slower.
plotly.io.json.config.default_engine = "json"


def create_app(settings: Settings) -> dash.Dash:
    if not settings.database_url:
        raise ValueError("the dashboard needs CITYBRAIN_DATABASE_URL")
    ctx = configure(Context.build(settings))
    app = CityDash(
        __name__,
        use_pages=True,
        pages_folder="",
        assets_folder=str(Path(__file__).parent / "assets"),
        serve_locally=True,
        title="citybrain",
        update_title=None,
        suppress_callback_exceptions=True,
    )
    auth.init(app.server, ctx)
    for module in PAGES:
        importlib.import_module(module)
    app.layout = shell.layout
    return app


def run(settings: Settings) -> None:
    """The dashboard in one process (Flask's server), with its metrics endpoint when CITYBRAIN_METRICS_PORT is
    set; several processes run under gunicorn with ``gunicorn_conf``."""
    app = create_app(settings)
    if settings.metrics_port is not None:
        endpoint = metrics.start_metrics_server(
            metrics.port_for(settings.metrics_port, "dashboard"), settings.metrics_host
        )
        log.info("metrics on %s", endpoint.url)
    # no access-log line per request: fifty wall screens make 25 requests a second, and writing each line
    # cost the server as much as a refresh's reads; failures are still logged
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app.run(host=settings.dashboard_host, port=settings.dashboard_port, debug=False)
