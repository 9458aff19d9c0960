"""The district risk map: a plotly geo choropleth on the city's own GeoJSON, with an enlarged inset of
the dense urban core (most cameras and cases, yet the smallest districts).

Districts are coloured by level: a neutral slate for normal (no warning), then the four warning
colours, blue IV … red I, and a dark fill while no indicator exists. The legend is HTML beside the
figure (``map_legend``). Label sizes follow the viewport's height (``vh_px``), so a 4K wall gets
labels twice as large as a 1080p one. Each refresh sends ``map_patch`` — the colours and hover texts
only — never the GeoJSON again.

No tiles and no base map: ``geo.visible`` is off, so plotly.js draws only our polygons. plotly.js still
loads a world topology before drawing any geo subplot, from its CDN by default; ``graph_config`` points
it at an empty topology among our own assets, so nothing is fetched from the internet.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence

import dash
import plotly.graph_objects as go
from dash import Patch, html

from citybrain.dashboard.components.hotspot_map import hotspot_legend, hotspot_trace, hotspot_values
from citybrain.dashboard.components.risk_card import top_drivers
from citybrain.dashboard.i18n import floor_name, indicator_name, level_name, t
from citybrain.events import Level
from citybrain.geo.city import City

NO_DATA = "none"
LEVEL_COLOURS = {
    NO_DATA: "#1a232c",
    "normal": "#4f6878",
    "blue": "#1e88e5",
    "yellow": "#fdd835",
    "orange": "#fb8c00",
    "red": "#e53935",
}
DARK_TEXT_ON = {"yellow", "orange"}  # light fills take dark labels
STEPS = (NO_DATA, *Level)
# z = -1 (no data), 0 normal, 1 blue … 4 red, as a stepped colour scale
COLORSCALE = []
for _i, _name in enumerate(STEPS):
    COLORSCALE += [[_i / len(STEPS), LEVEL_COLOURS[_name]], [(_i + 1) / len(STEPS), LEVEL_COLOURS[_name]]]
LABEL_VH = 0.024  # district labels: 2.4 % of the screen's height
CORE_LABEL_VH = 0.026
MAIN_DOMAIN = {"x": [0.0, 0.68], "y": [0.0, 1.0]}
CORE_DOMAIN = {"x": [0.69, 1.0], "y": [0.18, 0.9]}


def graph_config() -> dict:
    return {
        "displayModeBar": False,
        "scrollZoom": False,
        "staticPlot": False,
        "topojsonURL": dash.get_asset_url("topojson/"),
    }


def short_name(name: str, lang: str) -> str:
    """The map's label: 锦江区 → 锦江, 都江堰市 → 都江堰 (the suffix costs room and says nothing on a map)."""
    if lang == "zh" and len(name) >= 3 and name[-1] in "区县市":
        return name[:-1]
    return name


def _hover(row: dict | None, lang: str) -> str:
    if row is None:
        return t("no_data", lang)
    lines = [f"{level_name(row['level'], lang)} · {row['score']:.0f}"]
    if row.get("floor"):
        lines.append(t("floor_reason", lang).format(floor=floor_name(row["floor"], lang)))
    lines += [f"{indicator_name(k, lang)} +{v:.0f}" for k, v in top_drivers(row)]
    return "<br>".join(lines)


def _z(row: dict | None) -> int:
    return Level(row["level"]).rank if row else -1


def _text_colour(row: dict | None) -> str:
    return "#10161c" if row and row["level"] in DARK_TEXT_ON else "#ffffff"


def _traces(codes: Sequence[str], by_code: dict, lang: str) -> tuple[list, list, list]:
    rows = [by_code.get(c) for c in codes]
    return [_z(r) for r in rows], [_hover(r, lang) for r in rows], [_text_colour(r) for r in rows]


def district_map(
    city: City,
    risk: list[dict],
    lang: str,
    core: Sequence[str] = (),
    vh_px: float = 1080,
    hotspots: Sequence[dict] | None = None,
) -> go.Figure:
    """The map; with ``hotspots`` (a list, even empty) each geo gets a last trace of hot-spot circles."""
    frame = city.frame
    by_code = {r["district"]: r for r in risk}
    names = list(frame["name_zh"] if lang == "zh" else frame["name_en"])
    codes = list(frame["adcode"])
    points = frame.geometry.representative_point()
    core_idx = [i for i, c in enumerate(codes) if c in set(core)]
    outer_idx = [i for i in range(len(codes)) if i not in core_idx]
    z, hover, colours = _traces(codes, by_code, lang)
    fig = go.Figure()
    geos = [("geo", range(len(codes)), outer_idx, LABEL_VH)]
    if core_idx:
        geos.append(("geo2", core_idx, core_idx, CORE_LABEL_VH))
    for geo, shapes, _labelled, _size in geos:
        fig.add_trace(
            go.Choropleth(
                geojson=city.geojson,
                featureidkey="properties.adcode",
                geo=geo,
                locations=[codes[i] for i in shapes],
                z=[z[i] for i in shapes],
                zmin=-1.5,
                zmax=len(STEPS) - 1.5,
                text=[names[i] for i in shapes],
                customdata=[hover[i] for i in shapes],
                colorscale=COLORSCALE,
                showscale=False,
                marker_line_color="#cfd8dc",
                marker_line_width=1.2,
                hovertemplate="<b>%{text}</b><br>%{customdata}<extra></extra>",
            )
        )
    for geo, _shapes, labelled, size in geos:
        fig.add_trace(
            go.Scattergeo(
                geo=geo,
                lon=[points.x.iloc[i] for i in labelled],
                lat=[points.y.iloc[i] for i in labelled],
                text=[short_name(names[i], lang) for i in labelled],
                mode="text",
                hoverinfo="skip",
                showlegend=False,
                textfont=dict(
                    size=round(vh_px * size),
                    color=[colours[i] for i in labelled],
                    shadow="auto",
                    weight="bold",
                ),
            )
        )
    if hotspots is not None:  # after every other trace, so map_patch finds them at the end
        by_code = dict(zip(codes, names, strict=True))
        fig.add_trace(hotspot_trace(hotspots, by_code, lang, "geo", vh_px))
        if core_idx:
            fig.add_trace(hotspot_trace(hotspots, by_code, lang, "geo2", vh_px, within=set(core)))
        fig.add_annotation(hotspot_legend(lang, vh_px))
    common = dict(fitbounds="locations", visible=False, bgcolor="rgba(0,0,0,0)", projection_type="mercator")
    fig.update_layout(
        geo=dict(domain=MAIN_DOMAIN if core_idx else {"x": [0, 1], "y": [0, 1]}, **common),
        margin=dict(l=0, r=0, t=0, b=0),
        paper_bgcolor="rgba(0,0,0,0)",
        font=dict(color="#e3f2fd"),
        uirevision="district-map",
        dragmode=False,
    )
    if core_idx:
        fig.update_layout(geo2=dict(domain=CORE_DOMAIN, **{**common, "bgcolor": "rgba(30,58,92,0.35)"}))
        fig.add_annotation(
            text=t("core_inset", lang),
            x=sum(CORE_DOMAIN["x"]) / 2,
            y=0.8,
            xref="paper",
            yref="paper",
            showarrow=False,
            yanchor="bottom",
            font=dict(size=round(vh_px * CORE_LABEL_VH), color="#b0bec5"),
        )
    return fig


_DRAWN: OrderedDict[Hashable, dict] = OrderedDict()
_DRAWN_LOCK = threading.Lock()
DRAWINGS_KEPT = 16


def drawn_once(key: Hashable, draw: Callable[[], go.Figure]) -> dict:
    """The whole map as a plain dict, drawn once per ``key`` (the data's reading, language and screen size)
    however many screens ask: after a restart every wall screen asks for its first picture within one
    refresh interval, and drawing the map with its GeoJSON costs a hundred times a patch. Callers get a dict
    they must not change."""
    with _DRAWN_LOCK:
        if key in _DRAWN:
            _DRAWN.move_to_end(key)
            return _DRAWN[key]
        drawing = _DRAWN[key] = draw().to_plotly_json()
        while len(_DRAWN) > DRAWINGS_KEPT:
            _DRAWN.popitem(last=False)
        return drawing


def map_patch(
    city: City,
    risk: list[dict],
    lang: str,
    core: Sequence[str] = (),
    hotspots: Sequence[dict] | None = None,
    vh_px: float = 1080,
) -> Patch:
    """Only what a refresh changes: fill levels, hover texts and label colours of both maps, and the
    hot-spot circles when the map was drawn with them."""
    codes = list(city.frame["adcode"])
    core_idx = [i for i, c in enumerate(codes) if c in set(core)]
    outer_idx = [i for i in range(len(codes)) if i not in core_idx]
    z, hover, colours = _traces(codes, {r["district"]: r for r in risk}, lang)
    patch = Patch()
    patch["data"][0]["z"] = z
    patch["data"][0]["customdata"] = hover
    if core_idx:
        patch["data"][1]["z"] = [z[i] for i in core_idx]
        patch["data"][1]["customdata"] = [hover[i] for i in core_idx]
        patch["data"][2]["textfont"]["color"] = [colours[i] for i in outer_idx]
        patch["data"][3]["textfont"]["color"] = [colours[i] for i in core_idx]
    else:
        patch["data"][1]["textfont"]["color"] = [colours[i] for i in outer_idx]
    if hotspots is not None:
        names = dict(zip(codes, city.frame["name_zh" if lang == "zh" else "name_en"], strict=True))
        first = 4 if core_idx else 2
        for index, within in ((first, None), (first + 1, set(core))) if core_idx else ((first, None),):
            for key, value in hotspot_values(hotspots, names, lang, vh_px, within).items():
                if key == "marker.size":
                    patch["data"][index]["marker"]["size"] = value
                else:
                    patch["data"][index][key] = value
    return patch


def map_legend(lang: str) -> html.Div:
    """The levels and "no data", in the map's colours."""
    items = [(level.value, level_name(level.value, lang)) for level in Level] + [
        (NO_DATA, t("no_data_legend", lang))
    ]
    return html.Div(
        className="map-legend",
        children=[
            html.Span(
                className=f"legend-item legend-{key}",
                children=[html.Span(className="swatch", style={"background": LEVEL_COLOURS[key]}), label],
            )
            for key, label in items
        ],
    )
