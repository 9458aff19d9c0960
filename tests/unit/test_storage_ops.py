"""Pure parts of the storage operations: mode decision, overdue jobs, the storage config."""

from datetime import UTC, datetime, timedelta

import pytest

from citybrain.config import ConfigError
from citybrain.store.health import GRACE_S, _overdue
from citybrain.store.migrate import MigrationError, ServerFacts, decide_mode
from citybrain.store.policies import StorageConfig

FRESH_WITH_TIMESCALE = ServerFacts(migrated=None, installed=True, preloaded=True)
NOT_PRELOADED = ServerFacts(migrated=None, installed=True, preloaded=False)
UNKNOWN_PRELOAD = ServerFacts(migrated=None, installed=True, preloaded=None)  # a role that may not read it
NO_TIMESCALE = ServerFacts(migrated=None, installed=False, preloaded=None)


@pytest.mark.parametrize(
    ("facts", "requested", "mode"),
    [
        (FRESH_WITH_TIMESCALE, "detect", "timescale"),
        (FRESH_WITH_TIMESCALE, "timescale", "timescale"),
        (FRESH_WITH_TIMESCALE, "plain", "plain"),
        (UNKNOWN_PRELOAD, "detect", "timescale"),  # CREATE EXTENSION then says whether it is preloaded
        (NOT_PRELOADED, "plain", "plain"),
        (NO_TIMESCALE, "detect", "plain"),
        (NO_TIMESCALE, "plain", "plain"),
        (ServerFacts("timescale", True, None), "detect", "timescale"),
        (ServerFacts("plain", True, True), "detect", "plain"),  # decided once, at the first migration
    ],
)
def test_storage_mode_decision(facts, requested, mode):
    assert decide_mode(facts, requested) == mode


@pytest.mark.parametrize(
    ("facts", "requested", "says"),
    [
        (NOT_PRELOADED, "detect", "shared_preload_libraries"),
        (NOT_PRELOADED, "timescale", "CITYBRAIN_STORAGE_MODE=plain"),
        (NO_TIMESCALE, "timescale", "no TimescaleDB extension installed"),
        (ServerFacts("plain", True, True), "timescale", "was migrated in plain mode"),
        (NO_TIMESCALE, "auto", "must be one of detect, timescale, plain"),
    ],
)
def test_storage_mode_refusals_say_what_to_change(facts, requested, says):
    with pytest.raises(MigrationError, match=says):
        decide_mode(facts, requested, "u@db:5432/citybrain")


NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def job(**over):
    row = dict(scheduled=True, schedule_s=60.0, last_success=None, next_start=None)
    row.update(over)
    return row


@pytest.mark.parametrize(
    ("row", "since", "overdue"),
    [
        (job(last_success=NOW - timedelta(seconds=30)), None, False),
        (job(last_success=NOW - timedelta(seconds=120 + GRACE_S - 1)), None, False),
        (
            job(last_success=NOW - timedelta(seconds=120 + GRACE_S + 1)),
            None,
            True,
        ),  # twice its schedule, plus grace
        (job(last_success=NOW - timedelta(days=9), scheduled=False), None, False),  # paused on purpose
        (
            job(next_start=NOW - timedelta(seconds=GRACE_S + 1)),
            None,
            True,
        ),  # planned, never started: no workers
        (job(next_start=NOW + timedelta(seconds=30)), None, False),
        (job(), NOW - timedelta(hours=1), True),  # registered an hour ago, never picked up by a scheduler
        (job(), NOW - timedelta(seconds=60), False),
        (job(schedule_s=None), NOW - timedelta(days=1), False),  # not periodic
    ],
)
def test_a_job_is_overdue_when_it_has_not_succeeded_for_twice_its_schedule(row, since, overdue):
    assert _overdue(row, NOW, since) is overdue


BASE = (
    "raw_retention_days: 90\ncompress_after_days: 7\nrollup_1m_retention_days: 30\n"
    "rollup_1h_retention_days: 730\n"
)


@pytest.mark.parametrize(
    ("days", "says"),
    [
        (3, "more than 3"),  # inside the hourly rollups' refresh window: TimescaleDB would refuse the policy
        (30, "less than rollup_1m_retention_days"),
    ],
)
def test_aggregate_compression_age_is_checked(tmp_path, days, says):
    (tmp_path / "storage.yaml").write_text(BASE + f"aggregate_compress_after_days: {days}\n")
    with pytest.raises(ConfigError, match=says):
        StorageConfig.load(tmp_path)
    (tmp_path / "storage.yaml").write_text(BASE + "aggregate_compress_after_days: 7\n")
    assert StorageConfig.load(tmp_path).aggregate_compress_after_days == 7
