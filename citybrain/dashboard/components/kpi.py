"""A KPI tile: one figure and its label, red when it needs attention."""

from __future__ import annotations

from dash import html


def kpi_tile(label: str, value: str, alarm: bool = False, tile_id: str | None = None) -> html.Div:
    extra = {"id": tile_id} if tile_id else {}
    return html.Div(
        className="kpi alarm" if alarm else "kpi",
        **extra,
        children=[html.Div(value, className="kpi-value"), html.Div(label, className="kpi-label")],
    )
