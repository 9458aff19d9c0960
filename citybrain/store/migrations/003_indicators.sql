-- District risk indicators: one row per district, window length and window
-- end, with every sub-indicator's raw value and its contribution to the
-- score, so a screen can always say why a district has its level.
-- Rows are recomputed while the window is open and frozen once `final`.

CREATE TABLE indicators (
    window_end     timestamptz NOT NULL,
    district       text NOT NULL,
    window_s       integer NOT NULL,
    score          double precision NOT NULL CHECK (score BETWEEN 0 AND 100),
    level          text NOT NULL CHECK (level IN ('blue', 'yellow', 'orange', 'red')),
    final          boolean NOT NULL,
    sub_values     jsonb NOT NULL,
    contributions  jsonb NOT NULL,
    computed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district, window_s, window_end)
);
CREATE INDEX indicators_end ON indicators (window_s, window_end DESC);

-- Events that arrived after their window was final, per minute of arrival:
-- stored in the raw tables, but applied to no final indicator.
CREATE TABLE late_events (
    bucket    timestamptz NOT NULL,
    topic     text NOT NULL,
    district  text NOT NULL,
    n         bigint NOT NULL,
    PRIMARY KEY (topic, district, bucket)
);
