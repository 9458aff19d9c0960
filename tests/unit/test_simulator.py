from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

from citybrain.events import SENSOR_SPECS, CaseEventType, SensorKind, Topic
from citybrain.sim.city_sim import CitySimulator

START = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)


def run_sim(registry, seconds: int, rate: float = 100.0, seed: int = 1):
    sim = CitySimulator(*registry, rate=rate, seed=seed)
    return [
        (START + timedelta(seconds=s), *ev)
        for s in range(seconds)
        for ev in sim.step(START + timedelta(seconds=s), 1.0)
    ]


def test_rate_holds_and_all_streams_flow(registry):
    events = run_sim(registry, 300)
    by_topic = Counter(topic for _, topic, _, _ in events)
    # camera outages and recoveries, and case events, come on top of the budget
    assert 100 * 300 <= len(events) <= 1.05 * 100 * 300
    assert by_topic[Topic.READINGS] > by_topic[Topic.CAMERA_STATUS] > by_topic[Topic.CASE_EVENTS] > 0
    created = sum(1 for _, t, _, e in events if t is Topic.CASE_EVENTS and e.type is CaseEventType.CREATED)
    assert 0.5 * 0.095 * 300 < created < 2 * 0.095 * 300  # ~3 million appeals a year


def test_readings_are_plausible_and_keyed_by_device(registry):
    for _, topic, key, event in run_sim(registry, 60):
        if topic is Topic.READINGS:
            _, low, high = SENSOR_SPECS[SensorKind(event.kind)]
            assert low <= event.value <= high
            assert key == event.device_id


def test_cases_walk_their_lifecycle_in_order(registry):
    order = [CaseEventType.CREATED, CaseEventType.ASSIGNED, CaseEventType.RESOLVED, CaseEventType.CLOSED]
    seen = defaultdict(list)
    for when, topic, key, event in run_sim(registry, 1800):
        if topic is Topic.CASE_EVENTS:
            assert key == event.case_id
            seen[event.case_id].append((when, event.type))
    assert any(len(steps) == 4 for steps in seen.values()), "some case should be closed within 30 minutes"
    for steps in seen.values():
        assert [t for _, t in steps] == order[: len(steps)]
        assert [w for w, _ in steps] == sorted(w for w, _ in steps)


def test_same_seed_same_city(registry):
    a = [(t, k) for _, t, k, _ in run_sim(registry, 30, seed=5)]
    b = [(t, k) for _, t, k, _ in run_sim(registry, 30, seed=5)]
    assert a == b


def test_a_healthy_simulated_city_stays_under_the_alert_thresholds(registry):
    from citybrain.alerts.rules import RulesConfig
    from citybrain.settings import PROJECT_ROOT

    limits = {
        r.kind.value: r.above
        for r in RulesConfig.load(PROJECT_ROOT / "config").rules
        if r.type == "sensor_threshold"
    }
    over = [
        e
        for _, t, _, e in run_sim(registry, 600)
        if t is Topic.READINGS and e.value > limits.get(e.kind, 1e9)
    ]
    assert over == []
