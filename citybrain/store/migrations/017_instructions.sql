-- Leaders' written instructions (批示) on an alert or a citizen case: what
-- must be done, by which unit, by when; and the officer's note that it was.
--
-- Neither can be rewritten. An instruction row is never changed: its
-- completion is a row of its own (at most one per instruction), so "open"
-- is "no completion yet" and the state at any past moment is read from the
-- two tables' times. The application role gets no UPDATE, DELETE or
-- TRUNCATE on either (citybrain.store.roles), and triggers refuse them for
-- everyone as a second line, like alert_log and sign_in_log.

CREATE TABLE instructions (
    id          bigserial PRIMARY KEY,
    alert_id    bigint REFERENCES alerts (id),
    case_id     text REFERENCES cases (case_id),
    district    text REFERENCES districts (adcode),   -- the alert's or case's district, for the counts
    body        text NOT NULL CHECK (btrim(body) <> ''),
    unit        text NOT NULL CHECK (btrim(unit) <> ''),  -- who must act
    deadline    timestamptz NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((alert_id IS NULL) <> (case_id IS NULL)),     -- on an alert or on a case, never both
    CHECK (deadline > created_at)
);
CREATE INDEX instructions_alert ON instructions (alert_id) WHERE alert_id IS NOT NULL;
CREATE INDEX instructions_case ON instructions (case_id) WHERE case_id IS NOT NULL;
CREATE INDEX instructions_created ON instructions (created_at);

CREATE TABLE instruction_completions (
    instruction_id  bigint PRIMARY KEY REFERENCES instructions (id),  -- done once, by one officer
    done_by         text NOT NULL,
    done_at         timestamptz NOT NULL DEFAULT now(),
    note            text NOT NULL CHECK (btrim(note) <> '')
);

CREATE TRIGGER instructions_no_update BEFORE UPDATE OR DELETE ON instructions
    FOR EACH ROW EXECUTE FUNCTION refuse_rewrite();
CREATE TRIGGER instructions_no_truncate BEFORE TRUNCATE ON instructions
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_rewrite();
CREATE TRIGGER instruction_completions_no_update BEFORE UPDATE OR DELETE ON instruction_completions
    FOR EACH ROW EXECUTE FUNCTION refuse_rewrite();
CREATE TRIGGER instruction_completions_no_truncate BEFORE TRUNCATE ON instruction_completions
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_rewrite();

-- An instruction on an alert is part of the alert's story: it is written to
-- the alert's log when given and when done.
ALTER TABLE alert_log DROP CONSTRAINT alert_log_action_check;
ALTER TABLE alert_log ADD CONSTRAINT alert_log_action_check CHECK (action IN (
    'open', 'update', 'acknowledge', 'assign', 'comment', 'escalate', 'clear', 'resolve', 'silence',
    'unmute', 'repeat', 'edit_silence', 'expire_silence', 'instruct', 'instruction_done'));
