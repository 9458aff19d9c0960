-- Alerts and their audit trail.
--
-- An alert is active or cleared (by the engine), unacknowledged or
-- acknowledged (by an officer), and finally resolved (by an officer, with a
-- note). At most one active, unresolved alert exists per dedup key
-- (rule + scope). Every transition is appended to alert_log, which nobody
-- can change afterwards: triggers refuse UPDATE, DELETE and TRUNCATE.

CREATE TABLE alerts (
    id                bigserial PRIMARY KEY,
    dedup_key         text NOT NULL,
    rule_id           text NOT NULL,
    scope             text NOT NULL,
    severity          text NOT NULL CHECK (severity IN ('critical', 'major', 'minor', 'warning')),
    district          text,
    title             text NOT NULL,
    labels            jsonb NOT NULL,
    status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cleared')),
    acknowledged      boolean NOT NULL DEFAULT false,
    acked_by          text,
    acked_at          timestamptz,
    assignee          text,
    resolved          boolean NOT NULL DEFAULT false,
    resolved_by       text,
    resolved_at       timestamptz,
    resolution_note   text,
    opened_at         timestamptz NOT NULL,
    last_seen         timestamptz NOT NULL,
    cleared_at        timestamptz,
    seen_count        integer NOT NULL DEFAULT 1,
    value             double precision,
    peak              double precision,
    escalation_level  integer NOT NULL DEFAULT 0,
    escalated_at      timestamptz,
    muted             text CHECK (muted IN ('silenced', 'inhibited'))
);
CREATE UNIQUE INDEX alerts_one_open_per_key ON alerts (dedup_key) WHERE status = 'active' AND NOT resolved;
CREATE INDEX alerts_open ON alerts (opened_at DESC) WHERE NOT resolved;
CREATE INDEX alerts_district ON alerts (district, opened_at DESC);

CREATE TABLE silences (
    id          bigserial PRIMARY KEY,
    matchers    jsonb NOT NULL,
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL CHECK (ends_at > starts_at),
    reason      text NOT NULL CHECK (reason <> ''),
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE alert_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    alert_id    bigint REFERENCES alerts (id),
    silence_id  bigint REFERENCES silences (id),
    actor       text NOT NULL,
    action      text NOT NULL CHECK (action IN ('open', 'update', 'acknowledge', 'assign', 'comment',
                                                'escalate', 'clear', 'resolve', 'silence')),
    before      jsonb,
    after       jsonb,
    note        text
);
CREATE INDEX alert_log_alert ON alert_log (alert_id, at);

CREATE FUNCTION alert_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'alert_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER alert_log_no_update BEFORE UPDATE OR DELETE ON alert_log
    FOR EACH ROW EXECUTE FUNCTION alert_log_is_append_only();
CREATE TRIGGER alert_log_no_truncate BEFORE TRUNCATE ON alert_log
    FOR EACH STATEMENT EXECUTE FUNCTION alert_log_is_append_only();

-- The engine's per-key timers (hold, clear hold) and "resolved during this
-- episode", saved every tick so a restarted worker carries on where it was.
CREATE TABLE alert_tracks (
    dedup_key      text PRIMARY KEY,
    rule_id        text NOT NULL,
    pending_since  timestamptz,
    clear_since    timestamptz,
    suppressed     boolean NOT NULL DEFAULT false
);

-- When each sensor last reported (kept by the batch writer), for "no data" rules.
ALTER TABLE sensors ADD COLUMN last_seen timestamptz;
CREATE INDEX sensors_last_seen ON sensors (last_seen);
