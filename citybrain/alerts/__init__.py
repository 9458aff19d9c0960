"""Alerts: rules as data, a pure engine, the lifecycle service, notifiers."""
