"""The alert lifecycle in the database: the engine's ticks and the officers' actions.

Every change runs in one transaction that also appends to alert_log (who,
what, when, before and after). A tick locks the open alerts and the engine's
timers for its few milliseconds, so an officer's action and the engine never
overwrite each other; two officers acting on one alert are serialised by
its row lock, and the second is told what the first did. What someone must
hear about goes to the notification outbox in the tick's own transaction
(citybrain.alerts.dispatch sends it), so deciding and recording never part.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.rows import dict_row

from citybrain.alerts.engine import Kind, Observation, OpenAlert, Result, Silence, Track, evaluate
from citybrain.alerts.grouping import group_key
from citybrain.alerts.matchers import Matcher, MatcherError, parse_all
from citybrain.alerts.rules import RulesConfig
from citybrain.events import AlertEvent
from citybrain.store import alert_store

SYSTEM = "citybrain"
STATE_COLUMNS = (
    "status",
    "acknowledged",
    "acked_by",
    "assignee",
    "resolved",
    "escalation_level",
    "muted",
    "value",
    "peak",
    "seen_count",
)


class AlertError(Exception):
    """An officer's action cannot be done; the message says why."""


class NotFound(AlertError):
    pass


class Conflict(AlertError):
    """The alert is not in a state that allows the action (for example already acknowledged)."""


def _state(row: Mapping) -> dict:
    return {c: row[c] for c in STATE_COLUMNS}


def _json(value) -> str | None:
    return None if value is None else json.dumps(value, default=str)


def _event(
    row: Mapping, action: str, actor: str, note: str | None = None, muted_for_s: float | None = None
) -> AlertEvent:
    return AlertEvent(
        event_time=datetime.now(UTC),
        action=action,
        actor=actor,
        alert_id=row["id"],
        dedup_key=row["dedup_key"],
        rule_id=row["rule_id"],
        severity=row["severity"],
        title=row["title"],
        district=row["district"],
        status=row["status"],
        acknowledged=row["acknowledged"],
        assignee=row["assignee"],
        resolved=row["resolved"],
        escalation_level=row["escalation_level"],
        muted=row["muted"],
        value=row["value"],
        note=note,
        muted_for_s=muted_for_s,
    )


def _matchers(matchers: Mapping[str, str] | Iterable[str | Matcher]) -> tuple[Matcher, ...]:
    try:
        parsed = parse_all(matchers)
    except MatcherError as exc:
        raise AlertError(str(exc)) from None
    if not parsed:
        raise AlertError("a silence needs at least one matcher (for example district=510104)")
    if all(m.matches({}) for m in parsed):
        raise AlertError(
            "these matchers would silence every alert: name at least one label that must be present"
        )
    return parsed


def _silence_view(row: Mapping, now: datetime | None = None) -> dict:
    """A silence for people: matchers as text and, when ``now`` is given, its state at that time."""
    view = {**row, "matchers": [str(m) for m in parse_all(row["matchers"])]}
    if now is not None:
        view["state"] = (
            "expired" if row["ends_at"] <= now else "pending" if row["starts_at"] > now else "active"
        )
    return view


class AlertService:
    def __init__(self, database_url: str, publish: Callable[[AlertEvent], None] | None = None) -> None:
        self.database_url = database_url
        self.publish = publish

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(self.database_url, row_factory=dict_row)

    @staticmethod
    def _log(cur, alert_id, actor, action, before=None, after=None, note=None, silence_id=None) -> None:
        cur.execute(
            "INSERT INTO alert_log (alert_id, silence_id, actor, action, before, after, note)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (alert_id, silence_id, actor, action, _json(before), _json(after), note),
        )

    def _emit(self, events: list[AlertEvent]) -> list[AlertEvent]:
        if self.publish:
            for e in events:
                self.publish(e)
        return events

    # --- the engine's side -------------------------------------------------------------------------------

    def tick(
        self, now: datetime, observations: Iterable[Observation], cfg: RulesConfig
    ) -> tuple[Result, list[AlertEvent]]:
        """Load state, run the engine, write what happened: one transaction."""
        with self._connect() as conn, conn.transaction(), conn.cursor() as cur:
            tracks, silences = self._load(cur, now)
            result = evaluate(now, tracks, observations, silences, cfg)
            events = self._apply(cur, result, now, cfg, tracks)
        return result, self._emit(events)

    def _load(self, cur, now: datetime) -> tuple[dict[str, Track], list[Silence]]:
        cur.execute("SELECT * FROM alert_tracks FOR UPDATE")
        tracks = {
            r["dedup_key"]: Track(
                r["rule_id"],
                r["pending_since"],
                r["clear_since"],
                r["suppressed"],
                labels=r["labels"],
                evaluated_at=r["evaluated_at"],
            )
            for r in cur.fetchall()
        }
        cur.execute("SELECT * FROM alerts WHERE status = 'active' AND NOT resolved FOR UPDATE")
        for r in cur.fetchall():
            alert = OpenAlert(
                r["id"],
                r["dedup_key"],
                r["rule_id"],
                r["severity"],
                r["labels"],
                r["title"],
                r["opened_at"],
                r["value"],
                r["peak"],
                r["acknowledged"],
                r["escalation_level"],
                r["muted"],
                r["muted_since"],
                r["muted_s"],
                r["notified_at"],
            )
            base = tracks.get(r["dedup_key"], Track(r["rule_id"]))
            tracks[r["dedup_key"]] = replace(base, alert=alert)
        silences = [
            Silence(r["id"], r["matchers"], r["starts_at"], r["ends_at"])
            for r in alert_store.active_silences(cur, now)
        ]
        return tracks, silences

    def _apply(
        self, cur, result: Result, now: datetime, cfg: RulesConfig, loaded: Mapping[str, Track]
    ) -> list[AlertEvent]:
        events: list[AlertEvent] = []
        ids: dict[str, int] = {
            t.alert.key: t.alert.id for t in result.tracks.values() if t.alert and t.alert.id
        }
        notify = {id(t) for t in result.notify}
        outbox = []
        for tr in result.transitions:
            a = tr.alert
            if tr.kind is Kind.OPEN:
                cur.execute(
                    "INSERT INTO alerts (dedup_key, rule_id, scope, severity, district, title, labels,"
                    " opened_at,"
                    " last_seen, value, peak, muted) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (dedup_key) WHERE status = 'active' AND NOT resolved"
                    " DO NOTHING RETURNING *",
                    (
                        a.key,
                        a.rule_id,
                        a.labels.get("scope", ""),
                        a.severity,
                        a.labels.get("district"),
                        a.title,
                        json.dumps(dict(a.labels)),
                        now,
                        now,
                        a.value,
                        a.peak,
                        tr.muted,
                    ),
                )
                row = cur.fetchone()
                if row is None:
                    continue
                ids[a.key] = row["id"]
                self._log(cur, row["id"], SYSTEM, "open", after=_state(row), note=a.title)
            else:
                alert_id = a.id or ids.get(a.key)
                if alert_id is None:
                    continue
                cur.execute("SELECT * FROM alerts WHERE id = %s", (alert_id,))
                before = cur.fetchone()
                cur.execute(*self._transition_sql(tr, alert_id, now))
                row = cur.fetchone()
                if row is None:
                    continue
                self._log(
                    cur,
                    alert_id,
                    SYSTEM,
                    tr.kind.value,
                    _state(before),
                    _state(row),
                    note=f"muted {tr.muted_for_s:.0f} s" if tr.kind is Kind.UNMUTE else None,
                )
            event = _event(row, tr.kind.value, SYSTEM, muted_for_s=tr.muted_for_s)
            events.append(event)
            route = cfg.notify.get(a.severity)
            if id(tr) in notify and route is not None:
                outbox.append(
                    (
                        row["id"],
                        tr.kind.value,
                        a.severity,
                        group_key(a.severity, route.group_by, a.labels),
                        event.model_dump_json(),
                        now,
                    )
                )
        alert_store.enqueue(cur, outbox)
        seen = [(ids[k], v) for k, v in result.seen.items() if k in ids]
        cur.executemany(
            "UPDATE alerts SET last_seen = %s, seen_count = seen_count + 1, value = coalesce(%s, value)"
            " WHERE id = %s",
            [(now, v, i) for i, v in seen],
        )
        cur.executemany(
            "UPDATE alerts SET muted = %s, muted_since = %s, muted_s = %s, notified_at = %s WHERE id = %s",
            [
                (*_clocks(t.alert), ids[k])
                for k, t in result.tracks.items()
                if t.alert is not None
                and k in ids
                and (
                    k not in loaded or loaded[k].alert is None or _clocks(loaded[k].alert) != _clocks(t.alert)
                )
            ],
        )
        cur.execute("DELETE FROM alert_tracks WHERE NOT (dedup_key = ANY(%s))", (list(result.tracks),))
        cur.executemany(
            "INSERT INTO alert_tracks"
            " (dedup_key, rule_id, pending_since, clear_since, suppressed, labels, evaluated_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (dedup_key) DO UPDATE SET"
            " pending_since = EXCLUDED.pending_since, clear_since = EXCLUDED.clear_since,"
            " suppressed = EXCLUDED.suppressed, labels = EXCLUDED.labels,"
            " evaluated_at = EXCLUDED.evaluated_at",
            [
                (k, t.rule_id, t.pending_since, t.clear_since, t.suppressed, _json(t.labels), t.evaluated_at)
                for k, t in result.tracks.items()
            ],
        )
        return events

    @staticmethod
    def _transition_sql(tr, alert_id: int, now: datetime) -> tuple[str, tuple]:
        """The row change for one transition; the event is built from the row it returns, so it carries
        the mute state after this tick."""
        a = tr.alert
        if tr.kind is Kind.UPDATE:
            return (
                "UPDATE alerts SET value = %s, peak = greatest(peak, %s), muted = %s, labels = %s, title = %s"
                " WHERE id = %s RETURNING *",
                (a.value, a.peak, tr.muted, json.dumps(dict(a.labels)), a.title, alert_id),
            )
        if tr.kind is Kind.CLEAR:
            return (
                "UPDATE alerts SET status = 'cleared', cleared_at = %s WHERE id = %s AND status = 'active'"
                " RETURNING *",
                (now, alert_id),
            )
        if tr.kind is Kind.ESCALATE:  # unless an officer acknowledged it meanwhile
            return (
                "UPDATE alerts SET escalation_level = %s, escalated_at = %s, muted = %s, notified_at = %s"
                " WHERE id = %s AND NOT acknowledged AND NOT resolved AND escalation_level < %s RETURNING *",
                (a.escalation_level, now, tr.muted, now, alert_id, a.escalation_level),
            )
        # unmute, repeat: announcements to people who have not acknowledged it yet
        return (
            "UPDATE alerts SET muted = %s, muted_since = %s, muted_s = %s, notified_at = %s"
            " WHERE id = %s AND NOT acknowledged AND NOT resolved RETURNING *",
            (tr.muted, a.muted_since, a.muted_s, now, alert_id),
        )

    # --- the officers' side ------------------------------------------------------------------------------

    def _act(
        self,
        alert_id: int,
        actor: str,
        action: str,
        check,
        update_sql: str | None,
        params: tuple,
        note: str | None = None,
        after_hook=None,
    ) -> AlertEvent:
        if not actor:
            raise AlertError("an action needs the officer's name")
        with self._connect() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT * FROM alerts WHERE id = %s FOR UPDATE", (alert_id,))
            before = cur.fetchone()
            if before is None:
                raise NotFound(f"alert {alert_id} does not exist")
            check(before)
            if update_sql:
                cur.execute(update_sql, (*params, alert_id))
                after = cur.fetchone()
            else:
                after = before
            if after_hook:
                after_hook(cur, after)
            self._log(cur, alert_id, actor, action, _state(before), _state(after), note)
        return self._emit([_event(after, action, actor, note)])[0]

    @staticmethod
    def _open(row) -> None:
        if row["resolved"]:
            raise Conflict(
                f"alert {row['id']} was resolved by {row['resolved_by']} at {row['resolved_at']:%H:%M:%S} UTC"
            )

    def acknowledge(self, alert_id: int, actor: str) -> AlertEvent:
        def check(row):
            self._open(row)
            if row["acknowledged"]:
                raise Conflict(
                    f"alert {alert_id} was already acknowledged by {row['acked_by']}"
                    f" at {row['acked_at']:%H:%M:%S} UTC"
                )

        return self._act(
            alert_id,
            actor,
            "acknowledge",
            check,
            "UPDATE alerts SET acknowledged = true, acked_by = %s, acked_at = now()"
            " WHERE id = %s RETURNING *",
            (actor,),
        )

    def assign(self, alert_id: int, assignee: str, actor: str) -> AlertEvent:
        if not assignee:
            raise AlertError("assign to whom?")
        return self._act(
            alert_id,
            actor,
            "assign",
            self._open,
            "UPDATE alerts SET assignee = %s WHERE id = %s RETURNING *",
            (assignee,),
            note=assignee,
        )

    def comment(self, alert_id: int, text: str, actor: str) -> AlertEvent:
        if not text.strip():
            raise AlertError("a comment needs text")
        return self._act(alert_id, actor, "comment", lambda row: None, None, (), note=text.strip())

    def resolve(self, alert_id: int, actor: str, note: str) -> AlertEvent:
        if not note.strip():
            raise AlertError("resolving an alert needs a note saying what was done")

        def keep_closed(cur, row):
            if row["status"] == "active":  # still firing: do not reopen until the condition clears
                cur.execute(
                    "INSERT INTO alert_tracks (dedup_key, rule_id, suppressed, labels)"
                    " VALUES (%s, %s, true, %s)"
                    " ON CONFLICT (dedup_key) DO UPDATE SET suppressed = true, labels = EXCLUDED.labels",
                    (row["dedup_key"], row["rule_id"], json.dumps(row["labels"])),
                )

        return self._act(
            alert_id,
            actor,
            "resolve",
            self._open,
            "UPDATE alerts SET resolved = true, resolved_by = %s, resolved_at = now(),"
            " resolution_note = %s WHERE id = %s RETURNING *",
            (actor, note.strip()),
            note=note.strip(),
            after_hook=keep_closed,
        )

    def silence(
        self,
        matchers: Mapping[str, str] | Iterable[str | Matcher],
        duration_s: float,
        reason: str,
        actor: str,
        starts_at: datetime | None = None,
    ) -> int:
        """Mute alerts whose labels match every matcher, for ``duration_s``; returns the silence id.

        Matchers are ``{label: value}`` (equality) or strings: ``district=510104``, ``rule=~"camera_.*"``,
        ``severity!=warning``, ``device=""`` (label absent)."""
        parsed = _matchers(matchers)
        if duration_s <= 0:
            raise AlertError("a silence must last a positive time")
        if not reason.strip() or not actor:
            raise AlertError("a silence needs a reason and the officer's name")
        starts = starts_at or datetime.now(UTC)
        ends = starts + timedelta(seconds=duration_s)
        stored = [m.to_dict() for m in parsed]
        with self._connect() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute(
                "INSERT INTO silences (matchers, starts_at, ends_at, reason, created_by)"
                " VALUES (%s, %s, %s, %s, %s)"
                " RETURNING id",
                (json.dumps(stored), starts, ends, reason.strip(), actor),
            )
            silence_id = cur.fetchone()["id"]
            self._log(
                cur,
                None,
                actor,
                "silence",
                after={"matchers": [str(m) for m in parsed], "starts_at": starts, "ends_at": ends},
                note=reason.strip(),
                silence_id=silence_id,
            )
        return silence_id

    def silences(self, include_expired: bool = False, now: datetime | None = None) -> list[dict]:
        """Silences that are active or still to start (and expired ones if asked), latest ending first;
        matchers as text, ``state`` one of active, pending, expired."""
        with self._connect() as conn:
            rows = alert_store.silences(conn, now or datetime.now(UTC), include_expired)
        return [_silence_view(r) for r in rows]

    def edit_silence(
        self,
        silence_id: int,
        actor: str,
        *,
        matchers: Mapping[str, str] | Iterable[str | Matcher] | None = None,
        duration_s: float | None = None,
        reason: str | None = None,
        now: datetime | None = None,
    ) -> dict:
        """Change a silence's matchers, its remaining duration (from now, or from its start if it has not
        started) or its reason. An expired silence cannot be revived: create a new one."""
        now = now or datetime.now(UTC)
        if not actor:
            raise AlertError("an action needs the officer's name")
        if duration_s is not None and duration_s <= 0:
            raise AlertError("a silence must last a positive time (to end it now, expire it)")
        parsed = _matchers(matchers) if matchers is not None else None
        if reason is not None and not reason.strip():
            raise AlertError("a silence needs a reason")
        with self._connect() as conn, conn.transaction(), conn.cursor() as cur:
            before = self._live_silence(cur, silence_id, now)
            starts = before["starts_at"]
            ends = (
                before["ends_at"] if duration_s is None else max(starts, now) + timedelta(seconds=duration_s)
            )
            stored = [m.to_dict() for m in parsed] if parsed is not None else before["matchers"]
            after = alert_store.update_silence(
                cur,
                silence_id,
                stored,
                starts,
                ends,
                reason.strip() if reason else before["reason"],
                actor,
                now,
            )
            self._log(
                cur,
                None,
                actor,
                "edit_silence",
                _silence_log(before),
                _silence_log(after),
                note=reason.strip() if reason else None,
                silence_id=silence_id,
            )
        return _silence_view(after, now)

    def expire_silence(
        self, silence_id: int, actor: str, note: str | None = None, now: datetime | None = None
    ) -> dict:
        """End a silence now (before it was due to end); the alerts it muted are announced at the next
        tick."""
        now = now or datetime.now(UTC)
        if not actor:
            raise AlertError("an action needs the officer's name")
        with self._connect() as conn, conn.transaction(), conn.cursor() as cur:
            before = self._live_silence(cur, silence_id, now)
            starts = min(before["starts_at"], now)  # one not started yet ends before it begins
            after = alert_store.update_silence(
                cur, silence_id, before["matchers"], starts, now, before["reason"], actor, now
            )
            self._log(
                cur,
                None,
                actor,
                "expire_silence",
                _silence_log(before),
                _silence_log(after),
                note=note.strip() if note else None,
                silence_id=silence_id,
            )
        return _silence_view(after, now)

    @staticmethod
    def _live_silence(cur, silence_id: int, now: datetime) -> dict:
        row = alert_store.silence_for_update(cur, silence_id)
        if row is None:
            raise NotFound(f"silence {silence_id} does not exist")
        if row["ends_at"] <= now:
            who = f" by {row['updated_by']}" if row["updated_by"] else ""
            raise Conflict(
                f"silence {silence_id} already ended{who} at {row['ends_at']:%Y-%m-%d %H:%M:%S} UTC"
            )
        return row


def _clocks(alert: OpenAlert) -> tuple:
    """The mute and notification bookkeeping the engine carries from tick to tick."""
    return alert.muted, alert.muted_since, alert.muted_s, alert.notified_at


def _silence_log(row: Mapping) -> dict:
    return {
        "matchers": [str(m) for m in parse_all(row["matchers"])],
        "starts_at": row["starts_at"],
        "ends_at": row["ends_at"],
        "reason": row["reason"],
    }
