"""The wall's rotating side panel: a playlist of panels, each paged, so nothing is ever cut off.

Which page shows is a function of the time (``slot_at``), so every screen of a control room shows the
same page at the same moment and no browser state is needed. A list longer than a page is split into
pages shown in turn, with "2/3" and "+6 more" on screen: a district is never silently hidden.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from dash import html

from citybrain.dashboard.components.alert_table import SEVERITY_RANK
from citybrain.dashboard.components.risk_card import top_drivers
from citybrain.dashboard.i18n import floor_name, indicator_name, level_name, t
from citybrain.dashboard.wall_config import Panel
from citybrain.events import Level

WALL_SEVERITIES = ("critical", "major", "minor", "warning")


@dataclass(frozen=True)
class Slot:
    panel: Panel
    page: int  # 0-based
    pages: int


def paginate(items: Sequence, per_page: int) -> list[list]:
    """``items`` in pages of ``per_page``; an empty list is one empty page (the panel still shows)."""
    if not items:
        return [[]]
    return [list(items[i : i + per_page]) for i in range(0, len(items), per_page)]


def rotation(playlist: Sequence[Panel], page_counts: dict[Panel, int]) -> list[Slot]:
    """Every page of every panel, in playlist order."""
    return [Slot(p, i, page_counts.get(p, 1)) for p in playlist for i in range(page_counts.get(p, 1))]


def slot_at(now: datetime, rotate_s: float, slots: Sequence[Slot]) -> Slot:
    return slots[math.floor(now.timestamp() / rotate_s) % len(slots)]


def warned(risk: list[dict]) -> list[dict]:
    """Districts with a warning (blue IV and above), worst first."""
    return sorted(
        (r for r in risk if Level(r["level"]).is_warning),
        key=lambda r: (Level(r["level"]).rank, r["score"]),
        reverse=True,
    )


def wall_alerts(alerts: list[dict]) -> list[dict]:
    """What the wall lists: active alerts and cleared ones nobody has acknowledged yet, not muted ones;
    critical first, then the newest."""
    shown = [
        a
        for a in alerts
        if not a.get("muted") and not a["resolved"] and (a["status"] == "active" or not a["acknowledged"])
    ]
    return sorted(shown, key=lambda a: (SEVERITY_RANK.get(a["severity"], 9), -a["opened_at"].timestamp()))


def panel_frame(title: str, slot: Slot, hidden: int, lang: str, body: list) -> html.Div:
    """The panel with its title, "page/pages" and how many items the other pages hold."""
    counter = [html.Span(f"{slot.page + 1}/{slot.pages}", className="page-counter")] if slot.pages > 1 else []
    more = [html.Span(t("more", lang).format(n=hidden), className="more")] if hidden else []
    return html.Div(
        className=f"wall-panel panel-{slot.panel.value}",
        children=[
            html.Div(
                className="wall-panel-head",
                children=[html.H2(title, className="panel-title"), *more, *counter],
            ),
            html.Div(body, className="wall-panel-body"),
        ],
    )


def risk_rows(rows: list[dict], names: dict[str, str], lang: str) -> list:
    if not rows:
        return [html.Div(t("all_clear", lang), className="all-clear")]
    out = []
    for r in rows:
        why = []
        if r.get("floor"):
            why.append(
                html.Span(
                    t("floor_reason", lang).format(floor=floor_name(r["floor"], lang)), className="floor"
                )
            )
        why += [html.Span(f"{indicator_name(k, lang)} +{v:.0f}") for k, v in top_drivers(r, 2)]
        out.append(
            html.Div(
                className=f"risk-item level-{r['level']}",
                children=[
                    html.Div(
                        className="risk-head",
                        children=[
                            html.Span(names.get(r["district"], r["district"]), className="risk-district"),
                            html.Span(
                                f"{level_name(r['level'], lang)} · {r['score']:.0f}", className="risk-level"
                            ),
                        ],
                    ),
                    html.Div(why, className="risk-drivers"),
                ],
            )
        )
    return out


def alert_rows(rows: list[dict], titles: list[str], names: dict[str, str], now: datetime, lang: str) -> list:
    if not rows:
        return [html.Div(t("no_active_alerts", lang), className="all-clear")]
    out = []
    for a, title in zip(rows, titles, strict=True):
        minutes = max(0, int((now - a["opened_at"]).total_seconds() // 60))
        state = (
            [html.Span(t("cleared_unacked", lang), className="alert-state")]
            if a["status"] == "cleared"
            else []
        )
        out.append(
            html.Div(
                className=f"wall-alert sev-{a['severity']}",
                children=[
                    html.Div(
                        className="alert-line",
                        children=[
                            html.Span(t(f"sev_{a['severity']}", lang), className="sev-chip"),
                            html.Span(title, className="alert-title"),
                        ],
                    ),
                    html.Div(
                        className="alert-meta",
                        children=[
                            html.Span(names.get(a.get("district") or "", "")),
                            html.Span(t("minutes_ago", lang).format(m=minutes), className="alert-age"),
                            *state,
                        ],
                    ),
                ],
            )
        )
    return out


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"


def case_rows(rows: list, names: dict[str, str], lang: str) -> list:
    """``rows``: CaseKpis per district (district None = the city, listed first)."""
    head = html.Tr(
        [html.Th("")]
        + [html.Th(t(k, lang)) for k in ("col_received", "col_resolved", "col_satisfaction", "col_overdue")]
    )
    body = [
        html.Tr(
            className="city-row" if k.district is None else ("overdue" if k.overdue else ""),
            children=[
                html.Td(t("city_total", lang) if k.district is None else names.get(k.district, k.district)),
                html.Td(f"{k.opened:,}"),
                html.Td(_pct(k.resolution_rate)),
                html.Td(_pct(k.satisfaction_rate)),
                html.Td(f"{k.overdue:,}", className="bad" if k.overdue else ""),
            ],
        )
        for k in rows
    ]
    return [html.Table([html.Thead(head), html.Tbody(body)], className="wall-table")]


def video_rows(rows: list[dict], names: dict[str, str], lang: str) -> list:
    head = html.Tr(
        [html.Th("")] + [html.Th(t(k, lang)) for k in ("col_online", "col_offline", "col_reporting")]
    )
    body = []
    for r in rows:
        down = r["cameras_offline"] + r["cameras_fault"]
        total = r["cameras_online"] + down + r["cameras_unknown"]
        body.append(
            html.Tr(
                className="bad-row" if total and down / total > 0.1 else "",
                children=[
                    html.Td(names.get(r["district"], r["district"])),
                    html.Td(f"{r['cameras_online']:,}"),
                    html.Td(f"{down:,}", className="bad" if down else ""),
                    html.Td(f"{r['sensors_reporting']:,}/{r['sensors']:,}"),
                ],
            )
        )
    return [html.Table([html.Thead(head), html.Tbody(body)], className="wall-table")]


def video_order(rows: list[dict]) -> list[dict]:
    """Districts with the most video points down first."""
    return sorted(rows, key=lambda r: (-(r["cameras_offline"] + r["cameras_fault"]), r["district"]))


def case_order(kpis: dict) -> list:
    """The city first, then districts with overdue cases first, then by cases received."""
    city = [kpis[None]] if None in kpis else []
    return city + sorted((k for d, k in kpis.items() if d is not None), key=lambda k: (-k.overdue, -k.opened))
