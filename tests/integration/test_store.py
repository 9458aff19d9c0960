"""Migrations and the batch writer against the embedded PostgreSQL."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

import citybrain.store
from citybrain.store.migrate import MigrationError, migrate, storage_mode
from citybrain.store.writer import CAMERA_STATUS, CASE_EVENTS, READINGS, BatchWriter, lock_apply

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def database_url_mode(url: str) -> str:
    with psycopg.connect(url) as conn:
        return storage_mode(conn)


def count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_migrate_twice_changes_nothing(database_url):
    mode = "timescale" if "timescale" in database_url_mode(database_url) else "plain"
    other = "plain" if mode == "timescale" else "timescale"
    shipped = sorted(
        p.name
        for p in (Path(citybrain.store.__file__).parent / "migrations").glob("*.sql")
        if f".{other}." not in p.name
    )
    assert shipped[:5] == [
        "001_core.sql",
        f"002_rollups.{mode}.sql",
        "003_indicators.sql",
        f"004_indicators_storage.{mode}.sql",
        "005_alerts.sql",
    ]
    assert migrate(database_url) == shipped  # every file of this mode, in order
    with psycopg.connect(database_url) as conn:
        before = conn.execute("SELECT version, applied_at FROM schema_migrations").fetchall()
    assert migrate(database_url) == []
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT version, applied_at FROM schema_migrations").fetchall() == before


def test_failed_migration_names_file_and_statement_and_leaves_nothing(database_url, tmp_path):
    (tmp_path / "001_ok.sql").write_text("CREATE TABLE a (x int);\n")
    (tmp_path / "002_bad.sql").write_text(
        "-- a comment\nCREATE TABLE b (x int);\nINSERT INTO nowhere VALUES (1);\n"
    )
    with pytest.raises(MigrationError) as err:
        migrate(database_url, source=tmp_path)
    assert "002_bad.sql" in str(err.value) and "INSERT INTO nowhere" in str(err.value)
    with psycopg.connect(database_url) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
    assert "a" in tables and "b" not in tables  # 002 rolled back whole
    assert versions == [1]


def reading_row(value=1.0, event_id=None, when=NOW):
    return (event_id or uuid.uuid4(), when, "iot-00001", "510104", "pm25", value, "ug/m3")


def test_a_replayed_batch_adds_nothing(seeded_url):
    rows = [reading_row(v) for v in range(100)]
    with psycopg.connect(seeded_url) as conn:
        writer = BatchWriter(conn, READINGS)
        assert writer.write(rows).inserted == 100
        assert writer.write(rows).inserted == 0
        assert writer.write(rows[:10] + [reading_row(7.0)]).inserted == 1
        # committed by write() itself: another connection sees the rows while this one is still open
        assert count(seeded_url, "readings") == 101
        # rollups count what each batch really inserted: not the replayed rows of the partial replay
        assert count(seeded_url, "readings_1m") == 1
        assert conn.execute("SELECT sum(n) FROM readings_1m").fetchone()[0] == 101


def test_an_event_twice_in_one_batch_is_stored_once_and_a_changed_copy_is_a_conflict(seeded_url):
    same, changed = reading_row(1.0), reading_row(2.0)
    other_content = (changed[0], *changed[1:5], 3.0, changed[6])
    with psycopg.connect(seeded_url) as conn:
        result = BatchWriter(conn, READINGS).write([same, changed, same, other_content])
        stored = conn.execute("SELECT event_id, value FROM readings").fetchall()
        assert conn.execute("SELECT sum(n) FROM readings_1m").fetchone()[0] == 2  # rollups count it once
    assert result.inserted == 2 and result.conflicts == [3]  # the first of a key wins
    assert sorted(stored) == sorted([(same[0], 1.0), (changed[0], 2.0)])


def test_two_batches_stored_at_once_with_the_same_event_store_it_once(seeded_url):
    """The sink stores two batches at once on two connections: step 1 of the second meets the first's
    uncommitted row, waits for its commit, and stores only what is new."""
    shared = reading_row(5.0)
    first = [shared, reading_row(1.0)]
    second = [reading_row(2.0), shared, reading_row(3.0)]
    with (
        psycopg.connect(seeded_url) as a,
        psycopg.connect(seeded_url) as b,
        ThreadPoolExecutor(1) as pool,
    ):
        one, two = BatchWriter(a, READINGS), BatchWriter(b, READINGS)
        with a.transaction():
            staged = one.stage(first)
            assert staged.inserted == 2
            waiting = pool.submit(two.write, second)
            time.sleep(0.5)  # the second batch now waits on the first's row
            assert not waiting.done()
            one.reduce(staged)
            lock_apply(a)
            one.apply(staged, NOW)
        result = waiting.result(timeout=30)
    assert result.inserted == 2 and result.conflicts == []
    assert count(seeded_url, "readings") == 4
    with psycopg.connect(seeded_url) as conn:
        assert conn.execute("SELECT sum(n) FROM readings_1m").fetchone()[0] == 4


def test_a_bad_row_costs_only_itself(seeded_url):
    good = [(uuid.uuid4(), NOW, f"cam-{i:06d}", "510104", "offline") for i in range(5)]
    bad = (uuid.uuid4(), NOW, "cam-000009", "510104", "exploded")  # violates the status CHECK
    with psycopg.connect(seeded_url) as conn:
        result = BatchWriter(conn, CAMERA_STATUS).write(good[:2] + [bad] + good[2:])
    assert result.inserted == 5
    assert [i for i, _ in result.rejected] == [2]
    assert "camera_status_status_check" in result.rejected[0][1]
    assert count(seeded_url, "camera_status") == 5
    with psycopg.connect(seeded_url) as conn:
        assert conn.execute("SELECT count(*) FROM cameras WHERE status = 'offline'").fetchone()[0] == 5


def test_camera_state_follows_the_newest_event_in_any_order(seeded_url):
    t0 = NOW
    events = [
        (uuid.uuid4(), t0 + timedelta(minutes=2), "cam-000001", "510104", "online"),
        (uuid.uuid4(), t0, "cam-000001", "510104", "offline"),
    ]
    with psycopg.connect(seeded_url) as conn:
        writer = BatchWriter(conn, CAMERA_STATUS)
        writer.write(events[:1])
        writer.write(events[1:])  # late, older event must not win
        status, since = conn.execute(
            "SELECT status, status_since FROM cameras WHERE camera_id = 'cam-000001'"
        ).fetchone()
    assert (status, since) == ("online", t0 + timedelta(minutes=2))


def case_row(type_, minutes, **over):
    row = dict(
        event_id=uuid.uuid4(),
        event_time=NOW + timedelta(minutes=minutes),
        case_id="case-1",
        district="510104",
        type=type_,
        category="noise",
        urgency="emergency",
        deadline=NOW + timedelta(minutes=30),
        satisfaction=None,
        assignee=None,
        lon=104.08,
        lat=30.65,
    )
    row.update(over)
    return tuple(row.values())


@pytest.mark.parametrize("order", [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]])
def test_case_state_converges_whatever_the_delivery_order(seeded_url, order):
    events = [
        case_row("created", 0),
        case_row("assigned", 5, assignee="grid-007"),
        case_row("resolved", 20),
        case_row("closed", 25, satisfaction=5),
    ]
    with psycopg.connect(seeded_url) as conn:
        writer = BatchWriter(conn, CASE_EVENTS)
        for i in order:
            writer.write([events[i]])
        writer.write(events)  # and a full replay
        row = conn.execute(
            "SELECT status, assignee, satisfaction, opened_at, assigned_at, resolved_at, closed_at, deadline"
            " FROM cases WHERE case_id = 'case-1'"
        ).fetchone()
    assert row == (
        "closed",
        "grid-007",
        5,
        NOW,
        NOW + timedelta(minutes=5),
        NOW + timedelta(minutes=20),
        NOW + timedelta(minutes=25),
        NOW + timedelta(minutes=30),
    )
    assert count(seeded_url, "case_events") == 4


def test_a_second_report_of_a_handling_in_a_later_batch_is_not_a_second_handling(seeded_url):
    """The leaders' rollups count a case's first handling once: a repeated resolution (another event id,
    the same moment) in a later batch finds the case handled already."""
    with psycopg.connect(seeded_url) as conn:
        writer = BatchWriter(conn, CASE_EVENTS)
        writer.write([case_row("created", 0), case_row("resolved", 20)], now=NOW)
        writer.write([case_row("resolved", 20), case_row("closed", 25, satisfaction=5)], now=NOW)
        handled, on_time = conn.execute("SELECT sum(handled), sum(on_time) FROM case_kpis_1h").fetchone()
        (unit_handled,) = conn.execute("SELECT coalesce(sum(handled), 0) FROM case_units_1h").fetchone()
    assert (handled, on_time, unit_handled) == (1, 1, 0)  # no unit was ever assigned
