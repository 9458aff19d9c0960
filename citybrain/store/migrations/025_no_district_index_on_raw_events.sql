-- The raw event tables lose their (district, event_time) indexes. No read of a
-- raw table selects by district over more than an hour of it: the pages read
-- the rollups, the risk tick reads per-sensor minutes (migration 024) and the
-- raw edges of at most a few minutes, the leaders' pages at most an hour of
-- raw case events at either end of a span. Every such read is a time range,
-- which the time-first key (migration 023, or TimescaleDB's chunks) serves.
-- The index cost every stored event a second index entry in one of twenty
-- places. Measured with the batch writer, alternating 20,000-row batches with
-- and without it: readings 1.1, camera status 1.4-1.9 (a table without a
-- fold of its own), case events 1.15-1.3 times the rows per second.
DROP INDEX IF EXISTS readings_district_time;
DROP INDEX IF EXISTS camera_status_district_time;
DROP INDEX IF EXISTS case_events_district_time;
