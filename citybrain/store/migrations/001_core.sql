-- Core schema: the device registry, the three raw event streams and the
-- current state of every camera and case. Raw tables are keyed on
-- (event_id, event_time) so at-least-once delivery never duplicates a row,
-- and so the same keys stay valid when the tables become hypertables.

CREATE TABLE districts (
    adcode      text PRIMARY KEY,
    name_zh     text NOT NULL,
    name_en     text NOT NULL,
    area_km2    double precision NOT NULL
);

CREATE TABLE cameras (
    camera_id     text PRIMARY KEY,
    district      text NOT NULL REFERENCES districts (adcode),
    lon           double precision NOT NULL,
    lat           double precision NOT NULL,
    status        text,                 -- NULL until the first status event
    status_since  timestamptz,          -- when the current status began
    status_time   timestamptz           -- event_time of the newest status applied
);
CREATE INDEX cameras_district_status ON cameras (district, status);

CREATE TABLE sensors (
    device_id   text PRIMARY KEY,
    district    text NOT NULL REFERENCES districts (adcode),
    kind        text NOT NULL,
    lon         double precision NOT NULL,
    lat         double precision NOT NULL
);
CREATE INDEX sensors_district ON sensors (district);

CREATE TABLE readings (
    event_id     uuid NOT NULL,
    event_time   timestamptz NOT NULL,
    device_id    text NOT NULL,
    district     text NOT NULL,
    kind         text NOT NULL,
    value        double precision NOT NULL,
    unit         text NOT NULL,
    ingested_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, event_time)
);
CREATE INDEX readings_time ON readings (event_time DESC);
CREATE INDEX readings_district_time ON readings (district, event_time DESC);

CREATE TABLE camera_status (
    event_id     uuid NOT NULL,
    event_time   timestamptz NOT NULL,
    camera_id    text NOT NULL,
    district     text NOT NULL,
    status       text NOT NULL CHECK (status IN ('online', 'offline', 'fault')),
    ingested_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, event_time)
);
CREATE INDEX camera_status_time ON camera_status (event_time DESC);
CREATE INDEX camera_status_district_time ON camera_status (district, event_time DESC);

CREATE TABLE case_events (
    event_id      uuid NOT NULL,
    event_time    timestamptz NOT NULL,
    case_id       text NOT NULL,
    district      text NOT NULL,
    type          text NOT NULL CHECK (type IN ('created', 'assigned', 'updated', 'resolved', 'closed')),
    category      text NOT NULL,
    urgency       text NOT NULL CHECK (urgency IN ('normal', 'emergency')),
    deadline      timestamptz,
    satisfaction  smallint CHECK (satisfaction BETWEEN 1 AND 5),
    assignee      text,
    lon           double precision,
    lat           double precision,
    ingested_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, event_time)
);
CREATE INDEX case_events_time ON case_events (event_time DESC);
CREATE INDEX case_events_district_time ON case_events (district, event_time DESC);

-- Current state of each case, folded from its events in any order: the
-- fold is commutative (earliest/latest wins per field), so replays and
-- out-of-order delivery converge on the same row.
CREATE TABLE cases (
    case_id          text PRIMARY KEY,
    district         text NOT NULL,
    category         text NOT NULL,
    urgency          text NOT NULL,
    status           text NOT NULL,
    deadline         timestamptz,
    assignee         text,
    satisfaction     smallint,
    opened_at        timestamptz,
    assigned_at      timestamptz,
    resolved_at      timestamptz,
    closed_at        timestamptz,
    last_event_time  timestamptz NOT NULL
);
CREATE INDEX cases_district_status ON cases (district, status);
