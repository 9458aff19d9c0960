"""Stream processing: faust agents that validate, enrich and store the city's events."""
