"""Embedded broker and database, and the supervisor behind `citybrain up`."""
