"""Every alert reaches a person: mute, repeat, restart and inhibition semantics on a controlled clock."""

from datetime import datetime, timedelta

import pytest

from citybrain.alerts.engine import Kind, Observation, Signal, Silence, Track, evaluate
from citybrain.alerts.rules import RulesConfig
from citybrain.settings import PROJECT_ROOT
from tests.unit.alert_rules import RULES, T0

CFG = RulesConfig.model_validate(
    {
        "rules": RULES,
        "inhibit": [{"source": "cluster", "target": "cam", "equal": ["district"]}],
        "notify": {"critical": {"receivers": ["log"], "repeat_interval_s": 600}, "minor": ["log"]},
    }
)


class Clock:
    """Runs the engine tick by tick, carrying its state like the worker does through the database."""

    def __init__(self, cfg=CFG, silences=()):
        self.cfg = cfg
        self.now = T0
        self.tracks: dict[str, Track] = {}
        self.silences = list(silences)
        self.log = []

    def tick(self, *observations: Observation, seconds: float = 10) -> list:
        self.last = evaluate(self.now, self.tracks, observations, self.silences, self.cfg)
        self.tracks = self.last.tracks
        self.log += [(self.now, t) for t in self.last.transitions]
        self.now += timedelta(seconds=seconds)
        return self.last.transitions

    def run_until(self, until: datetime, *observations: Observation) -> None:
        while self.now < until:
            self.tick(*observations)

    def notified(self):
        """(seconds after T0, kind) of every transition someone was told about."""
        return [
            ((at - T0).total_seconds(), t.kind)
            for at, t in self.log
            if t.muted is None and t.kind in (Kind.OPEN, Kind.UNMUTE, Kind.ESCALATE, Kind.REPEAT, Kind.CLEAR)
        ]


def water(value=6.4, gauge="iot-1", district="510104"):
    return Observation(
        "water", gauge, Signal.FIRING, value, {"district": district, "device": gauge}, f"water {value}"
    )


def cam(camera, district="510104"):
    return Observation("cam", camera, Signal.FIRING, None, {"district": district, "camera": camera})


def cluster(district="510104"):
    return Observation("cluster", district, Signal.FIRING, 0.3, {"district": district})


def hour_silence(**matchers):
    return Silence(1, matchers or {"district": "510104"}, T0, T0 + timedelta(hours=1))


# --- muting never loses an alert -------------------------------------------------------------------------


def test_a_critical_alert_opened_during_a_maintenance_silence_is_announced_when_it_ends():
    clock = Clock(silences=[hour_silence()])
    clock.run_until(T0 + timedelta(hours=1), water())
    assert clock.notified() == []  # silent for the hour, and no escalation spent
    assert clock.tracks["water:iot-1"].alert.escalation_level == 0
    [t] = clock.tick(water())
    assert t.kind is Kind.UNMUTE and t.muted is None and t.muted_for_s == 3600
    clock.run_until(T0 + timedelta(hours=1, minutes=6), water())
    # the escalation clock starts when the alert is announced, not when it opened muted
    assert clock.notified() == [(3600, Kind.UNMUTE), (3900, Kind.ESCALATE)]


def test_an_inhibited_alert_is_announced_when_its_inhibiting_alert_clears():
    clock = Clock()
    clock.run_until(T0 + timedelta(seconds=70), cluster())  # the district outage opens at 60 s
    [t] = clock.tick(cluster(), cam("c1"))
    assert t.kind is Kind.OPEN and t.muted == "inhibited"
    clock.run_until(T0 + timedelta(seconds=390), cam("c1"))  # the outage ends at 80; clear hold 300 s
    assert clock.notified() == [(60, Kind.OPEN), (380, Kind.CLEAR), (380, Kind.UNMUTE)]
    unmute = next(t for _, t in clock.log if t.kind is Kind.UNMUTE)
    assert unmute.alert.rule_id == "cam" and unmute.muted_for_s == 310


def test_an_alert_that_clears_while_muted_is_not_announced_as_cleared():
    clock = Clock(silences=[hour_silence()])
    clock.tick(water())
    clock.run_until(T0 + timedelta(minutes=10))  # clear for its clear hold, still silenced
    assert [t.kind for _, t in clock.log] == [Kind.OPEN, Kind.CLEAR]
    assert clock.notified() == []


def test_events_carry_the_mute_state_after_this_ticks_transitions():
    clock = Clock()
    clock.tick(water(6.4))
    clock.silences.append(
        Silence(2, ["device=iot-1"], T0 + timedelta(seconds=10), T0 + timedelta(minutes=10))
    )
    [t] = clock.tick(water(6.9))  # new peak in the tick the silence starts
    assert t.kind is Kind.UPDATE and t.muted == "silenced"
    assert clock.last.muted == {"water:iot-1": "silenced"}


def test_escalation_clocks_stop_while_muted():
    # opened at 0, silenced 200..400: the 300 s of unmuted time needed for level 1 are reached at 500
    clock = Clock(
        silences=[Silence(1, {"device": "iot-1"}, T0 + timedelta(seconds=200), T0 + timedelta(seconds=400))]
    )
    clock.run_until(T0 + timedelta(seconds=510), water())
    assert clock.notified() == [(0, Kind.OPEN), (400, Kind.UNMUTE), (500, Kind.ESCALATE)]


def test_an_acknowledged_alert_is_not_announced_again_when_its_mute_ends():
    clock = Clock(silences=[hour_silence()])
    clock.tick(water())
    track = clock.tracks["water:iot-1"]
    from dataclasses import replace

    clock.tracks["water:iot-1"] = replace(track, alert=replace(track.alert, acknowledged=True))
    clock.run_until(T0 + timedelta(hours=2), water())
    assert clock.notified() == []
    assert clock.tracks["water:iot-1"].alert.muted is None


# --- repeat ----------------------------------------------------------------------------------------------


def test_an_open_unacknowledged_alert_repeats_every_repeat_interval_after_its_last_notification():
    clock = Clock()
    clock.run_until(T0 + timedelta(seconds=2210), water())
    # open, three escalations 300 s apart, then a repeat every 600 s after the last notification
    assert clock.notified() == [
        (0, Kind.OPEN),
        (300, Kind.ESCALATE),
        (600, Kind.ESCALATE),
        (900, Kind.ESCALATE),
        (1500, Kind.REPEAT),
        (2100, Kind.REPEAT),
    ]


def test_a_route_without_repeat_interval_does_not_repeat():
    clock = Clock()
    clock.run_until(T0 + timedelta(hours=5), cam("c9", "510105"))
    assert clock.notified() == [
        (0, Kind.OPEN),
        (3600, Kind.ESCALATE),
        (7200, Kind.ESCALATE),
        (10800, Kind.ESCALATE),
    ]


# --- restart after an outage -----------------------------------------------------------------------------


def test_a_pending_hold_older_than_the_outage_tolerance_starts_again():
    clock = Clock()
    clock.tick(cluster())
    clock.now += timedelta(hours=60)  # a weekend outage of the worker
    assert clock.tick(cluster(), seconds=30) == []  # the hold starts again
    assert clock.tick(cluster(), seconds=30) == []
    [t] = clock.tick(cluster())
    assert t.kind is Kind.OPEN and t.alert.opened_at == T0 + timedelta(hours=60, seconds=70)


def test_a_short_restart_keeps_the_hold():
    clock = Clock()
    clock.tick(cluster())
    clock.now += timedelta(seconds=50)  # restarted well within the tolerance
    [t] = clock.tick(cluster())
    assert t.kind is Kind.OPEN and t.alert.opened_at == T0 + timedelta(seconds=60)


# --- inhibition follows the condition --------------------------------------------------------------------


def test_resolving_the_inhibiting_alert_keeps_inhibiting_while_its_condition_persists():
    clock = Clock()
    clock.run_until(T0 + timedelta(seconds=70), cluster())
    clock.tick(cluster(), cam("c1"))
    src = clock.tracks["cluster:510104"]
    clock.tracks["cluster:510104"] = Track(
        "cluster", suppressed=True, labels=src.alert.labels
    )  # resolved early
    clock.run_until(T0 + timedelta(minutes=20), cluster(), cam("c1"))
    assert clock.last.muted == {"cam:c1": "inhibited"}
    assert [k for _, k in clock.notified()] == [Kind.OPEN]  # the cluster's; nothing since


def test_inhibition_by_label_matchers_with_equal_labels():
    cfg = RulesConfig.model_validate(
        {
            "rules": RULES,
            "inhibit": [
                {
                    "source_matchers": ["severity=critical"],
                    "target_matchers": ['severity=~"minor|warning"'],
                    "equal": ["district"],
                }
            ],
        }
    )
    clock = Clock(cfg)
    clock.tick(water(district="510104"), cam("c1", "510104"), cam("c2", "510105"))
    assert clock.last.muted == {"water:iot-1": None, "cam:c1": "inhibited", "cam:c2": None}


def test_self_inhibition_is_refused_at_load_naming_the_rule(tmp_path):
    from citybrain.config import ConfigError

    text = (PROJECT_ROOT / "config/rules.yaml").read_text(encoding="utf-8")
    (tmp_path / "rules.yaml").write_text(
        text.replace("    target: camera_offline\n", "    target: camera_outage_cluster\n", 1),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as err:
        RulesConfig.load(tmp_path)
    assert "rules.yaml" in str(err.value) and "inhibit.0" in str(err.value)
    assert "rule 'camera_outage_cluster' would inhibit itself" in str(err.value)
    with pytest.raises(ValueError, match="rule 'cluster' would inhibit itself"):
        RulesConfig.model_validate(
            {
                "rules": RULES,
                "inhibit": [{"source_matchers": ['rule=~"c.*"'], "target_matchers": ["severity!=critical"]}],
            }
        )
    with pytest.raises(
        ValueError, match="rule 'water' would inhibit itself"
    ):  # critical alerts muting each other
        RulesConfig.model_validate(
            {
                "rules": RULES,
                "inhibit": [
                    {"source_matchers": ["severity=critical"], "target_matchers": ["district=510104"]}
                ],
            }
        )
    # sides no alert can match both of are fine, whatever rules they may touch
    RulesConfig.model_validate(
        {
            "rules": RULES,
            "inhibit": [
                {"source_matchers": ["kind=gas"], "target_matchers": ["kind=water_level"]},
                {"source_matchers": ["district=510104"], "target_matchers": ['district!~"5101.."']},
            ],
        }
    )


# --- silences beyond equality ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("matchers", "muted"),
    [
        (['rule=~"ca.*"'], {"cam:c1", "cam:c2"}),
        (["rule=cam", "district!=510104"], {"cam:c2"}),
        (['device=""', "district=510104"], {"cam:c1"}),  # label absent: cameras have no device
        (["rule!~cam|water"], set()),
    ],
)
def test_silence_matchers(matchers, muted):
    clock = Clock(silences=[Silence(1, matchers, T0, T0 + timedelta(hours=1))])
    clock.tick(water(), cam("c1"), cam("c2", "510105"))
    assert {k for k, why in clock.last.muted.items() if why == "silenced"} == muted


# --- the shipped rules -----------------------------------------------------------------------------------


def test_a_red_district_notifies_once_the_orange_alert_is_inhibited():
    cfg = RulesConfig.load(PROJECT_ROOT / "config")
    clock = Clock(cfg)

    def red(district="510107"):
        return [
            Observation(rule, district, Signal.FIRING, 82.0, {"district": district}, f"{district} red")
            for rule in ("district_risk_orange", "district_risk_red")
        ]

    clock.run_until(T0 + timedelta(minutes=10), *red())
    opened = [(t.alert.rule_id, t.muted) for _, t in clock.log if t.kind is Kind.OPEN]
    assert opened == [("district_risk_red", None), ("district_risk_orange", "inhibited")]
    assert [k for _, k in clock.notified()] == [Kind.OPEN]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "    target: camera_offline\n",
            '    target_matchers: ["rule=~(bad"]\n',
            "inhibit.0.target_matchers: Value error, target_matchers: rule=~(bad: bad regular expression",
        ),
        ("    repeat_interval_s: 1800\n", "    repeat_interval_s: -5\n", "notify.critical.repeat_interval_s"),
        ("    receivers: [log]\n", "    receivers: [log, sms]\n", "notify.minor.receivers.1"),
        (
            "outage_tolerance_s: 300 ",
            "outage_tolerance_s: 5 ",
            "outage_tolerance_s (5) must exceed tick_s (10)",
        ),
    ],
)
def test_bad_notification_settings_name_file_and_key(tmp_path, old, new, expected):
    from citybrain.config import ConfigError

    text = (PROJECT_ROOT / "config/rules.yaml").read_text(encoding="utf-8")
    assert old in text
    (tmp_path / "rules.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        RulesConfig.load(tmp_path)
    assert "rules.yaml" in str(err.value) and expected in str(err.value)
