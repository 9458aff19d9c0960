-- Dashboard accounts, the sign-in audit trail and the session-signing secret.
--
-- Passwords are stored only as argon2 hashes. Roles: viewer, officer,
-- leader, admin, and wall (unattended screens: read-only, wall pages only).
-- sign_in_log is append-only like alert_log: the application role gets no
-- UPDATE, DELETE or TRUNCATE on it, and a trigger refuses them for everyone.

CREATE TABLE users (
    id             bigserial PRIMARY KEY,
    username       text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,62}$'),
    display_name   text NOT NULL CHECK (display_name <> ''),
    role           text NOT NULL CHECK (role IN ('viewer', 'officer', 'leader', 'admin', 'wall')),
    password_hash  text NOT NULL,
    disabled       boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    password_set_at timestamptz NOT NULL DEFAULT now(),
    last_sign_in   timestamptz
);

CREATE TABLE sign_in_log (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    username     text NOT NULL,
    outcome      text NOT NULL CHECK (outcome IN ('ok', 'bad_password', 'unknown_user', 'disabled',
                                                  'throttled', 'sign_out')),
    remote_addr  text,
    user_agent   text
);
CREATE INDEX sign_in_log_user ON sign_in_log (username, at);
CREATE INDEX sign_in_log_addr ON sign_in_log (remote_addr, at);

CREATE FUNCTION refuse_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER sign_in_log_no_update BEFORE UPDATE OR DELETE ON sign_in_log
    FOR EACH ROW EXECUTE FUNCTION refuse_rewrite();
CREATE TRIGGER sign_in_log_no_truncate BEFORE TRUNCATE ON sign_in_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_rewrite();

-- One random secret signs every dashboard process's session cookies, so
-- several processes behind a load balancer accept each other's sessions.
CREATE TABLE app_secrets (
    name   text PRIMARY KEY,
    value  text NOT NULL
);
