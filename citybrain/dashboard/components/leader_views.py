"""What the leaders' pages show, built from readings: report tables and charts (no I/O, no callbacks),
so the page, its downloads and the tests read the same figures."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo

import plotly.graph_objects as go

from citybrain.dashboard.components.district_map import LEVEL_COLOURS
from citybrain.dashboard.components.report_table import Column, ReportTable
from citybrain.dashboard.components.risk_card import top_drivers
from citybrain.dashboard.i18n import category_name, floor_name, indicator_name, level_name, t
from citybrain.events import Level
from citybrain.store.leader import CaseFigures

RANK_BY = {
    "resolution": "fig_resolution",
    "on_time": "fig_on_time",
    "satisfaction": "fig_satisfaction",
}
# one colour per sub-indicator in the stacked chart (the config's order), distinct on a dark ground
INDICATOR_COLOURS = [
    "#4fc3f7",
    "#9575cd",
    "#26a69a",
    "#ff8a65",
    "#f06292",
    "#aed581",
    "#ffd54f",
    "#e57373",
    "#ba68c8",
    "#90a4ae",
]


def risk_table(
    rows: list[dict],
    names: dict[str, str],
    lang: str,
    query: str = "",
    instructions: dict | None = None,
) -> ReportTable:
    """Districts by level then score, highest first, with what drives each and their leaders'
    instructions open and overdue (``instructions``: per district, from ``store.instructions``); each name
    links to the district's page (``query``: the replayed moment, kept)."""
    ranked = sorted(rows, key=lambda r: (Level(r["level"]).rank, r["score"]), reverse=True)
    counts = instructions or {}
    return ReportTable(
        "district-risk",
        [
            Column("district", t("col_district_name", lang)),
            Column("level", t("col_level", lang)),
            Column("score", t("col_score", lang), "num"),
            Column("floor", t("col_floor", lang)),
            Column("drivers", t("col_drivers", lang)),
            Column("instr_open", t("col_instr_open", lang), "int"),
            Column("instr_overdue", t("col_instr_overdue", lang), "int"),
        ],
        [
            {
                "instr_open": counts.get(r["district"], {}).get("open", 0),
                "instr_overdue": counts.get(r["district"], {}).get("overdue", 0),
                "district": names.get(r["district"], r["district"]),
                "district_href": f"/district/{r['district']}{query}",
                "code": r["district"],
                "level": level_name(r["level"], lang),
                "score": r["score"],
                "floor": floor_name(r["floor"], lang) if r.get("floor") else "",
                "drivers": "，".join(f"{indicator_name(k, lang)} +{v:.0f}" for k, v in top_drivers(r))
                if lang == "zh"
                else ", ".join(f"{indicator_name(k, lang)} +{v:.0f}" for k, v in top_drivers(r)),
            }
            for r in ranked
        ],
        [f"level-{r['level']}" for r in ranked],
    )


def baseline_of(figures: CaseFigures, periods: int) -> dict:
    """A district's own baseline from the ``periods`` periods before: mean counts, pooled rates."""
    return {
        "received": figures.received / periods,
        "handled": figures.handled / periods,
        "resolution": figures.resolution_rate,
        "on_time": figures.on_time_rate,
        "satisfaction": figures.satisfaction_rate,
    }


def comparison_table(
    district: CaseFigures, city: CaseFigures, baseline: dict, open_d: dict, open_city: dict, lang: str
) -> ReportTable:
    """The period's case figures for the district, beside the city's and the district's baseline."""

    def row(key, kind, d, c, b):
        # the baseline's counts are means of several periods: one decimal
        base_kind = "num" if kind == "int" else kind
        return {
            "figure": t(key, lang),
            "key": key,
            "kind": kind,
            "district": d,
            "city": c,
            "baseline": b,
            "baseline_kind": base_kind,
        }

    rows = [
        row("fig_received", "int", district.received, city.received, baseline["received"]),
        row("fig_handled", "int", district.handled, city.handled, baseline["handled"]),
        row("fig_resolution", "pct", district.resolution_rate, city.resolution_rate, baseline["resolution"]),
        row("fig_on_time", "pct", district.on_time_rate, city.on_time_rate, baseline["on_time"]),
        row(
            "fig_satisfaction",
            "pct",
            district.satisfaction_rate,
            city.satisfaction_rate,
            baseline["satisfaction"],
        ),
        row("fig_overdue", "int", open_d.get("overdue", 0), open_city.get("overdue", 0), None),
        row(
            "fig_open_emergencies",
            "int",
            open_d.get("open_emergencies", 0),
            open_city.get("open_emergencies", 0),
            None,
        ),
    ]
    return ReportTable(
        "district-cases",
        [
            Column("figure", t("col_figure", lang)),
            Column("district", t("col_this_district", lang), "mixed"),
            Column("city", t("col_city", lang), "mixed"),
            Column("baseline", t("col_baseline", lang), "mixed"),
        ],
        rows,
    )


def categories_table(categories: list[tuple[str, CaseFigures]], lang: str, limit: int = 10) -> ReportTable:
    received = sum(f.received for _, f in categories) or 1
    return ReportTable(
        "district-categories",
        [
            Column("rank", t("col_rank", lang), "int"),
            Column("category", t("col_category", lang)),
            Column("received", t("fig_received", lang), "int"),
            Column("share", t("col_share", lang), "pct"),
            Column("handled", t("fig_handled", lang), "int"),
            Column("satisfaction", t("fig_satisfaction", lang), "pct"),
        ],
        [
            {
                "rank": i,
                "category": category_name(c, lang),
                "received": f.received,
                "share": f.received / received,
                "handled": f.handled,
                "satisfaction": f.satisfaction_rate,
            }
            for i, (c, f) in enumerate(categories[:limit], 1)
            if f.received or f.handled
        ],
    )


def alerts_table(
    alerts: list[dict], names: dict[str, str], titles: list[str], tz: tzinfo, lang: str
) -> ReportTable:
    return ReportTable(
        "district-alerts",
        [
            Column("state", t("col_alert_state", lang)),
            Column("severity", t("col_severity", lang)),
            Column("title", t("col_alert", lang)),
            Column("opened", t("col_opened", lang)),
            Column("resolved", t("col_resolved_at", lang)),
        ],
        [
            {
                "state": t("alert_open_then" if a["open_then"] else "alert_resolved_then", lang),
                "severity": t(f"sev_{a['severity']}", lang),
                "title": title,
                "opened": f"{a['opened_at'].astimezone(tz):%m-%d %H:%M}",
                "resolved": f"{a['resolved_at'].astimezone(tz):%m-%d %H:%M}" if a["resolved_at"] else "",
            }
            for a, title in zip(alerts, titles, strict=True)
        ],
        ["alert-open" if a["open_then"] else "alert-done" for a in alerts],
    )


def _rate_of(f: CaseFigures, by: str, unit: bool) -> float | None:
    if by == "resolution":
        return f.unit_resolution_rate if unit else f.resolution_rate
    return f.on_time_rate if by == "on_time" else f.satisfaction_rate


def ranking(figures: dict[str, CaseFigures], by: str, unit: bool = False) -> list[tuple[str, CaseFigures]]:
    """Best first by ``by`` (resolution, on_time, satisfaction); ties by volume; no figure last."""
    if by not in RANK_BY:
        raise ValueError(f"rank by one of {', '.join(RANK_BY)}, not {by!r}")

    def key(item):
        name, f = item
        value = _rate_of(f, by, unit)
        return (value is None, -(value or 0.0), -(f.assigned if unit else f.received), name)

    return sorted(figures.items(), key=key)


def ranking_table(
    figures: dict[str, CaseFigures], by: str, names: dict[str, str], lang: str, unit: bool = False
) -> ReportTable:
    volume = (
        Column("assigned", t("col_assigned", lang), "int")
        if unit
        else Column("received", t("fig_received", lang), "int")
    )
    return ReportTable(
        "units-ranked" if unit else "districts-ranked",
        [
            Column("rank", t("col_rank", lang), "int"),
            Column("name", t("col_unit" if unit else "col_district_name", lang)),
            volume,
            Column("handled", t("fig_handled", lang), "int"),
            Column("resolution", t("fig_resolution", lang), "pct"),
            Column("on_time", t("fig_on_time", lang), "pct"),
            Column("satisfaction", t("fig_satisfaction", lang), "pct"),
        ],
        [
            {
                "rank": i,
                "name": names.get(key, key),
                "code": key,
                "received": f.received,
                "assigned": f.assigned,
                "handled": f.handled,
                "resolution": f.unit_resolution_rate if unit else f.resolution_rate,
                "on_time": f.on_time_rate,
                "satisfaction": f.satisfaction_rate,
            }
            for i, (key, f) in enumerate(ranking(figures, by, unit), 1)
        ],
    )


def report_table(periods: Iterable[tuple[str, CaseFigures]], lang: str) -> ReportTable:
    """The figures a leader reports upward: one row per period."""
    return ReportTable(
        "city-cases-report",
        [
            Column("period", t("col_period", lang)),
            Column("received", t("fig_received", lang), "int"),
            Column("handled", t("fig_handled", lang), "int"),
            Column("resolution", t("fig_resolution", lang), "pct"),
            Column("on_time", t("fig_on_time", lang), "pct"),
            Column("satisfaction", t("fig_satisfaction", lang), "pct"),
            Column("emergencies", t("fig_emergencies", lang), "int"),
        ],
        [
            {
                "period": t(f"period_{name}", lang),
                "received": f.received,
                "handled": f.handled,
                "resolution": f.resolution_rate,
                "on_time": f.on_time_rate,
                "satisfaction": f.satisfaction_rate,
                "emergencies": f.emergencies,
            }
            for name, f in periods
        ],
    )


# The window's size into a page's store when it changed. Compared with the store itself (not a global
# like the wall's), so a page reached by navigation gets the size too.
VIEWPORT_JS = """function (_n, current) {
  var h = window.innerHeight, w = window.innerWidth;
  if (current && current.h === h && current.w === w) { return window.dash_clientside.no_update; }
  return {h: h, w: w};
}"""


def font_px(viewport: dict | None) -> int:
    """Chart text from the window's height (1.6 %: 17 px at 1080p, 35 px at 4K), as the page's rem sizes
    follow its width: a 4K screen shows the same chart twice as large."""
    height = (viewport or {}).get("h") or 1080
    return max(12, round(height * 0.016))


def _dark_layout(fig: go.Figure, font_px: int) -> go.Figure:
    fig.update_layout(
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font=dict(color="#e3f2fd", size=font_px),
        margin=dict(l=10, r=10, t=10, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0, font=dict(size=font_px)),
        hovermode="x unified",
    )
    fig.update_xaxes(gridcolor="#1e3a5c", automargin=True)
    fig.update_yaxes(gridcolor="#1e3a5c", automargin=True, rangemode="tozero")
    return fig


def contributions_figure(
    series: list[dict],
    indicators: list[str],
    level_lines: dict[str, float],
    tz: tzinfo,
    lang: str,
    font_px: int = 16,
) -> go.Figure:
    """Each sub-indicator's contribution stacked over time, the score as a line on top, and the score at
    which each warning level starts (``level_lines``: level → score) dotted in its colour."""
    x = [r["t"].astimezone(tz).replace(tzinfo=None) for r in series]
    fig = go.Figure()
    for i, key in enumerate(indicators):
        ys = [r["contributions"].get(key, 0.0) for r in series]
        if not any(ys):
            continue
        fig.add_trace(
            go.Scatter(
                x=x,
                y=ys,
                name=indicator_name(key, lang),
                stackgroup="contributions",
                mode="lines",
                line=dict(width=0.5, color=INDICATOR_COLOURS[i % len(INDICATOR_COLOURS)]),
                hovertemplate="%{y:.1f}",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[r["score"] for r in series],
            name=t("score", lang),
            mode="lines",
            line=dict(color="#ffffff", width=2),
            hovertemplate="%{y:.1f}",
        )
    )
    for level, score in level_lines.items():
        fig.add_hline(y=score, line=dict(color=LEVEL_COLOURS[level], width=1, dash="dot"))
    fig.update_yaxes(range=[0, 100])
    return _dark_layout(fig, font_px)


def trend_figure(trend: list[dict], tz: tzinfo, lang: str, daily: bool, font_px: int = 16) -> go.Figure:
    """Received and handled per bucket (bars), on-time and satisfaction rates (lines, right axis)."""
    x = [r["bucket"].astimezone(tz).replace(tzinfo=None) for r in trend]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(x=x, y=[r["received"] for r in trend], name=t("fig_received", lang), marker_color="#4fc3f7")
    )
    fig.add_trace(
        go.Bar(x=x, y=[r["handled"] for r in trend], name=t("fig_handled", lang), marker_color="#81c784")
    )
    for key, name, colour in (
        ("on_time", "fig_on_time", "#ffd54f"),
        ("satisfied", "fig_satisfaction", "#f06292"),
    ):
        whole = "handled" if key == "on_time" else "rated"
        fig.add_trace(
            go.Scatter(
                x=x,
                y=[r[key] / r[whole] * 100 if r[whole] else None for r in trend],
                name=t(name, lang) + " %",
                mode="lines+markers",
                yaxis="y2",
                line=dict(color=colour, width=2),
                connectgaps=True,
            )
        )
    fig.update_layout(
        barmode="group",
        yaxis2=dict(overlaying="y", side="right", range=[0, 105], showgrid=False, ticksuffix="%"),
    )
    if daily:
        fig.update_xaxes(tickformat="%m-%d", dtick=86_400_000)  # one tick a day, never two
    else:
        fig.update_xaxes(tickformat="%H:%M")
    return _dark_layout(fig, font_px)


def local_stamp(moment: datetime, tz: tzinfo) -> str:
    return f"{moment.astimezone(tz):%Y%m%d-%H%M}"
