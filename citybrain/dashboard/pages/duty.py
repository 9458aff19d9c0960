"""The duty console (/duty): the alert queue with actions, one alert's history, open citizen cases
with their SLA clocks, and an alarm (flash and sound) while a critical alert is unacknowledged.

Officers and admins act; leaders read. Every action goes through the alerts service as the
signed-in user: nobody types a name.
"""

from __future__ import annotations

import dash
import dash_ag_grid as dag
from dash import ClientsideFunction, Input, Output, State, dcc, html
from dash import ctx as callback_ctx
from flask_login import current_user

from citybrain.accounts import DUTY_ACTORS, DUTY_READERS, Role
from citybrain.alerts.service import AlertError, Conflict
from citybrain.dashboard import auth, shell
from citybrain.dashboard.clock import epoch_ms
from citybrain.dashboard.components import instructions as instr
from citybrain.dashboard.components.alert_table import (
    GRID_THEME,
    alert_grid,
    filter_rows,
    queue_rows,
    unless_unchanged,
)
from citybrain.dashboard.context import Context, context
from citybrain.dashboard.i18n import STRINGS, action_name, category_name, hotspot_group, t
from citybrain.store import duty as duty_store

TICK = "duty-tick"
SECOND = "duty-second"
QUEUE = "duty-queue"
QUEUE_COUNT = "duty-queue-count"
CASES = "duty-cases"
CASES_SUMMARY = "duty-cases-summary"
QUEUE_SEEN, CASES_SEEN = "duty-queue-seen", "duty-cases-seen"  # digests of the rows each grid shows
F_DISTRICT, F_SEVERITY, F_STATE, F_FLAGS = (
    "duty-f-district",
    "duty-f-severity",
    "duty-f-state",
    "duty-f-flags",
)
DETAIL = "duty-detail"
HISTORY = "duty-history"
MESSAGE = "duty-message"
DONE = "duty-done"
ALARM_IDS = "duty-alarm-ids"
ALARM = "duty-alarm"
AUDIO = "duty-alarm-audio"
SOUND = "duty-sound"
GRID_TICK = "duty-grid-tick"
ACK, ASSIGN, COMMENT, RESOLVE, SILENCE = (
    "duty-ack",
    "duty-assign",
    "duty-comment",
    "duty-resolve",
    "duty-silence",
)
ASSIGNEE, COMMENT_TEXT, NOTE = "duty-assignee", "duty-comment-text", "duty-note"
SILENCE_MINUTES, SILENCE_REASON, SILENCE_SCOPE = (
    "duty-silence-minutes",
    "duty-silence-reason",
    "duty-silence-scope",
)
SILENCE_MATCHERS, MATCHERS_ROW = "duty-silence-matchers", "duty-matchers-row"
ACTION_BUTTONS = (ACK, ASSIGN, COMMENT, RESOLVE, SILENCE)
ASSIGNABLE = frozenset({Role.OFFICER, Role.LEADER, Role.ADMIN})


def _names(ctx: Context) -> dict[str, str]:
    return {u["username"]: u["display_name"] for u in ctx.sources.accounts.read().value or []}


def _filters(ctx: Context, lang: str) -> html.Div:
    districts = [{"label": ctx.district_name(d.adcode, lang), "value": d.adcode} for d in ctx.city.districts]
    severities = [
        {"label": t(f"sev_{s}", lang), "value": s} for s in ("critical", "major", "minor", "warning")
    ]
    states = [{"label": t(f"state_{s}", lang), "value": s} for s in ("unacked", "acked", "active", "cleared")]
    return html.Div(
        className="duty-filters",
        children=[
            dcc.Dropdown(
                id=F_DISTRICT, options=districts, placeholder=t("filter_district", lang), className="filter"
            ),
            dcc.Dropdown(
                id=F_SEVERITY, options=severities, placeholder=t("filter_severity", lang), className="filter"
            ),
            dcc.Dropdown(id=F_STATE, options=states, placeholder=t("filter_state", lang), className="filter"),
            dcc.Checklist(
                id=F_FLAGS,
                className="filter-flags",
                inputClassName="flag-box",
                value=["muted"],
                options=[
                    {"label": t("filter_mine", lang), "value": "mine"},
                    {"label": t("filter_muted", lang), "value": "muted"},
                ],
            ),
        ],
    )


def _actions(ctx: Context, lang: str) -> html.Div:
    if not auth.allowed(DUTY_ACTORS):
        return html.Div(t("read_only", lang), className="read-only-note")
    people = [
        {"label": f"{u['display_name']} ({u['username']})", "value": u["username"]}
        for u in ctx.sources.accounts.read().value or []
        if not u["disabled"] and Role(u["role"]) in ASSIGNABLE
    ]
    return html.Div(
        className="duty-actions",
        children=[
            html.Div(
                className="action-row",
                children=[
                    html.Button(t("act_ack", lang), id=ACK, className="btn primary"),
                    dcc.Dropdown(
                        id=ASSIGNEE, options=people, placeholder=t("assign_to", lang), className="assignee"
                    ),
                    html.Button(t("act_assign", lang), id=ASSIGN, className="btn"),
                ],
            ),
            html.Div(
                className="action-row",
                children=[
                    dcc.Input(
                        id=COMMENT_TEXT, placeholder=t("comment_text", lang), className="text", debounce=False
                    ),
                    html.Button(t("act_comment", lang), id=COMMENT, className="btn"),
                ],
            ),
            html.Div(
                className="action-row",
                children=[
                    dcc.Input(id=NOTE, placeholder=t("resolve_note", lang), className="text"),
                    html.Button(t("act_resolve", lang), id=RESOLVE, className="btn resolve"),
                ],
            ),
            html.Div(
                className="action-row",
                children=[
                    dcc.Dropdown(
                        id=SILENCE_SCOPE,
                        clearable=False,
                        value="district",
                        className="scope",
                        options=[
                            {"label": t("silence_scope_district", lang), "value": "district"},
                            {"label": t("silence_scope_rule", lang), "value": "rule"},
                            {"label": t("silence_scope_custom", lang), "value": "custom"},
                        ],
                    ),
                    dcc.Input(
                        id=SILENCE_MINUTES,
                        type="number",
                        min=1,
                        max=24 * 60,
                        value=60,
                        className="minutes",
                        placeholder=t("silence_minutes", lang),
                    ),
                    dcc.Input(id=SILENCE_REASON, placeholder=t("silence_reason", lang), className="text"),
                    html.Button(t("act_silence", lang), id=SILENCE, className="btn"),
                ],
            ),
            html.Div(
                id=MATCHERS_ROW,
                className="action-row",
                style={"display": "none"},
                children=[
                    dcc.Input(
                        id=SILENCE_MATCHERS,
                        placeholder=t("silence_matchers", lang),
                        className="text matchers",
                    ),
                ],
            ),
        ],
    )


def _cases_grid(lang: str) -> dag.AgGrid:
    columns = [
        {"field": "urgency_label", "headerName": t("col_urgency", lang), "flex": 0.8, "minWidth": 80},
        {"field": "case_id", "headerName": t("col_case", lang), "flex": 1.4, "minWidth": 120},
        {"field": "district", "headerName": t("col_district", lang), "flex": 1, "minWidth": 90},
        {"field": "category", "headerName": t("col_category", lang), "flex": 1.2, "minWidth": 100},
        {"field": "assignee", "headerName": t("col_assignee", lang), "flex": 1.2, "minWidth": 100},
        {"field": "deadline", "headerName": t("col_deadline", lang), "flex": 1, "minWidth": 100},
        {
            "colId": "left",
            "headerName": t("col_time_left", lang),
            "flex": 1.2,
            "minWidth": 120,
            "valueGetter": {
                "function": f"citybrainTimeLeft(params.data.deadline_ms, {t('overdue', lang)!r})"
            },
            "cellClassRules": {"overdue": "citybrainPast(params.data.deadline_ms)"},
        },
    ]
    return dag.AgGrid(
        id=CASES,
        className="cases-grid",
        columnDefs=columns,
        rowData=[],
        getRowId="params.data.case_id",
        defaultColDef={"sortable": True, "resizable": True, "suppressMovable": True},
        rowClassRules={
            "row-emergency": "params.data.urgency === 'emergency'",
            "row-overdue": "citybrainPast(params.data.deadline_ms)",
        },
        dashGridOptions={
            "theme": {"function": GRID_THEME},
            "animateRows": False,
            "suppressCellFocus": True,
            # a leader selects a case to instruct on it
            "rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
        },
        style={"height": "100%", "width": "100%"},
    )


def layout(**_query) -> html.Div:
    ctx = context()
    lang = auth.current_lang()
    return html.Div(
        className="page duty",
        children=[
            dcc.Interval(id=TICK, interval=ctx.refresh_ms),
            dcc.Interval(id=SECOND, interval=1000),
            dcc.Store(id=DONE),
            dcc.Store(id=ALARM_IDS),
            dcc.Store(id=GRID_TICK),
            dcc.Store(id=QUEUE_SEEN),
            dcc.Store(id=CASES_SEEN),
            html.Audio(id=AUDIO, src=dash.get_asset_url("alarm.wav"), loop=True, preload="auto"),
            html.Div(
                id=ALARM,
                className="alarm-banner",
                children=[
                    html.Span(t("new_critical", lang)),
                    html.Button(t("enable_sound", lang), id=SOUND, className="btn sound-btn"),
                ],
            ),
            _filters(ctx, lang),
            html.Div(
                className="duty-main",
                children=[
                    html.Section(
                        className="queue-panel",
                        children=[
                            html.H2(
                                [t("alert_queue", lang), html.Span(id=QUEUE_COUNT, className="count")],
                                className="panel-title",
                            ),
                            html.Div(alert_grid(QUEUE, lang), className="grid-box"),
                            instr.panel(lang),
                        ],
                    ),
                    html.Section(
                        className="detail-panel",
                        children=[
                            html.Div(t("select_alert", lang), id=DETAIL, className="alert-detail"),
                            html.Div(id=instr.FOR_ALERT, className="alert-instructions"),
                            html.H3(t("history", lang), className="panel-title"),
                            html.Ol(id=HISTORY, className="timeline"),
                            html.Div(id=MESSAGE, className="duty-message", role="status"),
                            _actions(ctx, lang),
                            instr.form(lang),
                        ],
                    ),
                ],
            ),
            html.Section(
                className="cases-panel",
                children=[
                    html.H2(
                        [t("cases_title", lang), html.Span(id=CASES_SUMMARY, className="count")],
                        className="panel-title",
                    ),
                    html.Div(_cases_grid(lang), className="grid-box"),
                ],
            ),
        ],
    )


shell.register(__name__, path="/duty", label_key="page_duty", roles=DUTY_READERS, layout=layout, order=1)
instr.register(QUEUE, CASES, TICK, F_DISTRICT)


def _case_rows(cases: dict, ctx: Context, lang: str) -> list[dict]:
    return [
        {
            "case_id": c["case_id"],
            "district": ctx.district_name(c["district"], lang),
            "category": category_name(c["category"], lang),
            "urgency": c["urgency"],
            "urgency_label": t(f"urgency_{c['urgency']}", lang),
            "assignee": c["assignee"] or "",
            "deadline": f"{ctx.local(c['deadline']):%m-%d %H:%M}" if c["deadline"] else "",
            "deadline_ms": epoch_ms(c["deadline"]),
        }
        for c in cases["rows"]
    ]


@auth.secure_callback(
    DUTY_READERS,
    Output(QUEUE, "rowData"),
    Output(QUEUE_COUNT, "children"),
    Output(ALARM_IDS, "data"),
    Output(CASES, "rowData"),
    Output(CASES_SUMMARY, "children"),
    Output(QUEUE_SEEN, "data"),
    Output(CASES_SEEN, "data"),
    Input(TICK, "n_intervals"),
    Input(DONE, "data"),
    Input(F_DISTRICT, "value"),
    Input(F_SEVERITY, "value"),
    Input(F_STATE, "value"),
    Input(F_FLAGS, "value"),
    State(QUEUE_SEEN, "data"),
    State(CASES_SEEN, "data"),
)
def refresh(_n, _done, district, severity, state, flags, queue_seen, cases_seen):
    ctx = context()
    lang = auth.current_lang()
    alerts = ctx.sources.alerts.read().value or []
    rows = queue_rows(alerts, ctx, lang, _names(ctx))
    flags = flags or []
    shown = filter_rows(
        rows, district, severity, state, "mine" in flags, "muted" in flags, current_user.username
    )
    count = f"{len(shown)} / {len(rows)}"
    alarm = sorted(
        r["id"]
        for r in rows
        if r["severity"] == "critical"
        and not r["acknowledged"]
        and not r["muted"]
        and r["status"] == "active"
    )
    cases = ctx.sources.cases.read().value or {"rows": [], "open": 0, "emergencies": 0, "overdue": 0}
    summary = t("cases_summary", lang).format(
        open=cases["open"], emergencies=cases["emergencies"], overdue=cases["overdue"]
    )
    shown, queue_seen = unless_unchanged(shown, queue_seen)
    case_rows, cases_seen = unless_unchanged(_case_rows(cases, ctx, lang), cases_seen)
    return shown, f" {count}", alarm, case_rows, f" {summary}", queue_seen, cases_seen


@auth.secure_callback(
    DUTY_READERS,
    Output(DETAIL, "children"),
    Output(HISTORY, "children"),
    Input(QUEUE, "selectedRows"),
    Input(DONE, "data"),
    Input(TICK, "n_intervals"),
)
def show_detail(selected, _done, _n):
    ctx = context()
    lang = auth.current_lang()
    if not selected:
        return t("select_alert", lang), []
    row = selected[0]
    names = _names(ctx)
    history = ctx.sources.alert_history.read(key=int(row["id"])).value or []
    items = []
    for entry in reversed(history):  # newest first: the last thing done is what an officer needs
        who = names.get(entry["actor"], entry["actor"])
        text = names.get(entry["note"], entry["note"]) if entry["action"] == "assign" else entry["note"]
        note = f" · {text}" if text and entry["action"] != "open" else ""
        items.append(
            html.Li(
                className=f"tl-item tl-{entry['action']}",
                children=[
                    html.Span(f"{ctx.local(entry['at']):%m-%d %H:%M:%S}", className="tl-time"),
                    html.Span(action_name(entry["action"], lang), className="tl-action"),
                    html.Span(f"{who}{note}", className="tl-who"),
                ],
            )
        )
    detail = html.Div(
        [
            html.Div(
                [
                    html.Span(row["severity_label"], className=f"sev-chip sev-{row['severity']}"),
                    html.Span(row["title"], className="detail-title"),
                ],
                className="detail-head",
            ),
            html.Div(
                f"{row['district']} · {row['state']} · {t('col_opened', lang)} {row['opened']}",
                className="detail-meta",
            ),
            *(
                [hotspot_cases(ctx, row["hotspot"], row.get("hotspot_districts") or [], lang)]
                if row.get("hotspot")
                else []
            ),
        ]
    )
    return detail, items


def _case_status(status: str | None, lang: str) -> str:
    key = f"case_status_{status}"
    return t(key, lang) if key in STRINGS else (status or "")


def hotspot_cases(ctx: Context, hotspot_id: str, districts: list[str], lang: str) -> html.Div:
    """A hot-spot alert's cases: id, category, when (local time) and district, oldest first; and every
    district they came from (a hot spot on a border is one alert, filed under its centroid's district)."""
    cases = ctx.sources.hotspot_cases.read(key=hotspot_id).value or []
    spans = t("hotspot_spans", lang).format(
        districts="、".join(districts) if lang == "zh" else ", ".join(districts)
    )
    head = [t(k, lang) for k in ("col_case", "col_category", "col_time", "col_district", "col_status")]
    return html.Div(
        className="hotspot-cases",
        children=[
            html.H3(
                [t("hotspot_cases", lang).format(n=len(cases)), html.Span(f" · {spans}", className="spans")],
                className="panel-title",
            ),
            html.Div(
                className="hotspot-case-list",
                children=html.Table(
                    [
                        html.Thead(html.Tr([html.Th(h) for h in head])),
                        html.Tbody(
                            [
                                html.Tr(
                                    [
                                        html.Td(c["case_id"], className="case-id"),
                                        html.Td(hotspot_group(c["category"], lang)),
                                        html.Td(f"{ctx.local(c['created_at']):%H:%M:%S}"),
                                        html.Td(ctx.district_name(c["district"], lang)),
                                        html.Td(_case_status(c["status"], lang)),
                                    ]
                                )
                                for c in cases
                            ]
                        ),
                    ],
                    className="hotspot-case-table",
                ),
            ),
        ],
    )


def _conflict(ctx: Context, alert_id: int, lang: str, exc: Conflict) -> str:
    """The conflict in the officer's words: who got there first, and when (local time)."""
    with ctx.sources.connection() as conn:
        now = duty_store.alert_by_id(conn, alert_id)
    names = _names(ctx)
    if now and now["resolved"]:
        return t("conflict_resolve", lang).format(
            who=names.get(now["resolved_by"], now["resolved_by"]), at=f"{ctx.local(now['resolved_at']):%H:%M}"
        )
    if now and now["acknowledged"]:
        return t("conflict_ack", lang).format(
            who=names.get(now["acked_by"], now["acked_by"]), at=f"{ctx.local(now['acked_at']):%H:%M}"
        )
    return t("action_failed", lang).format(why=str(exc))


@auth.secure_callback(
    DUTY_ACTORS,
    Output(MESSAGE, "children"),
    Output(MESSAGE, "className"),
    Output(DONE, "data"),
    *(Input(button, "n_clicks") for button in ACTION_BUTTONS),
    State(QUEUE, "selectedRows"),
    State(ASSIGNEE, "value"),
    State(COMMENT_TEXT, "value"),
    State(NOTE, "value"),
    State(SILENCE_SCOPE, "value"),
    State(SILENCE_MINUTES, "value"),
    State(SILENCE_REASON, "value"),
    State(SILENCE_MATCHERS, "value"),
    prevent_initial_call=True,
)
def act(*args):
    _clicks, (selected, assignee, comment, note, scope, minutes, reason, custom) = args[:5], args[5:]
    ctx = context()
    lang = auth.current_lang()
    button = callback_ctx.triggered_id
    if button not in ACTION_BUTTONS or not selected:
        return t("select_alert", lang), "duty-message warn", dash.no_update
    row = selected[0]
    alert_id = int(row["id"])
    me = current_user.username
    service = ctx.alerts
    try:
        if button == ACK:
            service.acknowledge(alert_id, me)
            done = t("done_ack", lang)
        elif button == ASSIGN:
            if not assignee:
                return t("need_assignee", lang), "duty-message warn", dash.no_update
            service.assign(alert_id, assignee, me)
            done = t("done_assign", lang).format(who=_names(ctx).get(assignee, assignee))
        elif button == COMMENT:
            if not (comment or "").strip():
                return t("need_text", lang), "duty-message warn", dash.no_update
            service.comment(alert_id, comment, me)
            done = t("done_comment", lang)
        elif button == RESOLVE:
            if not (note or "").strip():
                return t("need_note", lang), "duty-message warn", dash.no_update
            service.resolve(alert_id, me, note)
            done = t("done_resolve", lang)
        else:
            if not (reason or "").strip() or not minutes or float(minutes) <= 0:
                return t("need_reason", lang), "duty-message warn", dash.no_update
            if (
                scope == "custom"
            ):  # label matchers as the command line takes them: district=510104 rule=~"camera_.*"
                matchers = (custom or "").split()
                if not matchers:
                    return t("need_matchers", lang), "duty-message warn", dash.no_update
            else:
                matchers = {"rule": _rule_of(ctx, alert_id)}
                if scope == "district" and row.get("district_code"):
                    matchers["district"] = row["district_code"]
            service.silence(matchers, float(minutes) * 60, reason, me)
            done = t("done_silence", lang).format(m=f"{float(minutes):g}")
    except Conflict as exc:
        message, css = _conflict(ctx, alert_id, lang, exc), "duty-message conflict"
    except AlertError as exc:
        message, css = t("action_failed", lang).format(why=str(exc)), "duty-message warn"
    else:
        message, css = done, "duty-message ok"
    for reader in (ctx.sources.alerts, ctx.sources.alert_history):
        reader.invalidate()
    return message, css, {"alert": alert_id, "button": button, "clicks": sum(c or 0 for c in _clicks)}


def _rule_of(ctx: Context, alert_id: int) -> str:
    for a in ctx.sources.alerts.read().value or []:
        if a["id"] == alert_id:
            return a["rule_id"]
    raise AlertError(f"alert {alert_id} is no longer open")


dash.clientside_callback(
    ClientsideFunction(namespace="citybrain", function_name="alarm"),
    Output(ALARM, "className"),
    Input(ALARM_IDS, "data"),
    State(ALARM, "className"),
)
dash.clientside_callback(  # the matchers field only when the officer chose to write matchers
    "function (scope) { return {display: scope === 'custom' ? 'flex' : 'none'}; }",
    Output(MATCHERS_ROW, "style"),
    Input(SILENCE_SCOPE, "value"),
)
dash.clientside_callback(
    ClientsideFunction(namespace="citybrain", function_name="enableSound"),
    Output(SOUND, "className"),
    Input(SOUND, "n_clicks"),
)
dash.clientside_callback(
    ClientsideFunction(namespace="citybrain", function_name="tickGrids"),
    Output(GRID_TICK, "data"),
    Input(SECOND, "n_intervals"),
)
