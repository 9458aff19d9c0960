"""Appeal hot spots on a plotly geo map: a circle at each hot spot's centroid, its area growing with the
case count, the count written inside, so a wall read from 5 m shows where citizens are calling from and
how many. Offline like the district map (a ``Scattergeo`` on the map's own geo subplot, no tiles).

``hotspot_trace`` draws them on any geo map (the wall's, the leader map, a district page);
``hotspot_values`` is what a refresh patches into an existing trace.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go
from dash import html

from citybrain.dashboard.i18n import hotspot_group, lang_of, t

COLOUR = "#e040fb"  # magenta: no warning level uses it, so a hot spot never reads as a level
FILL = "rgba(213, 0, 249, 0.62)"  # partly see-through: the district's colour still shows beneath
LINE = "#ffffff"
MIN_VH = 0.022  # the smallest circle: 2.2 % of the screen's height across
PER_SQRT_CASE_VH = 0.008  # its diameter grows with the square root of the count (area ∝ cases)
MAX_VH = 0.09


def _join(names: list[str], lang: str) -> str:
    return ("、" if lang_of(lang) == "zh" else ", ").join(names)


def marker_sizes(counts: Sequence[int], vh_px: float = 1080) -> list[float]:
    """Circle diameters in pixels: area proportional to the cases, bounded so one never hides a district."""
    return [round(vh_px * min(MAX_VH, MIN_VH + PER_SQRT_CASE_VH * math.sqrt(max(c, 1))), 1) for c in counts]


def _hover(h: dict, names: dict[str, str], lang: str) -> str:
    spans = _join([names.get(d, d) for d in h["districts"]], lang)
    return t("hotspot_hover", lang).format(
        group=hotspot_group(h["category_group"], lang),
        count=h["case_count"],
        radius=f"{h['radius_m']:.0f}",
        districts=t("hotspot_spans", lang).format(districts=spans),
    )


def hotspot_values(
    hotspots: Sequence[dict], names: dict[str, str], lang: str, vh_px: float = 1080, within: set | None = None
) -> dict:
    """The trace's data for these hot spots (``within``: only those filed under these districts)."""
    shown = [h for h in hotspots if within is None or h["district"] in within]
    return {
        "lon": [h["lon"] for h in shown],
        "lat": [h["lat"] for h in shown],
        "text": [str(h["case_count"]) for h in shown],
        "customdata": [_hover(h, names, lang) for h in shown],
        "marker.size": marker_sizes([h["case_count"] for h in shown], vh_px),
    }


def hotspot_trace(
    hotspots: Sequence[dict],
    names: dict[str, str],
    lang: str,
    geo: str = "geo",
    vh_px: float = 1080,
    within: set | None = None,
) -> go.Scattergeo:
    """Hot spots as circles sized by case count, the count inside; ``names`` maps adcodes to names."""
    values = hotspot_values(hotspots, names, lang, vh_px, within)
    return go.Scattergeo(
        geo=geo,
        lon=values["lon"],
        lat=values["lat"],
        text=values["text"],
        customdata=values["customdata"],
        mode="markers+text",
        name=t("hotspots_title", lang),
        showlegend=False,
        marker=dict(
            size=values["marker.size"],
            color=FILL,
            line=dict(color=LINE, width=max(2.0, vh_px * 0.0028)),
        ),
        textfont=dict(
            size=round(vh_px * 0.022), color="#ffffff", weight="bold", shadow="0px 0px 4px #4a0060"
        ),
        textposition="middle center",
        hovertemplate="%{customdata}<extra></extra>",
    )


def hotspot_legend(lang: str, vh_px: float = 1080, x: float = 0.0, y: float = 1.0) -> dict:
    """The legend as a figure annotation (top left of the map, where the city leaves room): a circle in
    the hot spots' colour and what its size means. Inside the figure, it costs the page no height."""
    return dict(
        text=f"<span style='color:{COLOUR}'>●</span> {t('hotspot_legend', lang)}",
        x=x,
        y=y,
        xref="paper",
        yref="paper",
        xanchor="left",
        yanchor="top",
        showarrow=False,
        font=dict(size=round(vh_px * 0.021), color="#e3f2fd"),
        name="hotspot-legend",
    )


def hotspot_list(hotspots: Sequence[dict], names: dict[str, str], local, lang: str) -> html.Div:
    """Recent hot spots as a list (a district page's "recent hot spots"): group, cases, radius, since when
    (``local`` turns a UTC time into the city's), active or ended, and the districts it spans."""
    if not hotspots:
        return html.Div(t("hotspots_none", lang), className="hotspot-list empty")
    items = []
    for h in hotspots:
        state = "hotspot_active" if h["ended_at"] is None else "hotspot_ended"
        spans = _join([names.get(d, d) for d in h["districts"]], lang)
        items.append(
            html.Li(
                className=f"hotspot-item {'active' if h['ended_at'] is None else 'ended'}",
                children=[
                    html.Span(t(state, lang), className="hotspot-state"),
                    html.Span(
                        t("hotspot_row", lang).format(
                            group=hotspot_group(h["category_group"], lang),
                            count=h["case_count"],
                            radius=f"{h['radius_m']:.0f}",
                            opened=f"{local(h['opened_at']):%m-%d %H:%M}",
                        ),
                        className="hotspot-text",
                    ),
                    html.Span(t("hotspot_spans", lang).format(districts=spans), className="hotspot-spans"),
                ],
            )
        )
    return html.Ul(items, className="hotspot-list")
