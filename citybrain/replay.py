"""Re-sending dead letters to their input topic, so the worker judges them again.

One function for both ways of doing it: ``citybrain dlq replay`` and the admins' action on the
operations page. A dead letter that kept only part of its payload is refused unless a fixed payload
is given; every replayed dead letter is marked with when and by whom, after the broker has
acknowledged it.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from kafka import KafkaProducer

from citybrain.store import dead_letters

SEND_TIMEOUT_S = 30


class ReplayError(ValueError):
    """The dead letters cannot be replayed as asked (missing, cut short, or a fix for several)."""


def replay(
    conn: psycopg.Connection,
    bootstrap: str,
    ids: Sequence[int],
    actor: str,
    fixed: bytes | None = None,
    client_id: str = "citybrain-dlq",
) -> int:
    """Send the dead letters ``ids`` (or ``fixed`` in place of one's payload) back to their source topic,
    keyed as they came, and record ``actor`` as who replayed them; returns how many were sent."""
    ids = sorted(set(ids))
    if not ids:
        raise ReplayError("no dead letter chosen")
    if fixed is not None and len(ids) != 1:
        raise ReplayError("a fixed payload replaces one dead letter's payload: give exactly one id")
    found = dead_letters.get(conn, ids)
    missing = sorted(set(ids) - {d["id"] for d in found})
    if missing:
        raise ReplayError(f"no dead letter {', '.join(map(str, missing))}")
    cut = [d["id"] for d in found if d["truncated"] and fixed is None]
    if cut:
        raise ReplayError(
            f"dead letter {', '.join(map(str, cut))} kept only part of its payload; "
            "replay it with --fixed FILE"
        )
    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id=client_id)
    try:
        for d in found:
            value = fixed if fixed is not None else bytes(d["payload"] or b"")
            key = bytes(d["key"]) if d["key"] is not None else None
            producer.send(d["source_topic"], key=key, value=value).get(timeout=SEND_TIMEOUT_S)
    finally:
        producer.close()
    dead_letters.mark_replayed(conn, ids, actor)
    return len(found)
