"""The alert table: the duty queue in a data grid (dash-ag-grid), worst and oldest first.

Rows are built here from the alert queue, in the UI language: the title is
written from the rule and the alert's labels (district names, never codes or
device ids), ages and countdowns are computed in the browser every second
from epoch times (``assets/dashAgGridFunctions.js``), so they tick between
refreshes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime, timedelta

import dash
import dash_ag_grid as dag

from citybrain.alerts.engine import MAX_ESCALATION
from citybrain.dashboard.clock import epoch_ms
from citybrain.dashboard.context import Context
from citybrain.dashboard.i18n import ALERT_TITLES, hotspot_group, lang_of, level_name, sensor_kind, t

SEVERITY_RANK = {"critical": 0, "major": 1, "minor": 2, "warning": 3}
GRID_THEME = (
    "themeQuartz.withParams({backgroundColor: '#0b1d30', foregroundColor: '#e3f2fd',"
    " headerBackgroundColor: '#12304d', headerTextColor: '#b3e5fc', accentColor: '#4fc3f7',"
    " borderColor: '#1e3a5c', oddRowBackgroundColor: '#0d2238', fontFamily: 'inherit',"
    " fontSize: 'var(--grid-font)', headerFontSize: 'var(--grid-font)', rowBorder: true,"
    " selectedRowBackgroundColor: '#1d4f7a', rowHeight: 'calc(var(--grid-font) * 2.2)',"
    " headerHeight: 'calc(var(--grid-font) * 2.2)'})"
)


def unless_unchanged(rows: list[dict], seen: str | None) -> tuple[list[dict] | object, str | object]:
    """``(rows, digest)`` to send to a grid and its digest store, or ``no_update`` for both when a refresh
    found the same rows as the grid shows.

    A grid that is sent new rows re-applies the selection the server knows and ignores clicks meanwhile
    (dash-ag-grid pauses selection events while it does), so an officer's click that lands as a refresh
    arrives could be lost; a refresh that changes nothing sends nothing and leaves the grid alone.
    """
    text = json.dumps(rows, sort_keys=True, default=str)
    digest = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
    if digest == seen:
        return dash.no_update, dash.no_update
    return rows, digest


def alert_title(row: dict, ctx: Context, lang: str) -> str:
    """The alert's title in ``lang``, from its rule type and labels; the stored title when unknown."""
    lang = lang_of(lang)
    rule = ctx.rule(row["rule_id"])
    labels = row.get("labels") or {}
    key = rule.type if rule else None
    if key == "no_data":
        key = f"no_data_{rule.scope}"
    template = ALERT_TITLES.get(key or "", {}).get(lang)
    if template is None:
        return row["title"]
    value = row.get("value") or 0.0
    fields = {
        "district": ctx.district_name(row.get("district"), lang) or "",
        "value": value,
        "minutes": value / 60.0,
        "level": level_name(rule.min_level, lang) if key == "risk_level" else "",
        "kind": sensor_kind(labels.get("kind"), lang),
        "limit": getattr(rule, "above", 0.0) or 0.0,
        "category": labels.get("category", ""),
        "job": labels.get("job", ""),
        "group": hotspot_group(labels.get("group"), lang),
        "count": labels.get("count", f"{value:.0f}"),
        "radius": labels.get("radius_m", ""),
    }
    try:
        return template.format(**fields)
    except (KeyError, ValueError):
        return row["title"]


def next_escalation(row: dict, ctx: Context) -> datetime | None:
    """When the engine escalates this alert next, if it will (active, unacknowledged, below the top level)."""
    rule = ctx.rule(row["rule_id"])
    if (
        rule is None
        or row["acknowledged"]
        or row["resolved"]
        or row["status"] != "active"
        or row["escalation_level"] >= MAX_ESCALATION
    ):
        return None
    return row["opened_at"] + timedelta(seconds=rule.escalate_after_s * (row["escalation_level"] + 1))


def state_label(row: dict, lang: str) -> str:
    parts = [t("state_acked" if row["acknowledged"] else "state_unacked", lang)]
    if row["status"] == "cleared":
        parts.append(t("state_cleared", lang))
    if row.get("muted"):
        parts.append(t(f"muted_{row['muted']}", lang))
    return " · ".join(parts)


def queue_rows(alerts: Iterable[dict], ctx: Context, lang: str, names: dict[str, str]) -> list[dict]:
    """Grid rows, critical first, then oldest first. ``names`` maps user names to display names."""
    rows = []
    for a in sorted(alerts, key=lambda a: (SEVERITY_RANK.get(a["severity"], 9), a["opened_at"])):
        rows.append(
            {
                "id": a["id"],
                "severity": a["severity"],
                "severity_label": t(f"sev_{a['severity']}", lang),
                "title": alert_title(a, ctx, lang),
                "district": ctx.district_name(a.get("district"), lang),
                "district_code": a.get("district"),
                "state": state_label(a, lang),
                "status": a["status"],
                "acknowledged": a["acknowledged"],
                "muted": a.get("muted"),
                "assignee": names.get(a["assignee"], a["assignee"]) if a.get("assignee") else "",
                "assignee_user": a.get("assignee"),
                "opened_ms": epoch_ms(a["opened_at"]),
                "opened": f"{ctx.local(a['opened_at']):%m-%d %H:%M}",
                "escalation_level": a["escalation_level"],
                "next_escalation_ms": epoch_ms(next_escalation(a, ctx)),
                "escalation_max": a["escalation_level"] >= MAX_ESCALATION,
                "hotspot": (a.get("labels") or {}).get("hotspot"),
                "hotspot_districts": [
                    ctx.district_name(d, lang)
                    for d in ((a.get("labels") or {}).get("districts") or "").split(",")
                    if d
                ],
            }
        )
    return rows


def filter_rows(
    rows: list[dict],
    district: str | None,
    severity: str | None,
    state: str | None,
    mine: bool,
    muted: bool,
    me: str | None,
) -> list[dict]:
    out = []
    for r in rows:
        if district and r["district_code"] != district:
            continue
        if severity and r["severity"] != severity:
            continue
        if state == "unacked" and r["acknowledged"] or state == "acked" and not r["acknowledged"]:
            continue
        if state in ("active", "cleared") and r["status"] != state:
            continue
        if mine and r["assignee_user"] != me:
            continue
        if r["muted"] and not muted:
            continue
        out.append(r)
    return out


def alert_grid(grid_id: str, lang: str, rows: list[dict] | None = None) -> dag.AgGrid:
    columns = [
        {
            "field": "severity_label",
            "headerName": t("col_severity", lang),
            "flex": 1.3,
            "minWidth": 105,
            "cellClass": {"function": "'sev sev-' + params.data.severity"},
        },
        {
            "field": "title",
            "headerName": t("col_title", lang),
            "flex": 3.6,
            "minWidth": 240,
            "tooltipField": "title",
        },
        {"field": "district", "headerName": t("col_district", lang), "flex": 1.3, "minWidth": 100},
        {"field": "state", "headerName": t("col_state", lang), "flex": 1.4, "minWidth": 120},
        {"field": "assignee", "headerName": t("col_assignee", lang), "flex": 1.1, "minWidth": 90},
        {
            "colId": "age",
            "headerName": t("col_age", lang),
            "flex": 1,
            "minWidth": 90,
            "valueGetter": {"function": "citybrainAge(params.data.opened_ms)"},
        },
        {"field": "escalation_level", "headerName": t("col_escalation", lang), "flex": 0.8, "minWidth": 75},
        {
            "colId": "next",
            "headerName": t("col_next_escalation", lang),
            "flex": 1.4,
            "minWidth": 130,
            "valueGetter": {"function": f"citybrainCountdown(params.data, {t('max_escalation', lang)!r})"},
            "cellClassRules": {"countdown-soon": "citybrainSoon(params.data.next_escalation_ms, 60000)"},
        },
    ]
    return dag.AgGrid(
        id=grid_id,
        className="alert-grid",
        columnDefs=columns,
        rowData=rows or [],
        getRowId="params.data.id",
        defaultColDef={"sortable": True, "resizable": True, "suppressMovable": True},
        rowClassRules={
            "row-critical": "params.data.severity === 'critical'",
            "row-unacked": "!params.data.acknowledged",
            "row-muted": "!!params.data.muted",
        },
        dashGridOptions={
            "theme": {"function": GRID_THEME},
            "rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
            "localeText": {"noRowsToShow": t("no_alerts", lang)},
            "animateRows": False,
            "suppressCellFocus": True,
        },
        style={"height": "100%", "width": "100%"},
    )
