"""citybrain: a city's real-time operations centre."""

__version__ = "0.1.0"
