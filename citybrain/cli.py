"""The `citybrain` command."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from citybrain.accounts import AccountError
from citybrain.config import ConfigError
from citybrain.metrics import MetricsError
from citybrain.runtime.errors import StartupError
from citybrain.settings import Settings
from citybrain.store.migrate import MigrationError, connect
from citybrain.store.roles import RoleError

app = typer.Typer(
    help=(
        "citybrain: a city's real-time operations centre. "
        "Settings come from CITYBRAIN_* environment variables."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

KNOWN_ERRORS = (ConfigError, StartupError, MigrationError, RoleError, AccountError, MetricsError)


def fail(message: str) -> None:
    typer.secho(f"citybrain: error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(2)


def load_settings(**overrides) -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"CITYBRAIN_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
        )
        fail(f"bad setting: {problems}")
    return settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})


def need(settings: Settings, *names: str) -> None:
    missing = [f"CITYBRAIN_{n.upper()}" for n in names if not getattr(settings, n)]
    if missing:
        fail(f"{', '.join(missing)} must be set (or use `citybrain up`, which starts embedded services)")


def owner_url(settings: Settings) -> str:
    """CITYBRAIN_DATABASE_URL, or the embedded database a running `up` keeps in the data directory."""
    from citybrain.runtime.database import running_embedded_url

    url = settings.database_url or running_embedded_url(settings.data_dir)
    if not url:
        need(settings, "database_url")
    return url


def reachable(url: str) -> str:
    """``url``, once its database answers; else one line naming the server (DatabaseUnavailable), no
    traceback."""
    with connect(url):
        return url


def app_url(settings: Settings) -> str:
    """The application role's URL for duty commands: as configured, or derived as `up` does."""
    from citybrain.runtime.database import app_database_url

    if settings.app_database_url:
        return settings.app_database_url
    if settings.database_url:
        return settings.database_url
    return app_database_url(owner_url(settings), None, settings.data_dir)


@app.command()
def up() -> None:
    """Run the whole command centre: database, broker, worker, simulator and dashboard.

    Unset CITYBRAIN_DATABASE_URL / CITYBRAIN_KAFKA_BOOTSTRAP start embedded ones.
    """
    from citybrain.runtime.up import up as run_up

    run_up(load_settings())


@app.command()
def migrate() -> None:
    """Apply schema migrations, load the city's districts and device registry, set up the application's
    database role (CITYBRAIN_APP_DATABASE_URL) and, when there is no account yet, the first administrator."""
    from citybrain.runtime.up import first_admin, prepare_database

    settings = load_settings()
    need(settings, "database_url")
    counts = prepare_database(settings.database_url, settings, settings.app_database_url)
    typer.echo(
        f"schema up to date ({counts['storage']} mode); "
        f"{counts['districts']} districts, {counts['cameras']:,} cameras, "
        f"{counts['sensors']:,} sensors"
    )
    if "app_role" in counts:
        typer.echo(f"application role {counts['app_role']} granted what the worker and dashboard need")
    else:
        typer.echo(
            "CITYBRAIN_APP_DATABASE_URL is unset: no application role set up (the worker and dashboard"
            " should not connect as the owner)",
            err=True,
        )
    typer.echo(f"sign in: {first_admin(settings.database_url, settings)}")


@app.command()
def worker() -> None:
    """Run the stream worker (faust): validate, enrich and store the three input topics."""
    from citybrain.stream.app import run_worker

    settings = load_settings()
    need(settings, "database_url", "kafka_bootstrap")
    reachable(settings.database_url)
    sys.argv = [sys.argv[0], "worker"]  # faust's Worker reads its own command line
    run_worker(settings)


@app.command()
def dashboard(
    host: Annotated[
        str | None, typer.Option(help="Listen address (default CITYBRAIN_DASHBOARD_HOST).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port (default CITYBRAIN_DASHBOARD_PORT).")
    ] = None,
) -> None:
    """Serve the command-centre dashboard."""
    from citybrain.dashboard.app import run

    settings = load_settings(dashboard_host=host, dashboard_port=port)
    need(settings, "database_url")
    reachable(settings.database_url)
    run(settings)


@app.command()
def simulate(
    rate: Annotated[
        float | None, typer.Option(min=0.001, help="Events per second (default CITYBRAIN_SIM_RATE).")
    ] = None,
    duration: Annotated[
        float | None, typer.Option(min=0, help="Stop after this many seconds (default: run until stopped).")
    ] = None,
) -> None:
    """Send simulated Chengdu sensor readings, camera status and citizen cases to Kafka."""
    from citybrain.geo.city import City
    from citybrain.geo.registry import build_registry
    from citybrain.sim.city_sim import CitySimulator, run

    settings = load_settings(sim_rate=rate)
    need(settings, "kafka_bootstrap")
    city = City.load(settings.config_dir)
    cameras, sensors = build_registry(city, settings.cameras, settings.sensors, settings.seed)
    sim = CitySimulator(
        cameras,
        sensors,
        rate=settings.sim_rate,
        seed=settings.seed,
        cases_per_s=city.spec.appeals_per_year / (365 * 24 * 3600),
    )
    if settings.metrics_port is not None:
        from citybrain import metrics

        metrics.start_metrics_server(
            metrics.port_for(settings.metrics_port, "simulator"), settings.metrics_host
        )
    try:
        sent = run(sim, settings.kafka_bootstrap, duration_s=duration)
    except KeyboardInterrupt:
        return
    typer.echo(
        f"sent {sent.events:,} events in {sent.seconds:.1f} s"
        f" ({sent.per_s:,.0f}/s; asked for {sim.rate:,.0f}/s;"
        f" {sent.behind_s:.2f} s behind the clock at the end)"
    )


scenario_app = typer.Typer(
    help="Inject an incident into the running city (drills and demos).", no_args_is_help=True
)
app.add_typer(scenario_app, name="scenario")

District = Annotated[str, typer.Option(help="District adcode, e.g. 510107 (Wuhou).")]


def _scenario_registry(district: str):
    """Settings and the device registry, once ``district`` is known to be one of the city's."""
    from citybrain.geo.city import City
    from citybrain.geo.registry import build_registry

    settings = load_settings()
    need(settings, "kafka_bootstrap")
    city = City.load(settings.config_dir)
    codes = [d.adcode for d in city.districts]
    if district not in codes:
        raise typer.BadParameter(
            f"{district!r} is not a district of {city.spec.name_en}; choose one of {', '.join(codes)}",
            param_hint="--district",
        )
    return settings, build_registry(city, settings.cameras, settings.sensors, settings.seed)


@scenario_app.command("camera-outage")
def scenario_camera_outage(
    district: District,
    share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of the district's cameras to take offline.")
    ] = 0.3,
) -> None:
    """Take a share of one district's video points offline (they recover as they report in again)."""
    from citybrain.sim import scenarios

    settings, (cameras, _) = _scenario_registry(district)
    sent = scenarios.send(
        settings.kafka_bootstrap, scenarios.camera_outage(cameras, district, share, settings.seed)
    )
    typer.echo(f"{sent:,} cameras in {district} reported offline")


@scenario_app.command("flood")
def scenario_flood(
    district: District,
    level: Annotated[
        float, typer.Option(help="Water level every gauge in the district reports, metres.")
    ] = 6.5,
) -> None:
    """Every water-level gauge in one district reports a level over the warning line."""
    from citybrain.sim import scenarios

    settings, (_, sensors) = _scenario_registry(district)
    sent = scenarios.send(settings.kafka_bootstrap, scenarios.flood(sensors, district, level))
    typer.echo(f"{sent:,} gauges in {district} report {level} m")


@scenario_app.command("hotspot")
def scenario_hotspot(
    district: District,
    cases: Annotated[int, typer.Option(min=1, max=500, help="Citizen appeals in the cluster.")] = 15,
    radius: Annotated[float, typer.Option(min=10, max=5000, help="Within this many metres.")] = 400,
    minutes: Annotated[
        float,
        typer.Option(min=0, max=24 * 60, help="Spread over this many minutes, sent in real time (0: now)."),
    ] = 20,
    category: Annotated[
        str, typer.Option(help="Case category, e.g. water_supply, noise, gas_safety.")
    ] = "water_supply",
) -> None:
    """Many citizens calling about one thing in one place (a burst main): an appeal hot spot forming."""
    from datetime import UTC, datetime

    from citybrain.geo.city import City
    from citybrain.hotspots.detect import city_locator
    from citybrain.sim import scenarios

    settings, (cameras, _) = _scenario_registry(district)
    locate = city_locator(City.load(settings.config_dir))
    events = scenarios.hotspot(
        cameras,
        district,
        locate,
        cases,
        radius,
        category,
        minutes * 60,
        seed=int(datetime.now(UTC).timestamp()),
    )
    typer.echo(
        f"{cases} {category} appeals within {radius:g} m of a point in {district}"
        + (f", one every {minutes * 60 / cases:.0f} s on average" if minutes else ", all now")
    )
    sent = scenarios.send(settings.kafka_bootstrap, events, paced=minutes > 0)
    typer.echo(f"{sent:,} appeals sent")


alerts_app = typer.Typer(
    help="The alert queue and duty actions (every action is written to the alert log).", no_args_is_help=True
)
app.add_typer(alerts_app, name="alerts")
Officer = Annotated[
    str,
    typer.Option(
        "--as", help="Your user name (an enabled officer or admin account), recorded in the alert log."
    ),
]


def _alert_service():
    from citybrain.alerts.service import AlertService

    settings = load_settings()
    url = reachable(app_url(settings))
    publish = None
    if settings.kafka_bootstrap:  # tell the rest of the system, as the worker does
        from kafka import KafkaProducer

        from citybrain.events import Topic

        producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, client_id="citybrain-cli")

        def publish(event):
            producer.send(Topic.ALERTS.value, key=event.dedup_key.encode(), value=event.to_bytes()).get(
                timeout=10
            )

    return AlertService(url, publish=publish)


def _officer(username: str) -> str:
    """The account a duty action is recorded under; a name that is not an enabled duty account is refused."""
    from citybrain import accounts

    with connect(app_url(load_settings())) as conn:
        try:
            return accounts.active_actor(conn, username).username
        except accounts.AccountError as exc:
            fail(str(exc))


def _duty(officer: str, action) -> None:
    from citybrain.alerts.service import AlertError

    me = _officer(officer)
    try:
        event = action(_alert_service(), me)
    except AlertError as exc:
        typer.secho(f"citybrain: {exc}", err=True, fg=typer.colors.YELLOW)
        raise typer.Exit(1) from None
    typer.echo(f"alert {event.alert_id}: {event.action} by {event.actor}")


@alerts_app.command("list")
def alerts_list(
    all_: Annotated[
        bool, typer.Option("--all", help="Include resolved and acknowledged cleared alerts.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 50,
) -> None:
    """The alert queue, newest first: active alerts, and cleared ones nobody has acknowledged yet."""
    from citybrain.store.alert_store import queue

    with connect(app_url(load_settings())) as conn:
        rows = queue(conn, all_, limit)
    typer.echo(
        f"{'id':>6} {'severity':8} {'state':28} {'muted':9} {'esc':3} {'district':8} "
        f"{'assignee':10} {'opened UTC':11} title"
    )
    for r in rows:
        typer.echo(
            f"{r['id']:>6} {r['severity']:8} {r['state']:28} {r['muted'] or '':9} {r['escalation_level']:>3}"
            f" {r['district'] or '':8} {r['assignee'] or '':10} {r['opened_at']:%m-%d %H:%M} {r['title']}"
        )


@alerts_app.command("ack")
def alerts_ack(alert_id: int, officer: Officer) -> None:
    """Acknowledge an alert (stops its escalation)."""
    _duty(officer, lambda svc, me: svc.acknowledge(alert_id, me))


@alerts_app.command("assign")
def alerts_assign(
    alert_id: int, to: Annotated[str, typer.Option(help="Who works the alert.")], officer: Officer
) -> None:
    """Assign an alert to someone."""
    _duty(officer, lambda svc, me: svc.assign(alert_id, to, me))


@alerts_app.command("comment")
def alerts_comment(alert_id: int, text: str, officer: Officer) -> None:
    """Add a comment to an alert."""
    _duty(officer, lambda svc, me: svc.comment(alert_id, text, me))


@alerts_app.command("resolve")
def alerts_resolve(
    alert_id: int, note: Annotated[str, typer.Option(help="What was done.")], officer: Officer
) -> None:
    """Resolve an alert with a note; it does not reopen until its condition has cleared."""
    _duty(officer, lambda svc, me: svc.resolve(alert_id, me, note))


Matchers = Annotated[
    list[str],
    typer.Option(
        "--match",
        help='Repeatable: district=510104, rule=~"camera_.*", severity!=warning, device="" (absent).',
    ),
]


def _silence_action(action) -> None:
    from citybrain.alerts.service import AlertError

    try:
        row = action(_alert_service())
    except AlertError as exc:
        typer.secho(f"citybrain: {exc}", err=True, fg=typer.colors.YELLOW)
        raise typer.Exit(1) from None
    typer.echo(
        f"silence {row['id']}: {' '.join(row['matchers'])} until {row['ends_at']:%Y-%m-%d %H:%M:%S} UTC"
    )


@alerts_app.command("silence")
def alerts_silence(
    match: Matchers,
    minutes: Annotated[float, typer.Option(min=0.1, help="How long the silence lasts.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the alert log).")],
    officer: Officer,
) -> None:
    """Mute matching alerts for a while (still recorded and shown as muted; announced when it ends)."""
    from citybrain.alerts.service import AlertError

    me = _officer(officer)
    try:
        silence_id = _alert_service().silence(match, minutes * 60, reason, me)
    except AlertError as exc:
        fail(str(exc))
    typer.echo(f"silence {silence_id}: {' '.join(match)} for {minutes:g} min")


@alerts_app.command("silences")
def alerts_silences(
    all_: Annotated[bool, typer.Option("--all", help="Include expired silences.")] = False,
) -> None:
    """Silences that are active or still to start: id, state, until when, matchers, who and why."""
    rows = _alert_service().silences(include_expired=all_)
    typer.echo(f"{'id':>5} {'state':8} {'ends UTC':16} {'by':12} matchers -- reason")
    for r in rows:
        typer.echo(
            f"{r['id']:>5} {r['state']:8} {r['ends_at']:%m-%d %H:%M:%S}  {r['created_by']:12}"
            f" {' '.join(r['matchers'])} -- {r['reason']}"
        )


@alerts_app.command("silence-edit")
def alerts_silence_edit(
    silence_id: int,
    officer: Officer,
    match: Annotated[
        list[str] | None, typer.Option("--match", help="Replace the matchers (repeatable).")
    ] = None,
    minutes: Annotated[float | None, typer.Option(min=0.1, help="Last this long from now.")] = None,
    reason: Annotated[str | None, typer.Option(help="A new reason.")] = None,
) -> None:
    """Change a silence's matchers, remaining time or reason (written to the alert log)."""
    me = _officer(officer)
    _silence_action(
        lambda svc: svc.edit_silence(
            silence_id,
            me,
            matchers=match or None,
            duration_s=minutes * 60 if minutes else None,
            reason=reason,
        )
    )


@alerts_app.command("unsilence")
def alerts_unsilence(
    silence_id: int,
    officer: Officer,
    note: Annotated[str | None, typer.Option(help="Why it ends early.")] = None,
) -> None:
    """Expire a silence now; alerts it muted that are still open are announced at the next tick."""
    me = _officer(officer)
    _silence_action(lambda svc: svc.expire_silence(silence_id, me, note))


@alerts_app.command("deliveries")
def alerts_deliveries(
    failed: Annotated[bool, typer.Option("--failed", help="Only deliveries that failed.")] = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 50,
) -> None:
    """Notifications sent, per receiver: delivered or not, after how many attempts, and why not."""
    from citybrain.store.alert_store import deliveries

    settings = load_settings()
    need(settings, "database_url")
    with connect(settings.database_url) as conn:
        rows = deliveries(conn, failed, limit)
    typer.echo(f"{'at UTC':15} {'receiver':9} {'result':6} {'tries':>5} {'alerts':12} group -- error")
    for r in rows:
        alerts = ",".join(map(str, r["alert_ids"][:4])) + ("…" if len(r["alert_ids"]) > 4 else "")
        typer.echo(
            f"{r['at']:%m-%d %H:%M:%S}  {r['receiver']:9} {'ok' if r['ok'] else 'FAILED':6} "
            f"{r['attempts']:>5}"
            f" {alerts:12} {r['group_key']}{' -- ' + r['error'] if r['error'] else ''}"
        )


dlq_app = typer.Typer(
    help="Dead letters: the events the worker refused, why, and re-sending fixed ones.", no_args_is_help=True
)
app.add_typer(dlq_app, name="dlq")


@dlq_app.command("list")
def dlq_list(
    reason: Annotated[
        str | None, typer.Option(help="Only this reason (malformed, invalid, too_old …).")
    ] = None,
    topic: Annotated[str | None, typer.Option(help="Only dead letters from this input topic.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 50,
) -> None:
    """Dead letters, newest first."""
    from citybrain.store import dead_letters

    with connect(app_url(load_settings())) as conn:
        rows = dead_letters.listing(conn, reason=reason, topic=topic, limit=limit)
    typer.echo(f"{'id':>7} {'received UTC':19} {'source':24} {'reason':22} {'bytes':>9} detail")
    for r in rows:
        source = f"{r['source_topic']}[{r['source_partition']}]@{r['source_offset']}"
        flag = " (replayed)" if r["replayed_at"] else ""
        typer.echo(
            f"{r['id']:>7} {r['received_at']:%Y-%m-%d %H:%M:%S} {source:24} {r['reason']:22} "
            f"{r['payload_size']:>9,} {r['detail'][:80]}{flag}"
        )


@dlq_app.command("show")
def dlq_show(dead_letter_id: int) -> None:
    """One dead letter whole: where it came from, why, and its payload."""
    from citybrain.store import dead_letters

    with connect(app_url(load_settings())) as conn:
        found = dead_letters.get(conn, [dead_letter_id])
    if not found:
        fail(f"no dead letter {dead_letter_id}")
    d = found[0]
    for name in (
        "id",
        "received_at",
        "source_topic",
        "source_partition",
        "source_offset",
        "reason",
        "detail",
        "payload_size",
        "payload_sha256",
        "truncated",
        "replayed_at",
        "replayed_by",
    ):
        typer.echo(f"{name:>16}: {d[name]}")
    key = bytes(d["key"]).decode("utf-8", "replace") if d["key"] is not None else ""
    typer.echo(f"{'key':>16}: {key}")
    typer.echo(f"{'payload':>16}:")
    typer.echo(bytes(d["payload"] or b"").decode("utf-8", "backslashreplace"))


@dlq_app.command("replay")
def dlq_replay(
    ids: Annotated[list[int], typer.Argument(help="Dead letter ids.")],
    actor: Annotated[str, typer.Option("--as", help="Your user name (an enabled officer or admin account).")],
    fixed: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Send this file's contents instead (one id only)."),
    ] = None,
) -> None:
    """Send dead letters back to their input topic, as they were or fixed; the worker judges them again."""
    from citybrain.replay import ReplayError, replay

    settings = load_settings()
    need(settings, "kafka_bootstrap")
    if fixed is not None and len(ids) != 1:
        raise typer.BadParameter(
            "--fixed replaces one dead letter's payload: give exactly one id", param_hint="--fixed"
        )
    me = _officer(actor)
    with connect(app_url(settings)) as conn:
        try:
            sent = replay(
                conn,
                settings.kafka_bootstrap,
                ids,
                me,
                fixed=fixed.read_bytes() if fixed is not None else None,
            )
        except ReplayError as exc:
            fail(str(exc))
    typer.echo(f"re-sent {sent} dead letter(s) to their topics")


instructions_app = typer.Typer(
    help="Leaders' instructions (批示) on alerts and cases: give one, list them, mark one done.",
    no_args_is_help=True,
)
app.add_typer(instructions_app, name="instructions")


def _instructions(action) -> None:
    from citybrain.alerts.instructions import InstructionService
    from citybrain.alerts.service import AlertError

    try:
        row = action(InstructionService(reachable(app_url(load_settings()))))
    except AlertError as exc:
        typer.secho(f"citybrain: {exc}", err=True, fg=typer.colors.YELLOW)
        raise typer.Exit(1) from None
    on = f"alert {row['alert_id']}" if row["alert_id"] is not None else f"case {row['case_id']}"
    state = f"done by {row['done_by']}" if row.get("done_by") else f"due {row['deadline']:%Y-%m-%d %H:%M} UTC"
    typer.echo(f"instruction {row['id']} on {on} for {row['unit']}: {state}")


@instructions_app.command("list")
def instructions_list(
    all_: Annotated[bool, typer.Option("--all", help="Include the completed ones.")] = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 50,
) -> None:
    """Open instructions, the most pressing first (and with --all the completed ones after them)."""
    from citybrain.store import instructions as store

    with connect(app_url(load_settings())) as conn:
        rows = store.listing(conn, None, open_only=not all_, limit=limit)
    typer.echo(f"{'id':>5} {'state':8} {'on':18} {'district':8} {'due UTC':11} {'by':10} {'unit':16} text")
    for r in rows:
        state = "overdue" if r["overdue"] else "open" if r["open"] else "done"
        on = f"alert {r['alert_id']}" if r["alert_id"] is not None else f"case {r['case_id']}"
        typer.echo(
            f"{r['id']:>5} {state:8} {on:18} {r['district'] or '':8} {r['deadline']:%m-%d %H:%M}"
            f" {r['created_by']:10} {r['unit']:16} {r['body']}"
            + (f"  [done by {r['done_by']}: {r['note']}]" if r["done_by"] else "")
        )


@instructions_app.command("add")
def instructions_add(
    text: Annotated[str, typer.Argument(help="What must be done.")],
    unit: Annotated[str, typer.Option(help="The unit that must act.")],
    hours: Annotated[float, typer.Option(min=0.01, help="Hours from now to the deadline.")],
    leader: Annotated[str, typer.Option("--as", help="Your user name (an enabled leader or admin).")],
    alert: Annotated[int | None, typer.Option(help="The alert it is on.")] = None,
    case: Annotated[str | None, typer.Option(help="The case it is on (instead of an alert).")] = None,
) -> None:
    """Give an instruction on an alert (--alert) or a case (--case); it is written to the alert's log."""
    if (alert is None) == (case is None):
        fail("name one alert (--alert ID) or one case (--case ID)")
    _instructions(lambda svc: svc.give(leader, text, unit, hours, alert_id=alert, case_id=case))


@instructions_app.command("done")
def instructions_done(
    instruction_id: int,
    note: Annotated[str, typer.Option(help="What was done.")],
    officer: Officer,
) -> None:
    """Mark an instruction done, with a note; once only."""
    _instructions(lambda svc: svc.complete(instruction_id, officer, note))


users_app = typer.Typer(
    help="Dashboard accounts (stored in PostgreSQL, passwords hashed with argon2).", no_args_is_help=True
)
app.add_typer(users_app, name="users")
UserName = Annotated[str, typer.Argument(help="Sign-in name: lower-case letters, digits, . _ -")]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from standard input (one line) instead of asking twice."
    ),
]


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


def _accounts(action):
    with connect(owner_url(load_settings()), autocommit=True) as conn:
        return action(conn)


@users_app.command("add")
def users_add(
    username: UserName,
    role: Annotated[
        str, typer.Option(help="viewer, officer, leader, admin, or wall (an unattended screen).")
    ],
    name: Annotated[
        str | None, typer.Option(help="Name shown on screens and in the alert log, e.g. 王五.")
    ] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Create an account."""
    from citybrain import accounts

    password = _read_password(password_stdin)
    account = _accounts(lambda conn: accounts.add(conn, username, role, password, name))
    typer.echo(f"user {account.username} ({account.display_name}) added as {account.role.value}")


@users_app.command("passwd")
def users_passwd(username: UserName, password_stdin: PasswordStdin = False) -> None:
    """Set a new password (signs the user out everywhere)."""
    from citybrain import accounts

    password = _read_password(password_stdin)
    _accounts(lambda conn: accounts.change_password(conn, username, password))
    typer.echo(f"password of {username} changed")


@users_app.command("disable")
def users_disable(
    username: UserName,
    enable: Annotated[bool, typer.Option("--enable", help="Enable the account again instead.")] = False,
) -> None:
    """Disable an account (it can no longer sign in; open sessions end within a refresh)."""
    from citybrain import accounts

    _accounts(lambda conn: accounts.set_disabled(conn, username, not enable))
    typer.echo(f"user {username} {'enabled' if enable else 'disabled'}")


@users_app.command("log")
def users_log(limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 50) -> None:
    """The sign-in audit: sign-ins, failures, throttled attempts and sign-outs, newest first."""
    from citybrain.store import users as store

    rows = _accounts(lambda conn: store.sign_in_history(conn, limit))
    typer.echo(f"{'at UTC':19} {'user':16} {'outcome':13} from")
    for r in rows:
        typer.echo(
            f"{r['at']:%Y-%m-%d %H:%M:%S} {r['username']:16} {r['outcome']:13} {r['remote_addr'] or ''}"
        )


@users_app.command("list")
def users_list() -> None:
    """Every account with its role and last sign-in."""
    from citybrain.store import users as store

    rows = _accounts(store.all_users)
    typer.echo(f"{'user':16} {'role':8} {'state':8} {'last sign-in UTC':17} name")
    for r in rows:
        last = f"{r['last_sign_in']:%Y-%m-%d %H:%M}" if r["last_sign_in"] else "never"
        typer.echo(
            f"{r['username']:16} {r['role']:8} {'disabled' if r['disabled'] else 'active':8} {last:17}"
            f" {r['display_name']}"
        )


bench_app = typer.Typer(
    help="Measure throughput against the machine's raw limits, in the same run.", no_args_is_help=True
)
app.add_typer(bench_app, name="bench")


@bench_app.command("ingest")
def bench_ingest(
    rows: Annotated[int, typer.Option(min=1000, help="Rows per round.")] = 200_000,
    batch: Annotated[int, typer.Option(min=1, help="Rows per COPY batch.")] = 2_000,
    rounds: Annotated[int, typer.Option(min=1, help="Rounds; medians are reported.")] = 3,
    output: Annotated[Path, typer.Option(help="Where to write the results (JSON).")] = Path(
        "bench-ingest.json"
    ),
) -> None:
    """Rows/s of the batch writer vs a bare COPY of the same rows into the same table.

    Uses a scratch database on CITYBRAIN_DATABASE_URL's server, or a throwaway embedded PostgreSQL.
    """
    from citybrain.bench import ingest
    from citybrain.bench.runner import save, scratch_database
    from citybrain.runtime.supervisor import interrupt_on_signals

    interrupt_on_signals()
    settings = load_settings()
    if settings.database_url:  # else a throwaway embedded PostgreSQL
        reachable(settings.database_url)
    typer.echo(f"bench ingest: {rows:,} rows in batches of {batch:,}, {rounds} rounds")
    with scratch_database(settings.database_url) as url:
        result = save(ingest.run(url, rows, batch, rounds, echo=typer.echo), output)
    for name, rate in result["rows_per_s"].items():
        typer.echo(f"{name:>14}: {rate:>10,} rows/s")
    typer.echo(
        f"writer / bare COPY: {result['ratio_writer_to_bare_copy']:.2f}   "
        f"replay / bare COPY: {result['ratio_replay_to_bare_copy']:.2f}   (written to {output})"
    )


@bench_app.command("pipeline")
def bench_pipeline(
    events: Annotated[
        int,
        typer.Option(
            min=1000,
            help="Events in each backlog the worker drains (the first batch's way through the worker, about"
            " 0.2 s, is a third of a 100,000-event drain and a tenth of this default's).",
        ),
    ] = 300_000,
    backlog: Annotated[
        int,
        typer.Option(
            min=0, help="Readings in the after-an-outage backlog whose memory is measured (0: skip)."
        ),
    ] = 1_000_000,
    output: Annotated[Path, typer.Option(help="Where to write the results (JSON).")] = Path(
        "bench-pipeline.json"
    ),
) -> None:
    """The worker's throughput and latency against produce-only, consume-only and COPY-only rates.

    Starts its own embedded broker and uses a scratch database (as `bench ingest` does).
    """
    from citybrain.bench import pipeline
    from citybrain.bench.runner import save
    from citybrain.runtime.supervisor import interrupt_on_signals

    interrupt_on_signals()
    settings = load_settings()
    if settings.database_url:  # else a throwaway embedded PostgreSQL
        reachable(settings.database_url)
    typer.echo(f"bench pipeline: {events:,} readings, {settings.partitions} partitions")
    result = save(pipeline.run_standalone(settings, events, echo=typer.echo, backlog_events=backlog), output)
    typer.echo(
        f"worker / consume-only: {result['ratio_worker_to_consume_only']:.2f}   "
        f"worker / COPY-only: {result['ratio_worker_to_copy_only']:.2f}   "
        f"worker / reference: {result['ratio_worker_to_reference']:.2f}   "
        f"two workers / one: {result['ratio_two_workers_to_one']:.2f}   (written to {output})"
    )


@bench_app.command("wall")
def bench_wall(
    screens: Annotated[int, typer.Option(min=1, help="Wall screens polling at once.")] = 50,
    refreshes: Annotated[int, typer.Option(min=2, help="Refreshes per screen.")] = 15,
    days: Annotated[int, typer.Option(min=1, help="Days of history in the database.")] = 30,
    output: Annotated[Path, typer.Option(help="Where to write the results (JSON).")] = Path(
        "bench-wall.json"
    ),
) -> None:
    """Server time and bytes per refresh of many wall screens over a month of the city's history.

    Uses a scratch database (plain storage) on CITYBRAIN_DATABASE_URL's server, or a throwaway embedded
    PostgreSQL, and a dashboard of its own.
    """
    from citybrain.bench import wall
    from citybrain.bench.runner import save
    from citybrain.runtime.supervisor import interrupt_on_signals
    from citybrain.store.synthetic import MonthShape

    interrupt_on_signals()
    settings = load_settings()
    if settings.database_url:  # else a throwaway embedded PostgreSQL
        reachable(settings.database_url)
    typer.echo(f"bench wall: {screens} screens over {days} days of Chengdu's history")
    try:
        result = save(wall.run(settings, screens, refreshes, MonthShape(days=days), echo=typer.echo), output)
    except wall.BenchError as exc:
        fail(f"bench wall: {exc}")
    cost = result["screens"]
    typer.echo(
        f"  refresh server time p50 {cost['p50_ms']:.0f} ms, p95 {cost['p95_ms']:.0f} ms over"
        f" {cost['screens']} screens; {cost['p50_bytes']:,} bytes per refresh (first answer"
        f" {cost['first_bytes']:,}); errors {cost['errors']}   (written to {output})"
    )


@bench_app.command("leader")
def bench_leader(
    days: Annotated[int, typer.Option(min=2, help="Days of case and risk history.")] = 365,
    output: Annotated[Path, typer.Option(help="Where to write the results (JSON).")] = Path(
        "bench-leader.json"
    ),
) -> None:
    """What each read of the leaders' pages (/map, /district, /cases) costs over a year of Chengdu's cases.

    Uses a scratch database (plain storage) on CITYBRAIN_DATABASE_URL's server, or a throwaway embedded
    PostgreSQL.
    """
    from citybrain.bench import leader
    from citybrain.bench.runner import save, scratch_database
    from citybrain.runtime.supervisor import interrupt_on_signals

    interrupt_on_signals()
    settings = load_settings()
    typer.echo(f"bench leader: {days} days of Chengdu's citizen cases and risk")
    with scratch_database(settings.database_url) as url:
        result = save(leader.run(settings, url, days, echo=typer.echo), output)
    for name, ms in result["read_ms"].items():
        typer.echo(f"{name:>24}: {ms:>8.1f} ms")
    typer.echo(f"(medians of 5 uncached reads; written to {output})")


@bench_app.command("video")
def bench_video(
    cameras: Annotated[int, typer.Option(min=100, help="Video points placed in the city.")] = 95_000,
    offline: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of points offline.")] = 0.03,
    fault: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of points faulty.")] = 0.01,
    rounds: Annotated[int, typer.Option(min=1, help="Rounds; medians are reported.")] = 3,
    output: Annotated[Path, typer.Option(help="Where to write the results (JSON).")] = Path(
        "bench-video.json"
    ),
) -> None:
    """The video-point map with every camera: server time to build it, its size, and headless Chromium's
    time to draw it.

    Uses a scratch database (as `bench ingest` does) and /usr/bin/chromium for the drawing.
    """
    from citybrain.bench import video_map
    from citybrain.bench.runner import save
    from citybrain.runtime.supervisor import interrupt_on_signals

    interrupt_on_signals()
    settings = load_settings()
    if settings.database_url:  # else a throwaway embedded PostgreSQL
        reachable(settings.database_url)
    if offline + fault > 1:
        fail("--offline and --fault add up to more than every camera")
    typer.echo(f"bench video: {cameras:,} cameras, {offline:.0%} offline, {fault:.0%} faulty")
    result = save(
        video_map.run_standalone(
            settings.database_url, settings.config_dir, cameras, offline, fault, rounds, echo=typer.echo
        ),
        output,
    )
    drawn = f"{result['render_ms']:,.0f} ms" if result.get("render_ms") is not None else "not measured"
    typer.echo(
        f"server {result['server_total_ms']:,.0f} ms · payload {result['payload_bytes'] / 1024:,.0f} KiB"
        f" (refresh {result['patch_bytes'] / 1024:,.0f} KiB)"
        f" · drawn in {drawn}   (written to {output})"
    )


@bench_app.command("hotspots")
def bench_hotspots(
    clusters: Annotated[int, typer.Option(min=1, help="Hot spots planted in the day.")] = 12,
    hours: Annotated[float, typer.Option(min=1, max=72, help="Length of the simulated day.")] = 24,
    seed: Annotated[int, typer.Option(help="Seed of the day's cases and clusters.")] = 1,
    output: Annotated[Path, typer.Option(help="Where to write the results (JSON).")] = Path(
        "bench-hotspots.json"
    ),
) -> None:
    """Precision, recall and delay of appeal hot-spot detection on a seeded day with planted clusters.

    Background appeals at the city's rate, planted clusters (some across district borders), late and
    duplicate events; no broker or database needed: the detector runs on the day's own clock.
    """
    from citybrain.alerts.rules import RulesConfig
    from citybrain.bench import hotspots
    from citybrain.bench.runner import save
    from citybrain.geo.city import City
    from citybrain.geo.registry import build_registry
    from citybrain.hotspots.config import HotspotConfig

    settings = load_settings()
    city = City.load(settings.config_dir)
    cameras, _ = build_registry(city, settings.cameras, 0, settings.seed)
    result = save(
        hotspots.run(
            city,
            cameras,
            HotspotConfig.load(settings.config_dir),
            RulesConfig.load(settings.config_dir),
            clusters,
            hours,
            seed,
            echo=typer.echo,
        ),
        output,
    )
    for name in (
        "planted",
        "planted_on_borders",
        "detected",
        "false_positives",
        "found_twice",
        "precision",
        "recall",
    ):
        typer.echo(f"{name:>32}: {result[name]}")
    for name in ("delay_nth_case_to_detection_s", "delay_nth_case_to_alert_s"):
        typer.echo(f"{name:>32}: p50 {result[name]['p50']} s, max {result[name]['max']} s")
    typer.echo(
        f"{'detector cost':>32}: {result['detector_us_per_event']} µs per event   (written to {output})"
    )


@app.command()
def chaos(
    events: Annotated[int, typer.Option(min=100, help="Messages to send (valid and hostile).")] = 100_000,
    kills: Annotated[int, typer.Option(min=0, help="SIGKILL the worker this many times mid-run.")] = 5,
    db_outage: Annotated[
        float, typer.Option(min=0, help="Stop PostgreSQL this many seconds mid-run (0: no).")
    ] = 30,
    bad_share: Annotated[float, typer.Option(min=0.0, max=0.9, help="Share of hostile messages.")] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of the traffic and of when harm strikes.")] = 1,
    output: Annotated[Path, typer.Option(help="Where to write the figures (JSON).")] = Path("chaos.json"),
) -> None:
    """Prove nothing is lost: kill the worker, stop the database, send hostile input, then account for every
    event.

    Runs on a broker, PostgreSQL and small city of its own; exits 1 when any event is lost,
    duplicated or dead-lettered for the wrong reason.
    """
    from citybrain.bench.runner import save
    from citybrain.chaos.run import Harm, run
    from citybrain.runtime.supervisor import interrupt_on_signals

    interrupt_on_signals()
    settings = load_settings()
    typer.echo(
        f"chaos: {events:,} messages, {bad_share:.0%} hostile, {kills} worker kills, "
        f"{db_outage:g} s database outage"
    )
    report = run(
        settings,
        events,
        Harm(kills=kills, db_outage_s=db_outage),
        bad_share=bad_share,
        seed=seed,
        echo=typer.echo,
    )
    figures = save({"benchmark": "chaos", **report.summary()}, output)
    for name in (
        "sent",
        "valid",
        "hostile",
        "exact_replays",
        "stored",
        "dead_lettered",
        "lost",
        "duplicated",
        "wrong_reason",
        "unexpected",
        "worker_kills",
        "database_outages",
        "worker_alive",
        "seconds",
    ):
        typer.echo(f"{name:>16}: {figures[name]}")
    for problem in (report.lost + report.duplicated + report.wrong_reason + report.unexpected)[:20]:
        typer.secho(f"  {problem}", fg=typer.colors.RED)
    typer.echo(f"{'PASS' if report.ok else 'FAIL'} (written to {output})")
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def schema() -> None:
    """Print the JSON Schema of every input topic's events."""
    from citybrain.events import json_schemas

    typer.echo(json.dumps(json_schemas(), indent=2, ensure_ascii=False))


def _log_level() -> str:
    """CITYBRAIN_LOG_LEVEL for logging set up before the command runs (a bad value: INFO, and the command
    itself names the setting)."""
    try:
        return Settings().log_level
    except ValidationError:
        return "INFO"


def main() -> None:
    from citybrain import logs

    logs.configure(_log_level())
    try:
        app()
    except KNOWN_ERRORS as exc:
        typer.secho(f"citybrain: error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(2)
