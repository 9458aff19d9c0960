-- Alerts reach people: mute bookkeeping, remembered hold timers, editable
-- silences, and a notification outbox with a delivery record.

-- Mute state as of the last tick, and the clocks it stops: escalation counts
-- only time not muted; repeats count from the last notification.
ALTER TABLE alerts ADD COLUMN muted_since timestamptz;
ALTER TABLE alerts ADD COLUMN muted_s double precision NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN notified_at timestamptz;
UPDATE alerts SET notified_at = coalesce(escalated_at, opened_at) WHERE muted IS NULL;
UPDATE alerts SET muted_since = last_seen WHERE muted IS NOT NULL;

-- The queue: everything not resolved that is still active, or cleared but
-- not yet acknowledged by anyone ("cleared, not acknowledged").
CREATE INDEX alerts_queue ON alerts (severity, opened_at DESC)
    WHERE NOT resolved AND (status = 'active' OR NOT acknowledged);

-- Each timer remembers when it was last evaluated (a hold older than the
-- outage tolerance starts again) and its condition's labels (a condition an
-- officer resolved early still inhibits).
ALTER TABLE alert_tracks ADD COLUMN labels jsonb;
ALTER TABLE alert_tracks ADD COLUMN evaluated_at timestamptz;

-- Silences can be edited and expired early; an expired silence ends when it
-- was expired, which may be its start.
ALTER TABLE silences DROP CONSTRAINT silences_check;
ALTER TABLE silences ADD CONSTRAINT silences_check CHECK (ends_at >= starts_at);
ALTER TABLE silences ADD COLUMN updated_by text;
ALTER TABLE silences ADD COLUMN updated_at timestamptz;
CREATE INDEX silences_ends ON silences (ends_at);

ALTER TABLE alert_log DROP CONSTRAINT alert_log_action_check;
ALTER TABLE alert_log ADD CONSTRAINT alert_log_action_check CHECK (action IN (
    'open', 'update', 'acknowledge', 'assign', 'comment', 'escalate', 'clear', 'resolve', 'silence',
    'unmute', 'repeat', 'edit_silence', 'expire_silence'));

-- Notifications waiting for their group to be sent (written in the tick's
-- transaction, so a crash between deciding and sending loses nothing).
CREATE TABLE alert_notifications (
    id          bigserial PRIMARY KEY,
    alert_id    bigint NOT NULL REFERENCES alerts (id),
    action      text NOT NULL,
    severity    text NOT NULL,
    group_key   text NOT NULL,
    event       jsonb NOT NULL,
    created_at  timestamptz NOT NULL,
    sent_at     timestamptz
);
CREATE INDEX alert_notifications_pending ON alert_notifications (group_key, created_at) WHERE sent_at IS NULL;

-- Every message sent, per receiver: delivered or not, after how many
-- attempts, and why not. Failures stay visible (citybrain alerts deliveries).
CREATE TABLE alert_deliveries (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL,
    group_key   text NOT NULL,
    receiver    text NOT NULL,
    alert_ids   bigint[] NOT NULL,
    ok          boolean NOT NULL,
    attempts    integer NOT NULL,
    error       text
);
CREATE INDEX alert_deliveries_group ON alert_deliveries (group_key, at DESC);
CREATE INDEX alert_deliveries_failed ON alert_deliveries (at DESC) WHERE NOT ok;
