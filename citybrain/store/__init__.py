"""PostgreSQL/TimescaleDB: schema and migrations, the batch writer, read queries."""
