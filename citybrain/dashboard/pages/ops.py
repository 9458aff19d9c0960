"""The operations page (/ops): is the pipeline healthy? Throughput per input topic, the worker
group's consumer lag per partition (from the broker) and the workers' heartbeats with the partitions
each holds, dead letters by reason with the newest ones
and how to work them, late events, storage mode and job health (failing or overdue in red), case
data-quality findings, and alert notifications that could not be delivered.

Officers and admins open it (the people who act when the feed breaks); the role is checked on the
server for the page and for its callbacks. Besides reading, admins may replay dead letters to their
source topic (the same ``citybrain.replay.replay`` as ``citybrain dlq replay``, recorded under the
signed-in admin); officers see the list and the ``citybrain dlq`` commands, not the action.
"""

from __future__ import annotations

import functools
import logging
from datetime import UTC, datetime, timedelta

import dash
import plotly.graph_objects as go
from dash import Input, Output, State, dcc, html
from flask_login import current_user

from citybrain.accounts import Role
from citybrain.dashboard import auth, shell
from citybrain.dashboard.context import Context, context
from citybrain.dashboard.i18n import t
from citybrain.events import TOPIC_MODELS
from citybrain.store.policies import StorageConfig

log = logging.getLogger(__name__)

OPS_ROLES = frozenset({Role.OFFICER, Role.ADMIN})
REPLAY_ROLES = frozenset({Role.ADMIN})
TOPICS = tuple(t.value for t in TOPIC_MODELS)
TOPIC_COLOURS = {"iot.readings": "#4fc3f7", "video.status": "#ffb74d", "case.events": "#ce93d8"}

TICK = "ops-tick"
REM = "ops-rem"  # the page's root font size in pixels, measured in the browser
KPIS = "ops-kpis"
THROUGHPUT = "ops-throughput"
LAG = "ops-lag"
DEAD = "ops-dead"
JOBS = "ops-jobs"
QUALITY = "ops-quality"
DELIVERIES = "ops-deliveries"
PANELS = (KPIS, LAG, DEAD, JOBS, QUALITY, DELIVERIES)
REPLAY_PICK = "ops-replay-pick"
REPLAY = "ops-replay"
REPLAY_MESSAGE = "ops-replay-message"


def layout(**_query) -> html.Div:
    ctx = context()
    lang = auth.current_lang()

    def panel(title_key: str, body_id: str, extra: str = "", below=None) -> html.Section:
        return html.Section(
            className=f"ops-panel {extra}",
            children=[
                html.H2(t(title_key, lang), className="panel-title"),
                html.Div(id=body_id, className="ops-body"),
                *([below] if below is not None else []),
            ],
        )

    return html.Div(
        className="page ops",
        children=[
            dcc.Interval(id=TICK, interval=ctx.refresh_ms),
            dcc.Store(id=REM),
            html.Div(id=KPIS, className="kpis ops-kpis"),
            html.Div(
                className="ops-grid",
                children=[
                    html.Section(
                        className="ops-panel ops-chart",
                        children=[
                            html.H2(t("ops_throughput", lang), className="panel-title"),
                            dcc.Graph(
                                id=THROUGHPUT,
                                className="ops-graph",
                                config={"displayModeBar": False, "responsive": True},
                                figure=_empty_figure(),
                            ),
                        ],
                    ),
                    panel("ops_lag", LAG, "ops-lag"),
                    panel("ops_dead_letters", DEAD, "ops-dead", _replay_controls(lang)),
                    panel("ops_jobs", JOBS, "ops-jobs"),
                    panel("ops_quality", QUALITY, "ops-quality"),
                    panel("ops_deliveries", DELIVERIES, "ops-deliveries"),
                ],
            ),
        ],
    )


def _replay_controls(lang: str) -> html.Div | None:
    """Admins only: choose dead letters and send them back to their topic."""
    if not auth.allowed(REPLAY_ROLES):
        return None
    return html.Div(
        className="ops-replay",
        children=[
            html.Div(t("ops_replay_pick", lang), className="ops-sub"),
            dcc.Checklist(
                id=REPLAY_PICK, options=[], value=[], className="ops-replay-pick", inputClassName="pick-box"
            ),
            html.Button(t("ops_replay", lang), id=REPLAY, className="btn"),
            html.Div(id=REPLAY_MESSAGE, className="ops-replay-message", role="status"),
        ],
    )


shell.register(__name__, path="/ops", label_key="page_ops", roles=OPS_ROLES, layout=layout, order=8)

dash.clientside_callback(
    "function (_id) { return parseFloat(getComputedStyle(document.documentElement).fontSize) || 16; }",
    Output(REM, "data"),
    Input(KPIS, "id"),
)


# --- helpers ---------------------------------------------------------------------------------------


def _when(ctx: Context, moment: datetime | None, fmt: str = "%m-%d %H:%M:%S") -> str:
    return "—" if moment is None else f"{ctx.local(moment):{fmt}}"


def _table(
    headers: list[str],
    rows: list[list],
    classes: list[str] | None = None,
    numeric: set[int] = frozenset(),
    empty: str = "",
    wrap: set[int] = frozenset(),
) -> html.Table | html.Div:
    """A plain table; ``numeric`` columns align right, ``wrap`` columns (details, errors) may take several
    lines."""
    if not rows:
        return html.Div(empty, className="ops-empty")

    def cls(i: int) -> str | None:
        return " ".join(c for c, on in (("num", i in numeric), ("wrap", i in wrap)) if on) or None

    head = html.Thead(html.Tr([html.Th(h, className=cls(i)) for i, h in enumerate(headers)]))
    body = html.Tbody(
        [
            html.Tr(
                [html.Td(cell, className=cls(i)) for i, cell in enumerate(r)],
                className=(classes[n] if classes else None) or None,
            )
            for n, r in enumerate(rows)
        ]
    )
    return html.Table([head, body], className="ops-table")


def _kpi(value: str, label: str, alarm: bool = False) -> html.Div:
    return html.Div(
        [html.Div(value, className="kpi-value"), html.Div(label, className="kpi-label")],
        className="kpi alarm" if alarm else "kpi",
    )


def _error_note(error: str | None, lang: str) -> html.Div | None:
    return html.Div(f"{t('ops_unavailable', lang)}: {error}", className="ops-error") if error else None


def _empty_figure() -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)", margin=dict(l=10, r=10, t=10, b=10)
    )
    return fig


def throughput_figure(
    throughput: list[dict], ctx: Context, lang: str, rem: float | None = None, window_min: int = 30
) -> go.Figure:
    """Events per minute per input topic over the last complete minutes, by event time, in the city's time
    zone; a minute without events is 0. Sizes follow the page's root font size (``rem`` pixels), so a 4K
    screen draws the chart as large as the rest of the page."""
    rem = rem or 18.0
    fig = _empty_figure()
    now_minute = datetime.now(UTC).replace(second=0, microsecond=0)
    minutes = [now_minute - timedelta(minutes=m) for m in range(window_min, 0, -1)]
    for topic in TOPICS:
        counts = {r["minute"]: r["events"] for r in throughput if r["topic"] == topic}
        colour = TOPIC_COLOURS.get(topic, "#e3f2fd")
        fig.add_trace(
            go.Scatter(
                x=[ctx.local(m).replace(tzinfo=None) for m in minutes],
                y=[counts.get(m, 0) for m in minutes],
                name=topic,
                mode="lines+markers",
                line=dict(color=colour, width=0.17 * rem),
                marker=dict(size=0.35 * rem),
            )
        )
    fig.update_layout(
        font=dict(color="#e3f2fd", size=rem),
        legend=dict(orientation="h", y=1.02, x=0, yanchor="bottom", font=dict(size=rem)),
        margin=dict(l=4 * rem, r=rem, t=2.4 * rem, b=2.6 * rem),
        hovermode="x unified",
        xaxis=dict(gridcolor="#1e3a5c", tickformat="%H:%M", tickfont=dict(size=0.9 * rem)),
        yaxis=dict(
            gridcolor="#1e3a5c",
            title=dict(text=t("events_per_min", lang), font=dict(size=0.9 * rem)),
            tickfont=dict(size=0.9 * rem),
            rangemode="tozero",
        ),
    )
    return fig


def _per_minute(throughput: list[dict], topic: str) -> float:
    """The last complete minute's events of ``topic`` (0 when none arrived in it)."""
    last = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    return float(sum(r["events"] for r in throughput if r["topic"] == topic and r["minute"] == last))


# --- panels ----------------------------------------------------------------------------------------


def workers_table(picture, ctx: Context, lang: str) -> list:
    """Which workers beat, when last, and the input partitions each holds; stale ones (no beat for three
    intervals: stopped, hung or cut off from the database) in red."""
    rows, classes = [], []
    for w in picture.workers if picture is not None else []:
        held = ", ".join(f"{topic}[{partition}]" for topic, partition in w["partitions"]) or "—"
        state = t("ops_worker_stale", lang) if w["stale"] else t("ops_worker_live", lang)
        rows.append(
            [
                state,
                w["worker"],
                w["app_id"],
                _when(ctx, w["beat_at"], "%H:%M:%S"),
                f"{w['age_s']:,.0f}",
                held,
            ]
        )
        classes.append("bad" if w["stale"] else "")
    return [
        html.Div(
            className="ops-workers",
            children=[
                html.H3(t("ops_workers", lang), className="ops-sub"),
                _table(
                    [
                        t("ops_state", lang),
                        t("ops_worker", lang),
                        t("ops_group", lang),
                        t("ops_last_beat", lang),
                        t("ops_beat_age", lang),
                        t("ops_partitions", lang),
                    ],
                    rows,
                    classes,
                    numeric={4},
                    wrap={5},
                    empty=t("ops_no_workers", lang),
                ),
            ],
        )
    ]


def lag_panel(reading, lang: str) -> list:
    parts = reading.value or []
    rows, classes = [], []
    for p in parts:
        rows.append(
            [
                p.topic,
                str(p.partition),
                "—" if p.committed is None else f"{p.committed:,}",
                f"{p.end:,}",
                f"{p.lag:,}",
            ]
        )
        classes.append("bad" if p.lag >= 1000 else "")
    totals = {topic: sum(p.lag for p in parts if p.topic == topic) for topic in TOPICS}
    summary = html.Div(" · ".join(f"{topic} {n:,}" for topic, n in totals.items()), className="ops-note")
    return [
        _error_note(reading.error, lang),
        summary,
        _table(
            [
                t("ops_topic", lang),
                t("ops_partition", lang),
                t("ops_committed", lang),
                t("ops_end", lang),
                t("ops_lag_col", lang),
            ],
            rows,
            classes,
            numeric={1, 2, 3, 4},
            empty=t("ops_no_partitions", lang),
        ),
    ]


def dead_letter_panel(picture, ctx: Context, lang: str) -> list:
    counts = picture.dead_letter_counts
    by_reason = _table(
        [
            t("ops_topic", lang),
            t("ops_reason", lang),
            t("ops_last_hour", lang),
            t("ops_last_day", lang),
            t("ops_newest", lang),
        ],
        [
            [
                c["topic"],
                c["reason"],
                f"{c['last_hour']:,}",
                f"{c['last_day']:,}",
                _when(ctx, c["newest"], "%H:%M:%S"),
            ]
            for c in counts
        ],
        ["bad" if c["last_hour"] else "" for c in counts],
        numeric={2, 3},
        empty=t("ops_no_dead_letters", lang),
    )
    newest = _table(
        ["ID", t("ops_received", lang), t("ops_source", lang), t("ops_reason", lang), t("ops_detail", lang)],
        [
            [
                str(d["id"]),
                _when(ctx, d["received_at"], "%H:%M:%S"),
                f"{d['source_topic']}[{d['source_partition']}]@{d['source_offset']}",
                d["reason"] + (f" ({t('ops_replayed', lang)})" if d["replayed_at"] else ""),
                d["detail"][:100],
            ]
            for d in picture.newest_dead_letters
        ],
        numeric={0},
        wrap={4},
    )
    howto = html.Div(
        [
            t("ops_dlq_howto", lang),
            " ",
            html.Code("citybrain dlq show ID"),
            " · ",
            html.Code("citybrain dlq replay ID --as NAME [--fixed FILE]"),
        ],
        className="ops-howto",
    )
    return [by_reason, howto, html.H3(t("ops_newest_dead", lang), className="ops-sub"), newest]


def jobs_panel(reading, ctx: Context, lang: str) -> list:
    storage = reading.value
    if storage is None:
        return [_error_note(reading.error, lang)]
    rows, classes = [], []
    for job in sorted(storage.jobs, key=lambda j: (j.healthy, j.source, j.kind, j.relation or "", j.job)):
        state = (
            t("ops_job_failing", lang)
            if job.failing
            else t("ops_job_overdue", lang)
            if job.overdue
            else t("ops_job_ok", lang)
        )
        name = t_kind(job.kind, lang) + (f" #{job.job}" if job.source == "timescaledb" else "")
        rows.append(
            [
                state,
                name,
                job.relation or "",
                _when(ctx, job.last_success, "%m-%d %H:%M"),
                f"{job.total_failures:,}",
                (job.last_error or "")[:200],
            ]
        )
        classes.append("bad" if not job.healthy else "")
    mode = t("ops_mode_timescale" if storage.mode == "timescale" else "ops_mode_plain", lang)
    kept = _retention(ctx)
    mode += " · " + t("ops_storage_facts", lang).format(
        size=storage.size_bytes / 2**20,
        raw=kept.raw_retention_days,
        m=kept.rollup_1m_retention_days,
        h=kept.rollup_1h_retention_days,
    )
    return [
        _error_note(reading.error, lang),
        html.Div(mode, className="ops-note"),
        _table(
            [
                t("ops_state", lang),
                t("ops_job", lang),
                t("ops_relation", lang),
                t("ops_last_success", lang),
                t("ops_failures", lang),
                t("ops_error", lang),
            ],
            rows,
            classes,
            numeric={4},
            wrap={5},
            empty=t("ops_no_jobs", lang),
        ),
    ]


@functools.cache
def _storage_config(config_dir) -> StorageConfig:
    return StorageConfig.load(config_dir)


def _retention(ctx: Context) -> StorageConfig:
    """How long data is kept (config/storage.yaml), read once per process."""
    return _storage_config(ctx.settings.config_dir)


def t_kind(kind: str, lang: str) -> str:
    key = f"job_{kind}"
    return t(key, lang) if key in JOB_KEYS else kind


JOB_KEYS = {
    "job_policy_compression",
    "job_policy_retention",
    "job_policy_refresh_continuous_aggregate",
    "job_retention_prune",
    "job_apply_policies",
    "job_citybrain_refresh_late_rollups",
}


def quality_panel(picture, ctx: Context, lang: str) -> list:
    late = _table(
        [t("ops_topic", lang), t("ops_last_hour", lang), t("ops_last_day", lang)],
        [[r["topic"], f"{r['last_hour']:,}", f"{r['last_day']:,}"] for r in picture.late_events],
        numeric={1, 2},
        empty=t("ops_no_late", lang),
    )
    findings = _table(
        [t("ops_finding", lang), t("ops_cases", lang), t("ops_examples", lang)],
        [
            [t(f"finding_{f['finding']}", lang), f"{f['cases']:,}", ", ".join(f["examples"] or [])]
            for f in picture.case_findings
        ],
        ["warn"] * len(picture.case_findings),
        numeric={1},
        empty=t("ops_no_findings", lang),
    )
    return [
        html.H3(t("ops_late", lang), className="ops-sub"),
        late,
        html.H3(t("ops_findings", lang), className="ops-sub"),
        findings,
    ]


def deliveries_panel(picture, ctx: Context, lang: str) -> list:
    counts = _table(
        [t("ops_receiver", lang), t("ops_delivered", lang), t("ops_failed", lang)],
        [[c["receiver"], f"{c['delivered']:,}", f"{c['failed']:,}"] for c in picture.delivery_counts],
        ["bad" if c["failed"] else "" for c in picture.delivery_counts],
        numeric={1, 2},
        empty=t("ops_no_deliveries", lang),
    )
    failed = _table(
        [t("ops_when", lang), t("ops_receiver", lang), t("ops_tries", lang), t("ops_error", lang)],
        [
            [_when(ctx, d["at"]), d["receiver"], str(d["attempts"]), (d["error"] or "")[:160]]
            for d in picture.failed_deliveries
        ],
        ["bad"] * len(picture.failed_deliveries),
        numeric={2},
        wrap={3},
    )
    return [
        counts,
        html.H3(t("ops_failed_deliveries", lang), className="ops-sub"),
        failed,
        html.Div([html.Code("citybrain alerts deliveries --failed")], className="ops-howto"),
    ]


def kpis(pipeline, lag, storage, lang: str) -> list:
    picture = pipeline.value
    parts = lag.value
    jobs = storage.value.jobs if storage.value else []
    bad_jobs = sum(1 for j in jobs if not j.healthy)
    rate = sum(_per_minute(picture.throughput, topic) for topic in TOPICS) if picture else 0.0
    dead_hour = sum(c["last_hour"] for c in picture.dead_letter_counts) if picture else 0
    late_hour = sum(r["last_hour"] for r in picture.late_events) if picture else 0
    failed_day = sum(c["failed"] for c in picture.delivery_counts) if picture else 0
    total_lag = sum(p.lag for p in parts) if parts is not None else None
    return [
        _kpi(f"{rate:,.0f}", t("ops_kpi_rate", lang)),
        _kpi(
            "—" if total_lag is None else f"{total_lag:,}",
            t("ops_kpi_lag", lang),
            alarm=total_lag is None or total_lag >= 1000,
        ),
        _kpi(f"{dead_hour:,}", t("ops_kpi_dead", lang), alarm=dead_hour > 0),
        _kpi(f"{late_hour:,}", t("ops_kpi_late", lang)),
        _kpi(f"{bad_jobs}", t("ops_kpi_jobs", lang), alarm=bad_jobs > 0 or storage.value is None),
        _kpi(f"{failed_day:,}", t("ops_kpi_deliveries", lang), alarm=failed_day > 0),
    ]


@auth.secure_callback(
    OPS_ROLES,
    Output(THROUGHPUT, "figure"),
    *(Output(panel, "children") for panel in PANELS),
    Input(TICK, "n_intervals"),
    Input(REM, "data"),
)
def refresh(_n, rem):
    ctx = context()
    lang = auth.current_lang()
    pipeline = ctx.sources.pipeline.read()
    lag = ctx.sources.lag.read()
    storage = ctx.sources.storage.read()
    picture = pipeline.value
    if picture is None:
        note = _error_note(pipeline.error, lang)
        return (
            _empty_figure(),
            kpis(pipeline, lag, storage, lang),
            lag_panel(lag, lang) + [note],
            [note],
            jobs_panel(storage, ctx, lang),
            [note],
            [note],
        )
    return (
        throughput_figure(picture.throughput, ctx, lang, rem if isinstance(rem, (int, float)) else None),
        kpis(pipeline, lag, storage, lang),
        lag_panel(lag, lang) + workers_table(picture, ctx, lang),
        dead_letter_panel(picture, ctx, lang),
        jobs_panel(storage, ctx, lang),
        quality_panel(picture, ctx, lang),
        deliveries_panel(picture, ctx, lang),
    )


def replay_options(picture) -> list[dict]:
    """The newest dead letters not replayed yet, as choices for the replay action."""
    return [
        {
            "label": (
                f"#{d['id']} {d['source_topic']}[{d['source_partition']}]@{d['source_offset']} {d['reason']}"
            ),
            "value": d["id"],
        }
        for d in picture.newest_dead_letters
        if not d["replayed_at"]
    ]


@auth.secure_callback(
    REPLAY_ROLES,
    Output(REPLAY_PICK, "options"),
    Input(TICK, "n_intervals"),
    Input(REPLAY_MESSAGE, "children"),
)
def replay_choices(_n, _message):
    picture = context().sources.pipeline.read().value
    return replay_options(picture) if picture is not None else []


@auth.secure_callback(
    REPLAY_ROLES,
    Output(REPLAY_MESSAGE, "children"),
    Output(REPLAY_MESSAGE, "className"),
    Output(REPLAY_PICK, "value"),
    Input(REPLAY, "n_clicks"),
    State(REPLAY_PICK, "value"),
    prevent_initial_call=True,
)
def replay_chosen(_clicks, chosen):
    """Re-send the chosen dead letters as ``citybrain dlq replay`` does, as the signed-in admin."""
    from citybrain.replay import ReplayError, replay

    ctx = context()
    lang = auth.current_lang()
    ids = [int(i) for i in chosen or []]
    if not ids:
        return t("ops_replay_none", lang), "ops-replay-message warn", dash.no_update
    if not ctx.settings.kafka_bootstrap:
        return (
            t("ops_replay_failed", lang).format(why="CITYBRAIN_KAFKA_BOOTSTRAP"),
            "ops-replay-message warn",
            dash.no_update,
        )
    try:
        with ctx.sources.connection() as conn:
            sent = replay(
                conn,
                ctx.settings.kafka_bootstrap,
                ids,
                current_user.username,
                client_id="citybrain-dashboard",
            )
    except ReplayError as exc:
        return t("ops_replay_failed", lang).format(why=str(exc)), "ops-replay-message warn", dash.no_update
    except Exception as exc:  # the broker or the database: say so, change nothing on the page
        log.exception("replaying dead letters %s failed", ids)
        return (
            t("ops_replay_failed", lang).format(why=type(exc).__name__),
            "ops-replay-message warn",
            dash.no_update,
        )
    ctx.sources.pipeline.invalidate()
    return (
        t("ops_replay_done", lang).format(n=sent, ids=", ".join(f"#{i}" for i in sorted(set(ids)))),
        "ops-replay-message ok",
        [],
    )
