"""A dead letter in its two durable forms: a row of `dead_letters` and a copy on the `dlq` topic.

Both carry the payload cut to a configured size, with the full length and a
SHA-256 of the whole message, so an oversized message can never make the
dead-letter path itself fail (a broker refuses records over its limit).
"""

from __future__ import annotations

import hashlib

from citybrain.store.dead_letters import DeadLetterRow
from citybrain.stream.ingest import DeadLetter


def stored(d: DeadLetter, max_payload: int) -> DeadLetterRow:
    m = d.message
    value = m.value or b""
    return DeadLetterRow(
        source_topic=m.topic,
        source_partition=m.partition,
        source_offset=m.offset,
        key=(m.key or b"")[:1024] or None,
        reason=d.reason,
        detail=d.detail[:2000],
        payload=value[:max_payload],
        payload_size=len(value),
        payload_sha256=hashlib.sha256(value).hexdigest(),
        truncated=len(value) > max_payload,
    )


def topic_copy(row: DeadLetterRow) -> tuple[bytes | None, bytes, dict[str, bytes]]:
    """(key, value, headers) for the `dlq` topic."""
    headers = {
        "reason": row.reason.encode(),
        "detail": row.detail.encode(),
        "source_topic": row.source_topic.encode(),
        "source_partition": str(row.source_partition).encode(),
        "source_offset": str(row.source_offset).encode(),
        "payload_size": str(row.payload_size).encode(),
        "payload_sha256": row.payload_sha256.encode(),
        "truncated": b"true" if row.truncated else b"false",
    }
    return row.key, row.payload or b"", headers
