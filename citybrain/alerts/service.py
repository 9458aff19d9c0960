"""The alert lifecycle in the database: the engine's ticks and the officers' actions.

Every change runs in one transaction that also appends to alert_log (who,
what, when, before and after). A tick locks the open alerts and the engine's
timers for its few milliseconds, so an officer's action and the engine never
overwrite each other; two officers acting on one alert are serialised by
its row lock, and the second is told what the first did.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.rows import dict_row

from citybrain.alerts.engine import Kind, Observation, OpenAlert, Result, Silence, Track, evaluate
from citybrain.alerts.rules import RulesConfig
from citybrain.events import AlertEvent

SYSTEM = "citybrain"
STATE_COLUMNS = ("status", "acknowledged", "acked_by", "assignee", "resolved", "escalation_level", "muted",
                 "value", "peak", "seen_count")


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


def _event(row: Mapping, action: str, actor: str, note: str | None = None) -> AlertEvent:
    return AlertEvent(
        event_time=datetime.now(UTC), action=action, actor=actor, alert_id=row["id"], dedup_key=row["dedup_key"],
        rule_id=row["rule_id"], severity=row["severity"], title=row["title"], district=row["district"],
        status=row["status"], acknowledged=row["acknowledged"], assignee=row["assignee"], resolved=row["resolved"],
        escalation_level=row["escalation_level"], muted=row["muted"], value=row["value"], note=note,
    )


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

    def tick(self, now: datetime, observations: Iterable[Observation], cfg: RulesConfig) -> tuple[Result, list[AlertEvent]]:
        """Load state, run the engine, write what happened: one transaction."""
        with self._connect() as conn, conn.transaction(), conn.cursor() as cur:
            tracks, silences = self._load(cur, now)
            result = evaluate(now, tracks, observations, silences, cfg)
            events = self._apply(cur, result, now)
        return result, self._emit(events)

    def _load(self, cur, now: datetime) -> tuple[dict[str, Track], list[Silence]]:
        cur.execute("SELECT * FROM alert_tracks FOR UPDATE")
        tracks = {r["dedup_key"]: Track(r["rule_id"], r["pending_since"], r["clear_since"], r["suppressed"])
                  for r in cur.fetchall()}
        cur.execute("SELECT * FROM alerts WHERE status = 'active' AND NOT resolved FOR UPDATE")
        for r in cur.fetchall():
            alert = OpenAlert(r["id"], r["dedup_key"], r["rule_id"], r["severity"], r["labels"], r["title"],
                              r["opened_at"], r["value"], r["peak"], r["acknowledged"], r["escalation_level"])
            base = tracks.get(r["dedup_key"], Track(r["rule_id"]))
            tracks[r["dedup_key"]] = Track(base.rule_id, base.pending_since, base.clear_since, base.suppressed, alert)
        cur.execute("SELECT id, matchers, starts_at, ends_at FROM silences WHERE ends_at > %s", (now,))
        silences = [Silence(r["id"], r["matchers"], r["starts_at"], r["ends_at"]) for r in cur.fetchall()]
        return tracks, silences

    def _apply(self, cur, result: Result, now: datetime) -> list[AlertEvent]:
        events: list[AlertEvent] = []
        ids: dict[str, int] = {t.alert.key: t.alert.id for t in result.tracks.values() if t.alert and t.alert.id}
        for tr in result.transitions:
            a = tr.alert
            if tr.kind is Kind.OPEN:
                cur.execute(
                    "INSERT INTO alerts (dedup_key, rule_id, scope, severity, district, title, labels, opened_at,"
                    " last_seen, value, peak, muted) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (dedup_key) WHERE status = 'active' AND NOT resolved DO NOTHING RETURNING *",
                    (a.key, a.rule_id, a.labels.get("scope", ""), a.severity, a.labels.get("district"), a.title,
                     json.dumps(dict(a.labels)), now, now, a.value, a.peak, tr.muted),
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
                if tr.kind is Kind.UPDATE:
                    cur.execute("UPDATE alerts SET value = %s, peak = greatest(peak, %s) WHERE id = %s RETURNING *",
                                (a.value, a.peak, alert_id))
                elif tr.kind is Kind.CLEAR:
                    cur.execute("UPDATE alerts SET status = 'cleared', cleared_at = %s"
                                " WHERE id = %s AND status = 'active' RETURNING *", (now, alert_id))
                else:  # escalate, unless an officer acknowledged it meanwhile
                    cur.execute("UPDATE alerts SET escalation_level = %s, escalated_at = %s WHERE id = %s"
                                " AND NOT acknowledged AND NOT resolved AND escalation_level < %s RETURNING *",
                                (a.escalation_level, now, alert_id, a.escalation_level))
                row = cur.fetchone()
                if row is None:
                    continue
                self._log(cur, alert_id, SYSTEM, tr.kind.value, _state(before), _state(row))
            events.append(_event(row, tr.kind.value, SYSTEM))
        seen = [(ids[k], v) for k, v in result.seen.items() if k in ids]
        cur.executemany("UPDATE alerts SET last_seen = %s, seen_count = seen_count + 1, value = coalesce(%s, value)"
                        " WHERE id = %s", [(now, v, i) for i, v in seen])
        cur.executemany("UPDATE alerts SET muted = %s WHERE id = %s AND muted IS DISTINCT FROM %s",
                        [(m, ids[k], m) for k, m in result.muted.items() if k in ids])
        cur.execute("DELETE FROM alert_tracks WHERE NOT (dedup_key = ANY(%s))", (list(result.tracks),))
        cur.executemany(
            "INSERT INTO alert_tracks (dedup_key, rule_id, pending_since, clear_since, suppressed)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (dedup_key) DO UPDATE SET pending_since = EXCLUDED.pending_since,"
            " clear_since = EXCLUDED.clear_since, suppressed = EXCLUDED.suppressed",
            [(k, t.rule_id, t.pending_since, t.clear_since, t.suppressed) for k, t in result.tracks.items()],
        )
        return events

    # --- the officers' side ------------------------------------------------------------------------------

    def _act(self, alert_id: int, actor: str, action: str, check, update_sql: str | None, params: tuple,
             note: str | None = None, after_hook=None) -> AlertEvent:
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
            raise Conflict(f"alert {row['id']} was resolved by {row['resolved_by']} at {row['resolved_at']:%H:%M:%S} UTC")

    def acknowledge(self, alert_id: int, actor: str) -> AlertEvent:
        def check(row):
            self._open(row)
            if row["acknowledged"]:
                raise Conflict(f"alert {alert_id} was already acknowledged by {row['acked_by']}"
                               f" at {row['acked_at']:%H:%M:%S} UTC")

        return self._act(alert_id, actor, "acknowledge", check,
                         "UPDATE alerts SET acknowledged = true, acked_by = %s, acked_at = now() WHERE id = %s RETURNING *",
                         (actor,))

    def assign(self, alert_id: int, assignee: str, actor: str) -> AlertEvent:
        if not assignee:
            raise AlertError("assign to whom?")
        return self._act(alert_id, actor, "assign", self._open,
                         "UPDATE alerts SET assignee = %s WHERE id = %s RETURNING *", (assignee,), note=assignee)

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
                    "INSERT INTO alert_tracks (dedup_key, rule_id, suppressed) VALUES (%s, %s, true)"
                    " ON CONFLICT (dedup_key) DO UPDATE SET suppressed = true", (row["dedup_key"], row["rule_id"]))

        return self._act(alert_id, actor, "resolve", self._open,
                         "UPDATE alerts SET resolved = true, resolved_by = %s, resolved_at = now(),"
                         " resolution_note = %s WHERE id = %s RETURNING *", (actor, note.strip()),
                         note=note.strip(), after_hook=keep_closed)

    def silence(self, matchers: Mapping[str, str], duration_s: float, reason: str, actor: str,
                starts_at: datetime | None = None) -> int:
        """Mute alerts whose labels match every matcher, for ``duration_s``; returns the silence id."""
        if not matchers:
            raise AlertError("a silence needs at least one matcher (for example district=510104)")
        if duration_s <= 0:
            raise AlertError("a silence must last a positive time")
        if not reason.strip() or not actor:
            raise AlertError("a silence needs a reason and the officer's name")
        starts = starts_at or datetime.now(UTC)
        with self._connect() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute(
                "INSERT INTO silences (matchers, starts_at, ends_at, reason, created_by) VALUES (%s, %s, %s, %s, %s)"
                " RETURNING id", (json.dumps(dict(matchers)), starts, starts + timedelta(seconds=duration_s),
                                  reason.strip(), actor))
            silence_id = cur.fetchone()["id"]
            self._log(cur, None, actor, "silence", after={"matchers": dict(matchers), "ends_at": starts
                      + timedelta(seconds=duration_s)}, note=reason.strip(), silence_id=silence_id)
        return silence_id
