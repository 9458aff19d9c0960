"""The video-point map: 95,000 cameras on the district map, online ones as density, the ones that are down
one by one.

Why this shape. plotly's ``scattergeo`` has no WebGL variant, and 95,000 SVG markers take seconds to
draw and are unreadable anyway (a dense core of overlapping dots). ``scattergl`` on projected x/y would
draw them fast, but needs WebGL, which the command centre's locked-down, GPU-less intranet browsers may
not have. So the server aggregates: online cameras are summed on a grid of ``cell_deg`` degrees (about
2 km; a few thousand cells for the whole city) and drawn as squares shaded by how many cameras each holds
— the density of coverage — while the few that matter, offline (red) and faulty (amber), are drawn
individually on top. That keeps the figure to a few thousand SVG nodes whatever the camera count (the
benchmark measures it at 95,000), uses the same plotly geo on our own GeoJSON as the risk map, and needs
no tiles: it works on an isolated intranet.

The square size is computed from the map's size on screen (the viewport the browser reports), so the
grid's cells touch at 1080p and at 4K alike. Every refresh after the first sends a ``dash.Patch`` of the
points only, never the GeoJSON again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from dash import Patch, html

from citybrain.dashboard.components.district_map import short_name
from citybrain.dashboard.i18n import t
from citybrain.geo.city import City
from citybrain.store.video import VideoPicture

OFFLINE, FAULT = "#ff1744", "#ffab00"
DISTRICT_FILL = "#10263b"
DENSITY_SCALE = [[0.0, "#0d3b4f"], [0.5, "#00897b"], [1.0, "#69f0ae"]]
MAP_SHARE = (0.56, 0.87)  # the map's share of the viewport's width and height (see .video-map in the CSS)
DOWN_VH = 0.005  # a down camera's marker: 0.5 % of the screen's height (thousands may be down at once)
LABEL_VH = 0.022
# drawn bottom to top: districts (hover and click), density, boundaries, labels, faulty, offline
TRACE_DISTRICTS, TRACE_DENSITY, TRACE_BOUNDARIES, TRACE_LABELS, TRACE_FAULT, TRACE_OFFLINE = range(6)


def _mercator_y(lat: float) -> float:
    return math.degrees(math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)))


def cell_px(city: City, cell_deg: float, viewport: dict | None) -> float:
    """How many pixels a grid cell spans on screen, for a map fitted to the city in the map's box."""
    w, h = (viewport or {}).get("w", 1920), (viewport or {}).get("h", 1080)
    minx, miny, maxx, maxy = city.frame.total_bounds
    span_x = maxx - minx
    span_y = _mercator_y(maxy) - _mercator_y(miny)
    px_per_deg = min(w * MAP_SHARE[0] / span_x, h * MAP_SHARE[1] / span_y)
    # a cell is as wide as this and a little taller (a degree of latitude is longer on the map at 30° N);
    # squares as wide as the cell touch side by side and leave a thin seam between rows
    return max(2.0, px_per_deg * cell_deg * 0.95)


def boundaries(city: City) -> tuple[list, list]:
    """Every district's outline as one line trace's coordinates (None between rings), so the outlines
    stay visible on top of the density squares."""
    lon: list = []
    lat: list = []
    for geometry in city.frame.geometry:
        for polygon in getattr(geometry, "geoms", [geometry]):
            xs, ys = polygon.exterior.coords.xy
            lon += [*xs, None]
            lat += [*ys, None]
    return lon, lat


def _density(picture: VideoPicture) -> dict:
    lon = [round(c[0], 4) for c in picture.grid]  # cell centres: 4 decimals are exact on a 0.01° grid
    lat = [round(c[1], 4) for c in picture.grid]
    n = [c[2] for c in picture.grid]
    return {"lon": lon, "lat": lat, "n": n, "shade": [math.log1p(x) for x in n]}


def _down(picture: VideoPicture, status: str) -> dict:
    rows = [r for r in picture.down if r["status"] == status]
    return {  # 5 decimals: a metre; the district's name is on the map, its code is for the click
        "lon": [round(r["lon"], 5) for r in rows],
        "lat": [round(r["lat"], 5) for r in rows],
        "text": [r["camera_id"] for r in rows],
        "customdata": [r["district"] for r in rows],
    }


def _district_hover(picture: VideoPicture, codes: Sequence[str], lang: str) -> list[str]:
    by = {r["district"]: r for r in picture.counts}
    out = []
    for code in codes:
        r = by.get(code)
        if r is None:
            out.append("")
            continue
        out.append(
            t("video_summary", lang).format(
                total=f"{r['total']:,}", online=f"{r['online']:,}", offline=r["offline"], fault=r["fault"]
            )
        )
    return out


def video_map(
    city: City,
    picture: VideoPicture,
    lang: str,
    names: dict[str, str],
    viewport: dict | None = None,
    unlabelled: Sequence[str] = (),
) -> go.Figure:
    """The map; ``unlabelled`` districts (the small urban core, where labels would cover the points that
    matter most) are named on hover only."""
    frame = city.frame
    codes = list(frame["adcode"])
    labels = [short_name(n, lang) for n in (frame["name_zh"] if lang == "zh" else frame["name_en"])]
    points = frame.geometry.representative_point()
    keep = [i for i, c in enumerate(codes) if c not in set(unlabelled)]
    vh = (viewport or {}).get("h", 1080)
    density = _density(picture)
    top = max(density["shade"], default=1.0) or 1.0
    fig = go.Figure()
    fig.add_trace(
        go.Choropleth(
            geojson=city.geojson,
            featureidkey="properties.adcode",
            locations=codes,
            z=[0] * len(codes),
            colorscale=[[0, DISTRICT_FILL], [1, DISTRICT_FILL]],
            showscale=False,
            marker_line_color="#78909c",
            marker_line_width=1.2,
            text=[names.get(c, c) for c in codes],
            customdata=_district_hover(picture, codes, lang),
            hovertemplate="<b>%{text}</b><br>%{customdata}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scattergeo(
            lon=np.asarray(density["lon"], dtype=float),  # arrays: plotly validates lists item by item
            lat=np.asarray(density["lat"], dtype=float),
            customdata=np.asarray(density["n"], dtype=int),
            mode="markers",
            marker=dict(
                symbol="square",
                size=cell_px(city, picture.cell_deg, viewport),
                color=np.asarray(density["shade"], dtype=float),
                cmin=0,
                cmax=top,
                colorscale=DENSITY_SCALE,
                opacity=0.75,
                line_width=0,
            ),
            hovertemplate=f"{t('video_online', lang)}: %{{customdata}}<extra></extra>",
            showlegend=False,
        )
    )
    outline_lon, outline_lat = boundaries(city)
    fig.add_trace(
        go.Scattergeo(
            lon=np.asarray(outline_lon, dtype=float),  # None → NaN: a break between rings
            lat=np.asarray(outline_lat, dtype=float),
            mode="lines",
            line=dict(color="#b0bec5", width=1.4),
            hoverinfo="skip",
            showlegend=False,
        )
    )
    fig.add_trace(
        go.Scattergeo(
            lon=[points.x.iloc[i] for i in keep],
            lat=[points.y.iloc[i] for i in keep],
            text=[labels[i] for i in keep],
            mode="text",
            hoverinfo="skip",
            showlegend=False,
            textfont=dict(size=round(vh * LABEL_VH), color="#ffffff", shadow="0 0 4px #000", weight="bold"),
        )
    )
    for status, colour in (("fault", FAULT), ("offline", OFFLINE)):
        down = _down(picture, status)
        fig.add_trace(
            go.Scattergeo(
                lon=np.asarray(down["lon"], dtype=float),
                lat=np.asarray(down["lat"], dtype=float),
                text=np.asarray(down["text"], dtype=object),
                customdata=np.asarray(down["customdata"], dtype=object),
                mode="markers",
                marker=dict(size=max(4, round(vh * DOWN_VH)), color=colour, line_width=0, opacity=0.9),
                hovertemplate=f"%{{text}}<br>{t('video_' + status, lang)}<extra></extra>",
                showlegend=False,
            )
        )
    minx, miny, maxx, maxy = frame.total_bounds
    pad = 0.01
    fig.update_layout(
        geo=dict(
            # the city's own extent rather than ``fitbounds``: plotly then shapes the frame like the city
            # and fills the panel, where fitbounds fits the city into a square
            lonaxis_range=[minx - pad, maxx + pad],
            lataxis_range=[miny - pad, maxy + pad],
            visible=False,
            bgcolor="rgba(0,0,0,0)",
            projection_type="mercator",
            domain={"x": [0, 1], "y": [0, 1]},
        ),
        margin=dict(l=0, r=0, t=0, b=0),
        paper_bgcolor="rgba(0,0,0,0)",
        font=dict(color="#e3f2fd"),
        uirevision="video-map",
        dragmode=False,
        clickmode="event",
        hoverlabel=dict(font_size=round(vh * 0.016)),
    )
    return fig


def video_patch(picture: VideoPicture, lang: str, names: dict[str, str], codes: Sequence[str]) -> Patch:
    """What a refresh changes: the district hover counts, the density grid and the down cameras."""
    density = _density(picture)
    patch = Patch()
    patch["data"][TRACE_DISTRICTS]["customdata"] = _district_hover(picture, codes, lang)
    patch["data"][TRACE_DENSITY]["lon"] = density["lon"]
    patch["data"][TRACE_DENSITY]["lat"] = density["lat"]
    patch["data"][TRACE_DENSITY]["customdata"] = density["n"]
    patch["data"][TRACE_DENSITY]["marker"]["color"] = density["shade"]
    patch["data"][TRACE_DENSITY]["marker"]["cmax"] = max(density["shade"], default=1.0) or 1.0
    for index, status in ((TRACE_OFFLINE, "offline"), (TRACE_FAULT, "fault")):
        for key, value in _down(picture, status).items():
            patch["data"][index][key] = value
    return patch


def legend(picture: VideoPicture | None, lang: str) -> html.Div:
    """Colours and the city's figures: online (density), offline, fault, no status yet."""
    totals = {
        k: sum(r[k] for r in picture.counts) if picture else 0
        for k in ("online", "offline", "fault", "unknown")
    }
    items = [
        ("online", "linear-gradient(90deg, #0d3b4f, #00897b, #69f0ae)", t("video_online", lang)),
        ("offline", OFFLINE, t("video_offline", lang)),
        ("fault", FAULT, t("video_fault", lang)),
        ("unknown", "#455a64", t("video_unknown", lang)),
    ]
    return html.Div(
        className="map-legend video-legend",
        children=[
            html.Span(
                className=f"legend-item legend-{key}",
                children=[
                    html.Span(className="swatch", style={"background": colour}),
                    label,
                    html.B(f" {totals[key]:,}", className=f"legend-count count-{key}"),
                ],
            )
            for key, colour, label in items
        ],
    )
