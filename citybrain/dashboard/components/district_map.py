"""The district map: a plotly geo choropleth on the city's own GeoJSON.

No tiles and no base map: ``geo.visible`` is off, so plotly.js draws only our
polygons. plotly.js still loads a world topology before drawing any geo
subplot, from its CDN by default; ``GRAPH_CONFIG`` points it at an empty
topology among our own assets, so nothing is fetched from the internet.
"""

from __future__ import annotations

import dash
import plotly.graph_objects as go

from citybrain.dashboard.i18n import t
from citybrain.geo.city import City



def graph_config() -> dict:
    return {"displayModeBar": False, "scrollZoom": False, "topojsonURL": dash.get_asset_url("topojson/")}


COLORSCALE = [[0.0, "#0b2a4a"], [0.4, "#1565c0"], [0.75, "#0097a7"], [1.0, "#00bfa5"]]
SMALL_DISTRICT_KM2 = 150.0  # the urban core: smaller labels so neighbours do not overlap


def district_map(city: City, activity: list[dict], lang: str) -> go.Figure:
    frame = city.frame
    by_code = {r["adcode"]: r["events"] for r in activity}
    names = frame["name_zh"] if lang == "zh" else frame["name_en"]
    values = [by_code.get(code, 0) for code in frame["adcode"]]
    centroids = frame.geometry.representative_point()
    fig = go.Figure(
        go.Choropleth(
            geojson=city.geojson,
            featureidkey="properties.adcode",
            locations=frame["adcode"],
            z=values,
            zmin=0,
            zmax=max(max(values, default=0), 1),
            text=names,
            colorscale=COLORSCALE,
            marker_line_color="#90caf9",
            marker_line_width=1,
            colorbar=dict(title=t("events", lang), thickness=14, tickfont=dict(color="#cfd8dc")),
            hovertemplate="%{text}<br>%{z} " + t("events", lang) + "<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scattergeo(
            lon=centroids.x, lat=centroids.y, text=names, mode="text",
            textfont=dict(color="#ffffff", size=[11 if a < SMALL_DISTRICT_KM2 else 15 for a in frame["area_km2"]]), hoverinfo="skip", showlegend=False,
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
