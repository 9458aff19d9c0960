"""The risk card: a district's level, score and what drives it. The one place that ranks drivers."""

from __future__ import annotations

from dash import html

from citybrain.dashboard.i18n import indicator_name, level_name


def top_drivers(row: dict, n: int = 3) -> list[tuple[str, float]]:
    """The sub-indicators that contribute most to a district's score, largest first (positive only)."""
    ranked = sorted(row["contributions"].items(), key=lambda kv: kv[1], reverse=True)
    return [(k, v) for k, v in ranked[:n] if v > 0]


def risk_card(row: dict, district_name: str, lang: str) -> html.Div:
    return html.Div(
        className=f"risk-item level-{row['level']}",
        children=[
            html.Div(
                className="risk-head",
                children=[
                    html.Span(district_name, className="risk-district"),
                    html.Span(
                        f"{level_name(row['level'], lang)} · {row['score']:.0f}", className="risk-level"
                    ),
                ],
            ),
            html.Ul(
                [html.Li(f"{indicator_name(k, lang)}  +{v:.0f}") for k, v in top_drivers(row)],
                className="risk-drivers",
            ),
        ],
    )
