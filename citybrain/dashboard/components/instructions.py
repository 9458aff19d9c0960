"""Leaders' instructions (批示) on the duty console: the open instructions in a grid with their deadline
ticking (overdue in red), the selected alert's instructions beside its history, the form a leader
instructs with (on the selected alert or the selected case), and the note an officer completes one with.

The panel lives with the console that shows it (``register`` wires its callbacks to the console's queue,
cases grid and tick). Leaders and admins instruct, officers and admins complete: each callback checks the
role on the server, and the service checks the account again.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dash
import dash_ag_grid as dag
from dash import Input, Output, State, dcc, html
from dash import ctx as callback_ctx
from flask_login import current_user

from citybrain.accounts import DUTY_ACTORS, DUTY_READERS
from citybrain.alerts.instructions import INSTRUCTORS
from citybrain.alerts.service import AlertError, Conflict
from citybrain.dashboard import auth
from citybrain.dashboard.clock import epoch_ms
from citybrain.dashboard.components.alert_table import GRID_THEME, unless_unchanged
from citybrain.dashboard.context import Context, context
from citybrain.dashboard.i18n import t
from citybrain.store import instructions as instruction_store

GRID = "duty-instructions"
SUMMARY = "duty-instructions-summary"
FOR_ALERT = "duty-alert-instructions"
MESSAGE = "duty-instr-message"
CHANGED = "duty-instr-changed"
SEEN = "duty-instr-seen"  # a digest of the rows the grid shows
BODY, UNIT, HOURS = "duty-instr-body", "duty-instr-unit", "duty-instr-hours"
ON_ALERT, ON_CASE = "duty-instr-on-alert", "duty-instr-on-case"
NOTE, DONE = "duty-instr-note", "duty-instr-done"
DEFAULT_HOURS = 4


def _duration(seconds: float) -> str:
    s = int(abs(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def target(row: dict, lang: str) -> str:
    if row["alert_id"] is not None:
        return t("instr_on_alert", lang).format(id=row["alert_id"])
    return t("instr_on_case", lang).format(id=row["case_id"])


def grid_rows(rows: list[dict], ctx: Context, lang: str, names: dict[str, str]) -> list[dict]:
    """Open instructions for the grid; the time left is computed in the browser from ``deadline_ms``."""
    return [
        {
            "id": r["id"],
            "target": target(r, lang),
            "district": ctx.district_name(r["district"], lang),
            "body": r["body"],
            "unit": r["unit"],
            "by": names.get(r["created_by"], r["created_by"]),
            "deadline": f"{ctx.local(r['deadline']):%m-%d %H:%M}",
            "deadline_ms": epoch_ms(r["deadline"]),
        }
        for r in rows
    ]


def alert_items(rows: list[dict], ctx: Context, lang: str, names: dict[str, str], now: datetime) -> list:
    """One alert's open instructions, one line each with the time left (or how long overdue); completed
    ones are in the alert's history (批示办结, with the officer's note), which keeps the actions in view."""
    items = []
    for r in rows:
        if not r["open"]:
            continue
        who = names.get(r["created_by"], r["created_by"])
        left = (r["deadline"] - now).total_seconds()
        clock = (
            t("instr_left", lang).format(d=_duration(left))
            if left >= 0
            else t("instr_overdue", lang).format(d=_duration(left))
        )
        due = t("instr_due", lang).format(at=f"{ctx.local(r['deadline']):%H:%M}")
        items.append(
            html.Li(
                className="instr-item open overdue-item" if left < 0 else "instr-item open",
                title=f"{who}：{r['body']} → {r['unit']}",
                children=[
                    html.Div(
                        [
                            html.Span(t("instr_chip", lang), className="instr-chip"),
                            html.B(f"{who}："),
                            r["body"],
                        ],
                        className="instr-body",
                    ),
                    html.Div(
                        [
                            f"→ {r['unit']} · {due} · ",
                            html.Span(clock, className="instr-clock overdue" if left < 0 else "instr-clock"),
                        ],
                        className="instr-meta",
                    ),
                ],
            )
        )
    return [html.Ul(items, className="instr-list")] if items else []


def _grid(lang: str) -> dag.AgGrid:
    columns = [
        {
            "colId": "left",
            "headerName": t("col_time_left", lang),
            "flex": 1.1,
            "minWidth": 110,
            "valueGetter": {
                "function": f"citybrainTimeLeft(params.data.deadline_ms, {t('overdue', lang)!r})"
            },
            "cellClassRules": {"overdue": "citybrainPast(params.data.deadline_ms)"},
        },
        {"field": "target", "headerName": t("col_instr_target", lang), "flex": 1.2, "minWidth": 110},
        {"field": "district", "headerName": t("col_district", lang), "flex": 0.8, "minWidth": 80},
        {"field": "body", "headerName": t("col_instr_body", lang), "flex": 2.2, "minWidth": 160},
        {"field": "unit", "headerName": t("col_instr_unit", lang), "flex": 1.4, "minWidth": 110},
        {"field": "by", "headerName": t("col_instr_by", lang), "flex": 0.8, "minWidth": 70},
    ]
    return dag.AgGrid(
        id=GRID,
        className="cases-grid instructions-grid",
        columnDefs=columns,
        rowData=[],
        getRowId="params.data.id",
        defaultColDef={"sortable": True, "resizable": True, "suppressMovable": True, "tooltipField": "body"},
        rowClassRules={"row-overdue": "citybrainPast(params.data.deadline_ms)"},
        dashGridOptions={
            "theme": {"function": GRID_THEME},
            "animateRows": False,
            "suppressCellFocus": True,
            "rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
        },
        style={"height": "100%", "width": "100%"},
    )


def panel(lang: str) -> html.Section:
    """The open instructions, and (for officers and admins) completing the selected one with a note."""
    complete = (
        html.Div(
            className="action-row instr-complete",
            children=[
                dcc.Input(id=NOTE, placeholder=t("instr_note_ph", lang), className="text"),
                html.Button(t("act_instr_done", lang), id=DONE, className="btn resolve"),
            ],
        )
        if auth.allowed(DUTY_ACTORS)
        else None
    )
    return html.Section(
        className="instructions-panel",
        children=[
            dcc.Store(id=CHANGED),
            dcc.Store(id=SEEN),
            html.Div(
                className="instr-head",
                children=[
                    html.H2(
                        [t("instr_title", lang), html.Span(id=SUMMARY, className="count")],
                        className="panel-title",
                    ),
                    complete,
                ],
            ),
            html.Div(_grid(lang), className="grid-box"),
            html.Div(id=MESSAGE, className="instr-message", role="status"),
        ],
    )


def form(lang: str) -> html.Div | None:
    """A leader's instruction on the selected alert or case (leaders and admins only)."""
    if not auth.allowed(INSTRUCTORS):
        return None
    return html.Div(
        className="duty-actions instr-form",
        children=[
            dcc.Textarea(id=BODY, placeholder=t("instr_body_ph", lang), className="instr-text"),
            html.Div(
                className="action-row",
                children=[
                    dcc.Input(id=UNIT, placeholder=t("instr_unit_ph", lang), className="text"),
                    dcc.Input(
                        id=HOURS,
                        type="number",
                        min=0.25,
                        max=720,
                        step=0.25,
                        value=DEFAULT_HOURS,
                        className="minutes",
                        placeholder=t("instr_hours", lang),
                    ),
                    html.Span(t("instr_hours_unit", lang), className="instr-hours-unit"),
                ],
            ),
            html.Div(
                className="action-row",
                children=[
                    html.Button(t("act_instr_alert", lang), id=ON_ALERT, className="btn primary"),
                    html.Button(t("act_instr_case", lang), id=ON_CASE, className="btn"),
                ],
            ),
        ],
    )


def _names(ctx: Context) -> dict[str, str]:
    return {u["username"]: u["display_name"] for u in ctx.sources.accounts.read().value or []}


def _changed(ctx: Context) -> None:
    for reader in (
        ctx.sources.instructions,
        ctx.sources.alert_instructions,
        ctx.sources.instruction_counts,
        ctx.sources.alert_history,
    ):
        reader.invalidate()


def register(queue: str, cases: str, tick: str, district: str) -> None:
    """Wire the panel to the console's alert queue, cases grid, refresh tick and district filter (which
    narrows the instructions and their counts to that district)."""

    @auth.secure_callback(
        DUTY_READERS,
        Output(GRID, "rowData"),
        Output(SUMMARY, "children"),
        Output(SEEN, "data"),
        Input(tick, "n_intervals"),
        Input(CHANGED, "data"),
        Input(district, "value"),
        State(SEEN, "data"),
    )
    def refresh(_n, _changed_data, only, seen):
        ctx = context()
        lang = auth.current_lang()
        rows = ctx.sources.instructions.read().value or []
        if only:
            rows = [r for r in rows if r["district"] == only]
        counts = (ctx.sources.instruction_counts.read().value or {}).get(only, {"open": 0, "overdue": 0})
        summary = t("instr_summary", lang).format(**counts)
        if only:
            summary = f"{ctx.district_name(only, lang)} · {summary}"
        shown, seen = unless_unchanged(grid_rows(rows, ctx, lang, _names(ctx)), seen)
        return shown, f" {summary}", seen

    @auth.secure_callback(
        DUTY_READERS,
        Output(FOR_ALERT, "children"),
        Input(queue, "selectedRows"),
        Input(tick, "n_intervals"),
        Input(CHANGED, "data"),
    )
    def for_alert(selected, _n, _changed_data):
        if not selected:
            return []
        ctx = context()
        lang = auth.current_lang()
        rows = ctx.sources.alert_instructions.read(key=int(selected[0]["id"])).value or []
        return alert_items(rows, ctx, lang, _names(ctx), datetime.now(UTC))

    @auth.secure_callback(
        INSTRUCTORS,
        Output(MESSAGE, "children", allow_duplicate=True),
        Output(MESSAGE, "className", allow_duplicate=True),
        Output(CHANGED, "data", allow_duplicate=True),
        Input(ON_ALERT, "n_clicks"),
        Input(ON_CASE, "n_clicks"),
        State(queue, "selectedRows"),
        State(cases, "selectedRows"),
        State(BODY, "value"),
        State(UNIT, "value"),
        State(HOURS, "value"),
        prevent_initial_call=True,
    )
    def instruct(on_alert, on_case, alerts, case_rows, body, unit, hours):
        ctx = context()
        lang = auth.current_lang()
        button = callback_ctx.triggered_id
        if button == ON_ALERT and not alerts:
            return t("select_alert", lang), "instr-message warn", dash.no_update
        if button == ON_CASE and not case_rows:
            return t("select_case", lang), "instr-message warn", dash.no_update
        if not (body or "").strip() or not (unit or "").strip():
            return t("need_instr", lang), "instr-message warn", dash.no_update
        if not hours or float(hours) <= 0:
            return t("need_hours", lang), "instr-message warn", dash.no_update
        where = (
            {"alert_id": int(alerts[0]["id"])} if button == ON_ALERT else {"case_id": case_rows[0]["case_id"]}
        )
        try:
            row = ctx.instructions.give(current_user.username, body, unit, float(hours), **where)
        except AlertError as exc:
            return t("action_failed", lang).format(why=str(exc)), "instr-message warn", dash.no_update
        _changed(ctx)
        return (
            t("done_instr", lang),
            "instr-message ok",
            {"given": row["id"], "clicks": (on_alert or 0, on_case)},
        )

    @auth.secure_callback(
        DUTY_ACTORS,
        Output(MESSAGE, "children", allow_duplicate=True),
        Output(MESSAGE, "className", allow_duplicate=True),
        Output(CHANGED, "data", allow_duplicate=True),
        Input(DONE, "n_clicks"),
        State(GRID, "selectedRows"),
        State(NOTE, "value"),
        prevent_initial_call=True,
    )
    def complete(clicks, selected, note):
        ctx = context()
        lang = auth.current_lang()
        if not selected:
            return t("select_instr", lang), "instr-message warn", dash.no_update
        if not (note or "").strip():
            return t("need_instr_note", lang), "instr-message warn", dash.no_update
        instruction_id = int(selected[0]["id"])
        try:
            ctx.instructions.complete(instruction_id, current_user.username, note)
        except Conflict:
            with ctx.sources.connection() as conn:
                first = instruction_store.one(conn, instruction_id)
            message = t("conflict_instr", lang).format(
                who=_names(ctx).get(first["done_by"], first["done_by"]),
                at=f"{ctx.local(first['done_at']):%H:%M}",
            )
            _changed(ctx)
            return message, "instr-message conflict", {"conflict": instruction_id, "clicks": clicks}
        except AlertError as exc:
            return t("action_failed", lang).format(why=str(exc)), "instr-message warn", dash.no_update
        _changed(ctx)
        return t("done_instr_done", lang), "instr-message ok", {"done": instruction_id, "clicks": clicks}
