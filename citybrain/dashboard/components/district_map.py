"""The district risk map: a plotly geo choropleth on the city's own GeoJSON.

Districts are coloured by warning level (blue IV … red I; grey while no
indicator exists yet); hovering shows the score and what drives it.

No tiles and no base map: ``geo.visible`` is off, so plotly.js draws only our
polygons. plotly.js still loads a world topology before drawing any geo
subplot, from its CDN by default; ``graph_config`` points it at an empty
topology among our own assets, so nothing is fetched from the internet.
"""

from __future__ import annotations

import dash
import plotly.graph_objects as go

from citybrain.dashboard.components.risk_card import top_drivers
from citybrain.dashboard.i18n import indicator_name, level_name, t
from citybrain.geo.city import City
from citybrain.risk.config import Level

LEVEL_COLOURS = {"none": "#37474f", "blue": "#1e88e5", "yellow": "#fdd835", "orange": "#fb8c00", "red": "#e53935"}
# z = -1 (no data), 0 blue … 3 red, as a stepped colour scale
COLORSCALE = []
for i, name in enumerate(("none", *Level)):
    COLORSCALE += [[i / 5, LEVEL_COLOURS[name]], [(i + 1) / 5, LEVEL_COLOURS[name]]]
SMALL_DISTRICT_KM2 = 150.0  # the urban core: smaller labels so neighbours do not overlap


def graph_config() -> dict:
    return {"displayModeBar": False, "scrollZoom": False, "topojsonURL": dash.get_asset_url("topojson/")}


def _hover(row: dict | None, lang: str) -> str:
    if row is None:
        return t("no_data", lang)
    lines = [f"{level_name(row['level'], lang)} · {row['score']:.0f}"]
    lines += [f"{indicator_name(k, lang)} +{v:.0f}" for k, v in top_drivers(row)]
    return "<br>".join(lines)


def district_map(city: City, risk: list[dict], lang: str) -> go.Figure:
    frame = city.frame
    by_code = {r["district"]: r for r in risk}
    names = frame["name_zh"] if lang == "zh" else frame["name_en"]
    rows = [by_code.get(code) for code in frame["adcode"]]
    z = [Level(r["level"]).rank if r else -1 for r in rows]
    centroids = frame.geometry.representative_point()
    fig = go.Figure(
        go.Choropleth(
            geojson=city.geojson,
            featureidkey="properties.adcode",
            locations=frame["adcode"],
            z=z,
            zmin=-1.5,
            zmax=3.5,
            text=names,
            customdata=[_hover(r, lang) for r in rows],
            colorscale=COLORSCALE,
            showscale=False,
            marker_line_color="#cfd8dc",
            marker_line_width=1,
            hovertemplate="<b>%{text}</b><br>%{customdata}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scattergeo(
            lon=centroids.x, lat=centroids.y, text=names, mode="text",
            textfont=dict(color="#0d1b2a", size=[11 if a < SMALL_DISTRICT_KM2 else 15 for a in frame["area_km2"]]),
            hoverinfo="skip", showlegend=False,
        )
    )
    fig.update_geos(fitbounds="locations", visible=False, bgcolor="rgba(0,0,0,0)")
    fig.update_layout(
        margin=dict(l=0, r=0, t=0, b=0),
        paper_bgcolor="rgba(0,0,0,0)",
        font=dict(color="#e3f2fd"),
        uirevision="district-map",
        dragmode=False,
    )
    return fig
