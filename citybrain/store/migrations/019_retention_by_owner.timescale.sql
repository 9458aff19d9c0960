-- The retention the owner applied from config/storage.yaml, kept as data in
-- both storage modes. On TimescaleDB its own retention policies (owned by
-- the migrating role) delete what is past it; plain PostgreSQL prunes
-- through a function of the owner's (see the plain variant of this file).
CREATE TABLE retention_days (
    what  text PRIMARY KEY CHECK (what IN ('raw', 'rollup_1m', 'rollup_1h')),
    days  integer NOT NULL CHECK (days >= 1)
);
