"""The alert engine under a controlled clock."""

from dataclasses import replace
from datetime import timedelta

from citybrain.alerts.engine import Kind, Observation, Signal, Silence, Track, evaluate
from citybrain.alerts.rules import RulesConfig
from citybrain.settings import PROJECT_ROOT
from tests.unit.alert_rules import RULES, T0

CFG = RulesConfig.model_validate(
    {
        "rules": RULES,
        "inhibit": [{"source": "cluster", "target": "cam", "equal": ["district"]}],
    }
)


class Clock:
    """Runs the engine tick by tick, carrying its state like the worker does through the database."""

    def __init__(self, silences=()):
        self.now = T0
        self.tracks: dict[str, Track] = {}
        self.silences = list(silences)
        self.log = []

    def tick(self, *observations: Observation, seconds: float = 10) -> list:
        result = evaluate(self.now, self.tracks, observations, self.silences, CFG)
        self.tracks = result.tracks
        self.log += [(self.now, t) for t in result.transitions]
        self.last = result
        self.now += timedelta(seconds=seconds)
        return result.transitions

    def kinds(self):
        return [t.kind for _, t in self.log]


def water(value, signal=Signal.FIRING, gauge="iot-1", district="510104"):
    return Observation("water", gauge, signal, value, {"district": district}, f"water {value} m at {gauge}")


def test_a_sensor_over_its_red_line_opens_a_critical_alert_at_once():
    clock = Clock()
    [t] = clock.tick(water(6.4))
    assert t.kind is Kind.OPEN and t.alert.severity == "critical" and t.alert.value == 6.4
    assert t.alert.labels == {"district": "510104", "rule": "water", "scope": "iot-1", "severity": "critical"}


def test_repeated_triggers_update_the_one_open_alert():
    clock = Clock()
    clock.tick(water(6.4))
    clock.tick(water(6.2))  # lower: same alert, no new peak
    [t] = clock.tick(water(6.9))
    assert t.kind is Kind.UPDATE and t.alert.peak == 6.9
    assert clock.kinds() == [Kind.OPEN, Kind.UPDATE]
    assert len([tr for tr in clock.tracks.values() if tr.alert]) == 1
    assert clock.last.seen == {"water:iot-1": 6.9}


def test_hold_time_delays_opening_and_a_gap_restarts_it():
    clock = Clock()
    share = lambda s: Observation("cluster", "510104", Signal.FIRING, s, {"district": "510104"})  # noqa: E731
    assert clock.tick(share(0.3), seconds=30) == []
    assert clock.tick(seconds=30) == []  # cleared before the hold ended
    assert clock.tick(share(0.3), seconds=30) == []  # starts counting again
    assert clock.tick(share(0.3), seconds=30) == []
    [t] = clock.tick(share(0.3))  # 60 s of continuous firing
    assert t.kind is Kind.OPEN and t.alert.opened_at == T0 + timedelta(seconds=120)


def test_a_flapping_signal_opens_one_alert_per_episode():
    clock = Clock()
    for i in range(30):  # 6.1, 5.8 (band), 5.4 (below clear), ... every 10 s: never clear for 120 s
        value = (6.1, 5.8, 5.4)[i % 3]
        clock.tick(*([] if value < 5.5 else [water(value, Signal.FIRING if value > 6 else Signal.BETWEEN)]))
    assert clock.kinds().count(Kind.OPEN) == 1
    assert Kind.CLEAR not in clock.kinds()
    for _ in range(13):  # now quiet for 130 s: the episode ends
        clock.tick()
    assert clock.kinds().count(Kind.CLEAR) == 1
    clock.tick(water(6.5))  # a new episode
    assert clock.kinds().count(Kind.OPEN) == 2


def test_escalation_when_unacknowledged_and_not_after_acknowledgement():
    clock = Clock()
    clock.tick(water(6.4), seconds=299)
    assert clock.tick(water(6.4), seconds=1) == []
    [t] = clock.tick(water(6.4), seconds=300)  # 300 s after opening
    assert t.kind is Kind.ESCALATE and t.alert.escalation_level == 1
    [t] = clock.tick(water(6.4))  # 600 s: level 2
    assert t.alert.escalation_level == 2
    track = clock.tracks["water:iot-1"]
    clock.tracks["water:iot-1"] = replace(track, alert=replace(track.alert, acknowledged=True))
    clock.now += timedelta(hours=2)
    assert clock.tick(water(6.4)) == []


def test_escalations_missed_while_the_worker_was_down_collapse_into_one_at_the_current_level():
    clock = Clock()
    clock.tick(water(6.4))
    clock.now += timedelta(minutes=11)  # nothing ran for 11 minutes: levels 1 and 2 were both due
    [t] = clock.tick(water(6.4))
    assert t.kind is Kind.ESCALATE and t.alert.escalation_level == 2
    assert clock.tick(water(6.4)) == []  # not a second one at the next tick
    assert clock.tick(water(6.4)) == []


def test_a_silence_mutes_until_it_expires():
    silence = Silence(1, {"district": "510104", "rule": "water"}, T0, T0 + timedelta(minutes=5))
    clock = Clock([silence])
    [t] = clock.tick(water(6.4))
    assert t.muted == "silenced" and clock.last.notify == []
    assert clock.last.muted == {"water:iot-1": "silenced"}
    clock.now = T0 + timedelta(minutes=5)
    [t] = clock.tick(water(6.4))  # the silence has just expired: announced, not escalated
    assert t.kind is Kind.UNMUTE and t.muted is None and t.alert.escalation_level == 0
    assert clock.last.notify == [t]
    other = Clock([silence])
    [t] = other.tick(water(6.4, district="510105"))
    assert t.muted is None  # matchers must all match


def test_a_district_outage_inhibits_its_single_camera_alerts_but_keeps_them():
    clock = Clock()
    cam = lambda c, d: Observation("cam", c, Signal.FIRING, None, {"district": d})  # noqa: E731
    cluster = Observation("cluster", "510104", Signal.FIRING, 0.3, {"district": "510104"})
    clock.tick(cam("c1", "510104"), cam("c2", "510105"), cluster, seconds=60)
    assert clock.last.muted == {"cam:c1": None, "cam:c2": None}
    clock.tick(cam("c1", "510104"), cam("c2", "510105"), cluster)  # the cluster alert opens after its hold
    assert clock.last.muted == {"cam:c1": "inhibited", "cam:c2": None, "cluster:510104": None}


def test_a_resolved_alert_stays_closed_until_its_condition_has_been_clear_for_the_clear_hold():
    clock = Clock()
    clock.tick(water(6.4))
    key = "water:iot-1"
    clock.tracks[key] = Track(rule_id="water", suppressed=True)  # what resolve() stores
    assert clock.tick(water(6.4)) == []
    clock.tick(seconds=60)  # clear for 60 s of the 120 s clear hold
    assert clock.tick(water(6.6)) == []  # flapping back: still the same episode, stays closed
    for _ in range(13):  # clear for 120 s: the episode is over
        assert clock.tick() == []
    assert key not in clock.tracks
    [t] = clock.tick(water(6.6))
    assert t.kind is Kind.OPEN


def test_the_shipped_rules_load():
    cfg = RulesConfig.load(PROJECT_ROOT / "config")
    assert {r.type for r in cfg.rules} == {
        "risk_level",
        "sensor_threshold",
        "camera_cluster",
        "camera_offline",
        "case_unassigned",
        "case_overdue",
        "case_hotspot",
        "no_data",
        "storage_job_failing",
    }
