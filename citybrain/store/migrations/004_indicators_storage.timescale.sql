-- TimescaleDB: indicators become a hypertable. ~20 districts x 2 windows x
-- 1,440 minutes = ~58 k rows a day: week-long chunks.
SELECT create_hypertable('indicators', 'window_end', chunk_time_interval => INTERVAL '7 days',
                         if_not_exists => TRUE, migrate_data => TRUE);
