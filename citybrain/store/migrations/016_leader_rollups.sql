-- Rollups behind the leaders' pages (/map, /district/<adcode>, /cases): case
-- handling per district and category, per handling unit, and risk
-- contributions per hour. Plain tables in both storage modes, kept by the
-- batch writer (case_*) and the indicator writer (indicators_1h) from the
-- rows they actually insert, in the same transaction: exact and replay-safe.
--
-- Why not continuous aggregates on TimescaleDB: a case's on-time figure needs
-- its SLA deadline, and its handling unit needs its assignee, which arrive on
-- *earlier* events of the case (the 'created' and 'assigned' events) than the
-- 'resolved'/'closed' event being counted. A continuous aggregate sees one
-- hypertable's rows at a time and cannot join the folded `cases` state (a
-- join with a mutable table would not be invalidated when the table
-- changes). Summing contributions per sub-indicator means expanding the
-- `contributions` jsonb per key, which a continuous aggregate cannot do
-- either. So both modes use the same writer-kept tables.
--
-- Why rollups at all: the year view of /cases sums a year of appeals (about
-- 3 million cases, 12 million events at Chengdu's scale); reading the raw
-- events joined to `cases` on every refresh is not an option. A period is
-- read as whole UTC days from the *_1d tables, the hours at its edges from
-- the *_1h tables and the last partial hour from raw events (at most an hour
-- of them): see store/leader.py. Buckets are whole UTC hours and days
-- (date_bin from 2000-01-01 UTC, like the other rollups and time_bucket);
-- a city whose offset is whole hours (Chengdu: +08, no DST) has its local
-- days made of whole UTC hours, so "today", "this week" … are exact.
--
-- Definitions (12345-style, by event time, so a past moment is just a
-- shorter period):
--   received     'created' events in the bucket
--   emergencies  received with urgency 'emergency'
--   handled      a case's first handling (its earliest 'resolved' or
--                'closed' event), in the bucket of that event
--   on_time      handled at or before the case's deadline (the folded case's
--                deadline, else the one the event carries)
--   rated        'closed' events with a satisfaction score
--   satisfied    rated 4 or 5
--   assigned     'assigned' events (units only)
-- Cases whose lifecycle is impossible (handled before created, see
-- case_findings) are not counted as handled.

CREATE TABLE case_kpis_1h (
    bucket       timestamptz NOT NULL,
    district     text NOT NULL,
    category     text NOT NULL,
    received     bigint NOT NULL,
    emergencies  bigint NOT NULL,
    handled      bigint NOT NULL,
    on_time      bigint NOT NULL,
    rated        bigint NOT NULL,
    satisfied    bigint NOT NULL,
    PRIMARY KEY (district, category, bucket)
);
CREATE INDEX case_kpis_1h_bucket ON case_kpis_1h (bucket);
CREATE TABLE case_kpis_1d (LIKE case_kpis_1h INCLUDING ALL);

-- Handling units (the `assignee` of the case): keyed by unit and district.
CREATE TABLE case_units_1h (
    bucket     timestamptz NOT NULL,
    district   text NOT NULL,
    assignee   text NOT NULL,
    assigned   bigint NOT NULL,
    handled    bigint NOT NULL,
    on_time    bigint NOT NULL,
    rated      bigint NOT NULL,
    satisfied  bigint NOT NULL,
    PRIMARY KEY (assignee, district, bucket)
);
CREATE INDEX case_units_1h_bucket ON case_units_1h (bucket);
CREATE TABLE case_units_1d (LIKE case_units_1h INCLUDING ALL);

-- Final indicator rows per district, window length and hour (bucket of
-- window_end): how many, their score's sum and maximum, the highest level
-- (rank: 0 normal … 4 red) and each sub-indicator's summed contribution, so a
-- 30-day stacked chart reads 720 rows per district instead of 43,200.
CREATE TABLE indicators_1h (
    bucket         timestamptz NOT NULL,
    district       text NOT NULL,
    window_s       integer NOT NULL,
    n              bigint NOT NULL,
    score_sum      double precision NOT NULL,
    score_max      double precision NOT NULL,
    level_max      smallint NOT NULL,
    contributions  jsonb NOT NULL,
    PRIMARY KEY (district, window_s, bucket)
);
CREATE INDEX indicators_1h_bucket ON indicators_1h (window_s, bucket);

-- Key-wise sum of two {"name": number} objects (missing keys count 0).
CREATE FUNCTION citybrain_jsonb_add(a jsonb, b jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(jsonb_object_agg(k, coalesce((a ->> k)::float8, 0) + coalesce((b ->> k)::float8, 0)), '{}')
      FROM (SELECT jsonb_object_keys(coalesce(a, '{}')) UNION SELECT jsonb_object_keys(coalesce(b, '{}'))) AS keys(k)
$$;

-- Backfill from what is already stored (an upgraded installation).
INSERT INTO case_kpis_1h
SELECT date_bin('1 hour', e.event_time, TIMESTAMPTZ '2000-01-01 00:00:00+00'), e.district, e.category,
       count(*) FILTER (WHERE e.type = 'created'),
       count(*) FILTER (WHERE e.type = 'created' AND e.urgency = 'emergency'),
       count(*) FILTER (WHERE e.type IN ('resolved', 'closed') AND e.event_time = LEAST(c.resolved_at, c.closed_at)
                          AND NOT (e.type = 'closed' AND c.resolved_at = e.event_time)
                          AND (c.opened_at IS NULL OR e.event_time >= c.opened_at)),
       count(*) FILTER (WHERE e.type IN ('resolved', 'closed') AND e.event_time = LEAST(c.resolved_at, c.closed_at)
                          AND NOT (e.type = 'closed' AND c.resolved_at = e.event_time)
                          AND (c.opened_at IS NULL OR e.event_time >= c.opened_at)
                          AND e.event_time <= coalesce(c.deadline, e.deadline)),
       count(*) FILTER (WHERE e.type = 'closed' AND e.satisfaction IS NOT NULL),
       count(*) FILTER (WHERE e.type = 'closed' AND e.satisfaction >= 4)
  FROM case_events e LEFT JOIN cases c ON c.case_id = e.case_id
 GROUP BY 1, 2, 3;
INSERT INTO case_kpis_1d
SELECT date_bin('1 day', bucket, TIMESTAMPTZ '2000-01-01 00:00:00+00'), district, category,
       sum(received), sum(emergencies), sum(handled), sum(on_time), sum(rated), sum(satisfied)
  FROM case_kpis_1h GROUP BY 1, 2, 3;
INSERT INTO case_units_1h
SELECT date_bin('1 hour', e.event_time, TIMESTAMPTZ '2000-01-01 00:00:00+00'), e.district,
       coalesce(e.assignee, c.assignee),
       count(*) FILTER (WHERE e.type = 'assigned'),
       count(*) FILTER (WHERE e.type IN ('resolved', 'closed') AND e.event_time = LEAST(c.resolved_at, c.closed_at)
                          AND NOT (e.type = 'closed' AND c.resolved_at = e.event_time)
                          AND (c.opened_at IS NULL OR e.event_time >= c.opened_at)),
       count(*) FILTER (WHERE e.type IN ('resolved', 'closed') AND e.event_time = LEAST(c.resolved_at, c.closed_at)
                          AND NOT (e.type = 'closed' AND c.resolved_at = e.event_time)
                          AND (c.opened_at IS NULL OR e.event_time >= c.opened_at)
                          AND e.event_time <= coalesce(c.deadline, e.deadline)),
       count(*) FILTER (WHERE e.type = 'closed' AND e.satisfaction IS NOT NULL),
       count(*) FILTER (WHERE e.type = 'closed' AND e.satisfaction >= 4)
  FROM case_events e LEFT JOIN cases c ON c.case_id = e.case_id
 WHERE e.type IN ('assigned', 'resolved', 'closed') AND coalesce(e.assignee, c.assignee) IS NOT NULL
 GROUP BY 1, 2, 3;
INSERT INTO case_units_1d
SELECT date_bin('1 day', bucket, TIMESTAMPTZ '2000-01-01 00:00:00+00'), district, assignee,
       sum(assigned), sum(handled), sum(on_time), sum(rated), sum(satisfied)
  FROM case_units_1h GROUP BY 1, 2, 3;
INSERT INTO indicators_1h
SELECT b.bucket, b.district, b.window_s, b.n, b.score_sum, b.score_max, b.level_max,
       coalesce(c.contributions, '{}')
  FROM (SELECT date_bin('1 hour', window_end, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket, district, window_s,
               count(*) AS n, sum(score) AS score_sum, max(score) AS score_max,
               max(array_position(ARRAY['normal', 'blue', 'yellow', 'orange', 'red'], level) - 1) AS level_max
          FROM indicators WHERE final GROUP BY 1, 2, 3) b
  LEFT JOIN (SELECT bucket, district, window_s, jsonb_object_agg(k, v) AS contributions
               FROM (SELECT date_bin('1 hour', i.window_end, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
                            i.district, i.window_s, c.key AS k, sum(c.value::float8) AS v
                       FROM indicators i, jsonb_each_text(i.contributions) c
                      WHERE i.final GROUP BY 1, 2, 3, 4) x
              GROUP BY 1, 2, 3) c USING (bucket, district, window_s);

-- Cases open at a moment are those opened by then and not yet handled then: an
-- index on when each case was first handled ('infinity' while open) lets
-- "handled after the moment" read only the open cases and those handled since
-- that moment, not every case ever received.
CREATE INDEX cases_handled_at ON cases ((coalesce(LEAST(resolved_at, closed_at), 'infinity'::timestamptz)));
