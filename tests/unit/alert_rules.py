"""The rules the alert-engine tests share, and their clock's start."""

from datetime import UTC, datetime

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
RULES = [
    {
        "id": "water",
        "type": "sensor_threshold",
        "severity": "critical",
        "kind": "water_level",
        "above": 6.0,
        "clear_below": 5.5,
        "hold_s": 0,
        "clear_hold_s": 120,
        "escalate_after_s": 300,
    },
    {
        "id": "cluster",
        "type": "camera_cluster",
        "severity": "major",
        "min_share": 0.2,
        "hold_s": 60,
        "clear_hold_s": 300,
        "escalate_after_s": 900,
    },
    {
        "id": "cam",
        "type": "camera_offline",
        "severity": "minor",
        "offline_for_s": 1800,
        "hold_s": 0,
        "clear_hold_s": 0,
        "escalate_after_s": 3600,
    },
]
