-- Dead letters, durable: every event the worker refuses is written here in
-- the same transaction as its batch's good rows, so an event is either
-- stored or dead-lettered, whatever happens to the broker afterwards.
-- A replayed batch adds nothing: the source position and the payload's hash
-- identify a dead letter (the hash keeps a new message at a reused offset,
-- after an in-memory broker restarted, from being taken for a replay).
CREATE TABLE dead_letters (
    id                bigserial PRIMARY KEY,
    source_topic      text NOT NULL,
    source_partition  integer NOT NULL,
    source_offset     bigint NOT NULL,
    key               bytea,
    reason            text NOT NULL,
    detail            text NOT NULL,
    received_at       timestamptz NOT NULL DEFAULT now(),
    payload           bytea,              -- the message, cut to the configured size
    payload_size      integer NOT NULL,   -- its full length in bytes
    payload_sha256    text NOT NULL,      -- of the full message
    truncated         boolean NOT NULL,
    replayed_at       timestamptz,        -- when an operator re-sent it (fixed or as is)
    replayed_by       text,
    UNIQUE (source_topic, source_partition, source_offset, payload_sha256)
);
CREATE INDEX dead_letters_received ON dead_letters (received_at DESC);
CREATE INDEX dead_letters_reason ON dead_letters (reason, received_at DESC);

-- Case lifecycles that cannot have happened, kept as data-quality findings.
-- The events are facts and stay stored; the fold into `cases` is order-free;
-- these cases are left out of the case KPIs (see cases_sound) until they
-- make sense. A case heard of but never created is a finding once its
-- creation is an hour overdue (events may arrive out of order until then).
CREATE VIEW case_findings AS
SELECT case_id, district, 'never_created' AS finding, last_event_time AS seen_at
  FROM cases WHERE opened_at IS NULL AND last_event_time < now() - interval '1 hour'
UNION ALL
SELECT case_id, district, 'resolved_before_created', resolved_at
  FROM cases WHERE resolved_at < opened_at
UNION ALL
SELECT case_id, district, 'closed_before_created', closed_at
  FROM cases WHERE closed_at < opened_at;

CREATE VIEW cases_sound AS
SELECT * FROM cases
 WHERE opened_at IS NOT NULL
   AND (resolved_at IS NULL OR resolved_at >= opened_at)
   AND (closed_at IS NULL OR closed_at >= opened_at);
