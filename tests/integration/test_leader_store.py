"""The leaders' reads (store/leader.py) on a small known data set, figures checked by hand
(tests/leader_seed.py), and the rollups they read equal to the same figures computed from raw rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from citybrain.store import leader, queries
from citybrain.store.writer import CASE_EVENTS, BatchWriter
from tests.leader_seed import JINJIANG, ORANGE, PAST, QINGYANG, QUIET, case_rows, seed

# a fixed moment on purpose not on an hour, so periods have raw edges, whole hours and whole days
NOW = datetime(2026, 11, 22, 9, 37, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.fixture
def data(seeded_url):
    seed(seeded_url, NOW)
    return seeded_url


def test_case_figures_for_the_last_24_hours_match_the_hand_computed_ones(data):
    with psycopg.connect(data) as conn:
        period = leader.case_period(conn, NOW - 24 * H, NOW)
        jj = period.by_district[JINJIANG]
        assert (jj.received, jj.emergencies, jj.handled, jj.on_time, jj.rated, jj.satisfied) == (
            5,
            1,
            3,
            2,
            3,
            2,
        )
        assert jj.resolution_rate == pytest.approx(0.6)
        assert jj.on_time_rate == pytest.approx(2 / 3)
        assert jj.satisfaction_rate == pytest.approx(2 / 3)
        city = period.city
        assert (city.received, city.handled, city.on_time, city.rated, city.satisfied) == (6, 4, 3, 4, 3)
        assert [(c, f.received) for c, f in period.categories(JINJIANG)] == [
            ("city_appearance", 3),
            ("gas_safety", 1),
            ("noise", 1),
        ]
        units = leader.unit_period(conn, NOW - 24 * H, NOW)
        g1, g2 = units["grid-001"], units["grid-002"]
        assert (g1.assigned, g1.handled, g1.on_time, g1.rated, g1.satisfied) == (2, 2, 1, 2, 1)
        assert (g2.assigned, g2.handled, g2.on_time, g2.rated, g2.satisfied) == (1, 1, 1, 1, 1)
        # the baseline: the four days before, c0 only
        before = leader.case_period(conn, NOW - 5 * 24 * H, NOW - 24 * H).by_district[JINJIANG]
        assert (before.received, before.handled, before.on_time, before.satisfied) == (1, 1, 1, 1)
        open_now = leader.open_cases_at(conn, NOW)
        assert (open_now[JINJIANG]["open_cases"], open_now[JINJIANG]["overdue"]) == (2, 1)
        assert open_now[JINJIANG]["open_emergencies"] == 1
        # at a past moment: only what had happened by then (c1 handled, c2 not yet; c3-c5 not received)
        past = leader.case_period(conn, NOW - 24 * H, NOW - 6 * H).by_district[JINJIANG]
        assert (past.received, past.handled, past.on_time) == (2, 1, 1)
        then = leader.open_cases_at(conn, NOW - 6 * H)[JINJIANG]
        assert (then["open_cases"], then["overdue"]) == (1, 1)  # c2, past its deadline by then


def test_every_period_split_equals_the_raw_figures(data):
    """Whatever the period, days + hours + raw edges give what the raw events say."""
    with psycopg.connect(data) as conn:
        for start, end in [
            (NOW - 24 * H, NOW),
            (NOW - 80 * H, NOW - 3 * H),
            (NOW - 9.5 * H, NOW - 9.2 * H),
            (NOW - 30 * 24 * H, NOW + H),
        ]:
            units = leader.unit_period(conn, start, end)
            raw_units = {
                r[0]: tuple(int(x) for x in r[1:])
                for r in conn.execute(
                    "SELECT assignee, sum(assigned), sum(handled), sum(on_time) FROM"
                    f" ({leader.CASE_UNITS.select(_window(start, end), 'NULL::timestamptz')}) r"
                    " GROUP BY assignee"
                )
            }
            assert {u: (f.assigned, f.handled, f.on_time) for u, f in units.items()} == raw_units, (
                start,
                end,
            )
            split = leader.case_period(conn, start, end).city
            window = (
                f"(SELECT * FROM case_events WHERE event_time >= '{start.isoformat()}'"
                f" AND event_time < '{end.isoformat()}')"
            )
            raw = conn.execute(
                f"SELECT sum(received), sum(handled), sum(on_time), sum(rated), sum(satisfied)"
                f" FROM ({leader.CASE_KPIS.select(window, 'NULL::timestamptz')}) r"
            ).fetchone()
            assert (split.received, split.handled, split.on_time, split.rated, split.satisfied) == tuple(
                int(x or 0) for x in raw
            ), (start, end)


def _window(start, end) -> str:
    return (
        f"(SELECT * FROM case_events WHERE event_time >= '{start.isoformat()}'"
        f" AND event_time < '{end.isoformat()}')"
    )


def test_a_replayed_batch_adds_nothing_to_the_case_rollups(data):
    with psycopg.connect(data) as conn:
        before = conn.execute("SELECT sum(received), sum(handled) FROM case_kpis_1d").fetchone()
        BatchWriter(conn, CASE_EVENTS).write(case_rows(NOW), now=NOW)  # new event ids: a different batch
        again = conn.execute("SELECT sum(received), sum(handled) FROM case_kpis_1d").fetchone()
        assert again[0] == 2 * before[0]  # received twice (other event ids), but ...
        assert again[1] == before[1]  # ... a case is handled once, by its first handling event
    with psycopg.connect(data) as conn:
        rows = conn.execute("SELECT * FROM case_events LIMIT 5").fetchall()
        n = conn.execute("SELECT sum(received) FROM case_kpis_1h").fetchone()[0]
        BatchWriter(conn, CASE_EVENTS).write([r[:12] for r in rows], now=NOW)  # the very same events
        assert conn.execute("SELECT sum(received) FROM case_kpis_1h").fetchone()[0] == n


def test_risk_at_a_past_moment_and_the_hourly_rollup(data):
    with psycopg.connect(data) as conn:
        live = {r["district"]: r for r in queries.latest_risk(conn, 900, at=NOW)}
        past = {r["district"]: r for r in queries.latest_risk(conn, 900, at=NOW - PAST)}
        assert live[JINJIANG]["level"] == "normal"
        assert past[JINJIANG]["level"] == "orange" and past[JINJIANG]["floor"] == "water_over_warning_line"
        hourly = leader.risk_series_1h(conn, JINJIANG, 900, NOW - 4 * H, NOW)
        raw = leader.risk_series_1m(conn, JINJIANG, 900, NOW - 4 * H, NOW)
        assert sum(r["n"] for r in hourly) == len(raw) == 180
        for h in hourly:
            minutes = [r for r in raw if h["t"] <= r["t"] < h["t"] + H]
            assert h["n"] == len(minutes)
            assert h["score"] == pytest.approx(sum(r["score"] for r in minutes) / len(minutes))
            for k in ORANGE:
                assert h["contributions"][k] == pytest.approx(
                    sum(r["contributions"][k] for r in minutes) / len(minutes)
                )
        assert hourly[0]["level_max"] == 3  # orange
        over = {r["district"]: r for r in leader.risk_over(conn, 900, NOW - 24 * H, NOW + H)}
        assert over[JINJIANG]["level"] == "orange" and over[QINGYANG]["level"] == "normal"
        assert over[QINGYANG]["contributions"]["case_pressure"] == pytest.approx(QUIET["case_pressure"])


def test_bench_leader_times_every_read_on_a_synthetic_history(database_url, tmp_path):
    from citybrain.bench import leader as bench
    from citybrain.bench.runner import save
    from citybrain.store.migrate import migrate
    from tests.helpers import settings_for

    migrate(database_url)
    result = save(bench.run(settings_for(), database_url, days=2, echo=lambda _: None), tmp_path / "b.json")
    assert result["rows"]["case_kpis_1d"] > 0 and result["rows"]["indicators_1h"] == 20 * 2 * 48
    assert {"cases_year", "units_year", "risk_map_now", "open_cases_now"} <= set(result["read_ms"])
    assert all(ms >= 0 for ms in result["read_ms"].values())
    with psycopg.connect(database_url) as conn:  # the synthetic rollups read back as the pages read them
        year = leader.case_period(conn, NOW.replace(year=2000), datetime.now(UTC))
    rolled_up = conn_sum(database_url, "case_kpis_1h", "received")
    # plus the raw events of the current hour (the synthetic raw hour is not in the synthetic rollups; just
    # after the hour turns, none yet)
    assert rolled_up <= year.city.received <= rolled_up + 350


def conn_sum(url: str, table: str, column: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute(f"SELECT sum({column}) FROM {table}").fetchone()[0])
