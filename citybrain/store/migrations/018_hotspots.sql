-- Appeal hot spots (诉求热点): space-time clusters of new citizen cases of one
-- group of categories, found by the worker's detector (citybrain/hotspots/).
-- A hot spot is active while `ended_at` is null; it ends when no case of it
-- is newer than its group's quiet time, or when it merges into an older one
-- (`merged_into`). Each case belongs to at most one hot spot; `core` marks
-- the cases with enough neighbours to make one (DBSCAN's core points), which
-- the detector needs to carry on after a restart.
CREATE TABLE hotspots (
    id             text PRIMARY KEY,            -- group:case id of the case that seeded it
    category_group text NOT NULL,
    district       text NOT NULL,               -- the district of its centroid
    districts      text[] NOT NULL,             -- every district its cases came from
    categories     text[] NOT NULL,
    lon            double precision NOT NULL,   -- centroid
    lat            double precision NOT NULL,
    radius_m       double precision NOT NULL,   -- farthest case from the centroid
    case_count     integer NOT NULL,
    opened_at      timestamptz NOT NULL,
    first_case_at  timestamptz NOT NULL,
    nth_case_at    timestamptz NOT NULL,        -- the case that reached the group's minimum
    last_case_at   timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    ended_at       timestamptz,
    merged_into    text REFERENCES hotspots (id)
);
CREATE INDEX hotspots_active ON hotspots (district) WHERE ended_at IS NULL;
CREATE INDEX hotspots_time ON hotspots (opened_at DESC);

CREATE TABLE hotspot_cases (
    case_id     text PRIMARY KEY,
    hotspot_id  text NOT NULL REFERENCES hotspots (id),
    core        boolean NOT NULL,
    joined_at   timestamptz NOT NULL,
    -- the case as it was created (kept here so a hot spot's cases need no search of case_events)
    category    text NOT NULL,
    district    text NOT NULL,
    lon         double precision NOT NULL,
    lat         double precision NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX hotspot_cases_hotspot ON hotspot_cases (hotspot_id);

-- How far the detector has read case_events (by ingested_at, so late events
-- are read too), one row.
CREATE TABLE hotspot_progress (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    watermark  timestamptz NOT NULL,
    ticked_at  timestamptz NOT NULL
);
