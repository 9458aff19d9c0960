"""Leaders' instructions (批示): a leader tells a unit what to do about an alert or a citizen case, and by
when; an officer marks it done with a note.

Who may do what is checked here against the account itself (enabled, and a leader or admin to instruct,
an officer or admin to complete), not only by the page or command that calls: the rule holds whichever
way the request came. An instruction on an alert is also written to the alert's log, in the same
transaction, so the alert's story shows who instructed what and when it was done. Neither an instruction
nor its completion is ever changed afterwards (see migration 017): a second completion is refused and
the officer is told who completed it first.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.rows import dict_row

from citybrain import accounts
from citybrain.accounts import DUTY_ACTORS, Role
from citybrain.alerts.service import AlertError, AlertService, Conflict, NotFound
from citybrain.store import instructions as store

INSTRUCTORS = frozenset({Role.LEADER, Role.ADMIN})
COMPLETERS = DUTY_ACTORS
MAX_BODY = 2000
MAX_HOURS = 30 * 24.0  # a month: longer is a plan, not an instruction


def _actor(cur, username: str, allowed: frozenset[Role], what: str) -> str:
    try:
        return accounts.active_actor(cur.connection, username or "", allowed).username
    except accounts.AccountError as exc:
        raise AlertError(f"{what}: {exc}") from None


class InstructionService:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(self.database_url, row_factory=dict_row)

    def give(
        self,
        actor: str,
        body: str,
        unit: str,
        hours: float,
        *,
        alert_id: int | None = None,
        case_id: str | None = None,
    ) -> dict:
        """Attach an instruction to an alert or a case: ``body`` for ``unit``, due in ``hours``."""
        body, unit = (body or "").strip(), (unit or "").strip()
        if (alert_id is None) == (case_id is None):
            raise AlertError("an instruction is on one alert or one case")
        if not body or not unit:
            raise AlertError("an instruction needs its text and the unit that must act")
        if len(body) > MAX_BODY:
            raise AlertError(f"an instruction is at most {MAX_BODY} characters")
        if not hours or not 0 < float(hours) <= MAX_HOURS:
            raise AlertError(f"the deadline must be between now and {MAX_HOURS:.0f} hours from now")
        deadline = datetime.now(UTC) + timedelta(hours=float(hours))
        with self._connect() as conn, conn.transaction(), conn.cursor() as cur:
            me = _actor(cur, actor, INSTRUCTORS, "instructions are given by leaders")
            if alert_id is not None:
                target = cur.execute(
                    "SELECT id, district FROM alerts WHERE id = %s FOR SHARE", (alert_id,)
                ).fetchone()
                if target is None:
                    raise NotFound(f"alert {alert_id} does not exist")
            else:
                target = cur.execute("SELECT district FROM cases WHERE case_id = %s", (case_id,)).fetchone()
                if target is None:
                    raise NotFound(f"case {case_id} does not exist")
            row = store.insert(
                cur,
                alert_id=alert_id,
                case_id=case_id,
                district=target["district"],
                body=body,
                unit=unit,
                deadline=deadline,
                created_by=me,
            )
            if alert_id is not None:
                AlertService._log(
                    cur,
                    alert_id,
                    me,
                    "instruct",
                    after={"instruction": row["id"], "unit": unit, "deadline": deadline},
                    note=body,
                )
        return row

    def complete(self, instruction_id: int, actor: str, note: str) -> dict:
        """Mark an instruction done with a note saying what was done; once only."""
        note = (note or "").strip()
        if not note:
            raise AlertError("completing an instruction needs a note saying what was done")
        with self._connect() as conn, conn.transaction(), conn.cursor() as cur:
            me = _actor(cur, actor, COMPLETERS, "instructions are completed by duty officers")
            found = store.one(cur, instruction_id)
            if found is None:
                raise NotFound(f"instruction {instruction_id} does not exist")
            if found["alert_id"] is not None:  # serialise with the alert's other actions
                cur.execute("SELECT id FROM alerts WHERE id = %s FOR UPDATE", (found["alert_id"],))
            done = store.complete(cur, instruction_id, me, note)
            if done is None:
                first = store.one(cur, instruction_id)
                raise Conflict(
                    f"instruction {instruction_id} was already completed by {first['done_by']}"
                    f" at {first['done_at']:%H:%M:%S} UTC"
                )
            if found["alert_id"] is not None:
                AlertService._log(
                    cur,
                    found["alert_id"],
                    me,
                    "instruction_done",
                    before={"instruction": instruction_id, "open": True},
                    after={"instruction": instruction_id, "open": False},
                    note=note,
                )
        return {**found, **done, "open": False, "overdue": False}

    def listing(self, at: datetime | None = None, open_only: bool = True, limit: int = 500) -> list[dict]:
        with self._connect() as conn:
            return store.listing(conn, at, open_only=open_only, limit=limit)
