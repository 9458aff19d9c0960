"""Replay: the time slider and ``?at=`` shared by the leaders' pages.

The moment lives in the address (``?at=2026-11-30T21:30``, the city's local time; an ISO time with an
offset is accepted too), so a replayed page can be bookmarked and sent on. Moving the slider (hours
back, up to 7 days; the time field reaches further back) or typing a time navigates to the same page
with the new ``at``; the page is then rendered for that moment, every read taking it. "Live" drops it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from urllib.parse import urlencode

from dash import Input, Output, dcc, html
from dash import ctx as callback_ctx

from citybrain.dashboard import auth
from citybrain.dashboard.i18n import t
from citybrain.dashboard.leader_sources import LEADERS

SLIDER = "replay-slider"
TYPED = "replay-at"
LIVE = "replay-live"
NAV = "replay-nav"
HOURS_BACK = 7 * 24
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


def parse_at(
    value: str | None, tz: tzinfo, now: datetime | None = None
) -> tuple[datetime | None, str | None]:
    """The moment ``?at=`` names (UTC), or None for live; and the refused text, if it could not be read.

    A time without an offset is the city's local time. A moment in the future is live."""
    if not value:
        return None, None
    text = value.strip().replace(" ", "+")  # a '+' of an offset arrives as a space from the query string
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None, value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    moment = moment.astimezone(UTC)
    if moment >= (now or datetime.now(UTC)):
        return None, None
    return moment, None


def at_query(at: datetime | None, tz: tzinfo) -> str:
    """The query string that keeps ``at`` on links to the other leaders' pages ("" when live)."""
    return "?" + urlencode({"at": at.astimezone(tz).strftime(LOCAL_FORMAT)}) if at else ""


def replay_bar(at: datetime | None, bad: str | None, tz: tzinfo, lang: str) -> html.Div:
    now = datetime.now(UTC)
    hours = round((now - at).total_seconds() / 3600) if at else 0
    marks = {-24 * d: t("days_back", lang).format(d=d) for d in range(7, 1, -1)}
    marks |= {-24: t("hours_back", lang).format(h=24), 0: t("now", lang)}
    if bad:
        status, css = t("replay_bad_at", lang).format(at=bad), "replay-status warn"
    elif at:
        status, css = (
            t("replay_at", lang).format(at=f"{at.astimezone(tz):%Y-%m-%d %H:%M}"),
            "replay-status on",
        )
    else:
        status, css = t("replay_live_now", lang), "replay-status"
    return html.Div(
        className="replay-bar replaying" if at else "replay-bar",
        children=[
            dcc.Location(id=NAV, refresh="callback-nav"),
            html.Span(t("replay", lang), className="replay-label"),
            html.Div(
                dcc.Slider(
                    id=SLIDER,
                    min=-HOURS_BACK,
                    max=0,
                    step=1,
                    value=-min(hours, HOURS_BACK),
                    marks=marks,
                    included=False,
                    updatemode="mouseup",
                    allow_direct_input=False,
                    tooltip={"placement": "top", "template": t("hours_back", lang).format(h="{value}")},
                ),
                className="replay-slider",
            ),
            dcc.Input(
                id=TYPED,
                type="datetime-local",
                value=at.astimezone(tz).strftime(LOCAL_FORMAT) if at else None,
                debounce=True,
                className="replay-input",
            ),
            html.Button(t("replay_live", lang), id=LIVE, className="btn replay-live"),
            html.Span(status, id="replay-status", className=css),
        ],
    )


def register(roles) -> None:
    """The one callback behind every page's replay bar (the ids are the same on each page)."""

    @auth.secure_callback(
        roles,
        Output(NAV, "search"),
        Input(SLIDER, "value"),
        Input(TYPED, "value"),
        Input(LIVE, "n_clicks"),
        prevent_initial_call=True,
    )
    def replay_to(hours_back, typed, _live):
        from citybrain.dashboard.context import context

        tz = context().tz
        trigger = callback_ctx.triggered_id
        if trigger == SLIDER and hours_back is not None and hours_back < 0:
            moment = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=hours_back)
        elif trigger == TYPED and typed:
            moment, _bad = parse_at(typed, tz)
        else:
            moment = None
        return at_query(moment, tz) or "?"


register(LEADERS)
