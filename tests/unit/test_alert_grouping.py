"""Grouping notifications (group_by, group_wait, group_interval), matchers, and the robots' message text."""

from datetime import UTC, datetime, timedelta

import pytest

from citybrain.alerts.grouping import Notification, Pending, due, group_key
from citybrain.alerts.matchers import Matcher, MatcherError, parse_all
from citybrain.alerts.notifiers import Texts
from citybrain.alerts.rules import Route
from citybrain.events import AlertEvent

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
MINOR = Route(receivers=["log"], group_by=("rule", "district"), group_wait_s=60, group_interval_s=600)


def event(alert_id, action="open", camera=None, district="510104", at=T0, **over) -> AlertEvent:
    camera = camera or f"cam-{alert_id:02d}"
    doc = dict(
        event_time=at,
        action=action,
        actor="citybrain",
        alert_id=alert_id,
        dedup_key=f"camera_offline:{camera}",
        rule_id="camera_offline",
        severity="minor",
        title=f"camera {camera} offline for 31 min",
        district=district,
        status="active",
        acknowledged=False,
        resolved=False,
        escalation_level=0,
    )
    return AlertEvent(**{**doc, **over})


def pending(i, at=T0, **kw) -> Pending:
    e = event(i, at=at, **kw)
    return Pending(i, group_key("minor", MINOR.group_by, {"rule": e.rule_id, "district": e.district}), at, e)


def test_twenty_cameras_offline_in_one_district_are_one_message_after_group_wait():
    outbox = [pending(i, at=T0 + timedelta(seconds=i)) for i in range(1, 21)]
    assert (
        due(T0 + timedelta(seconds=59), outbox, {}, {"minor": MINOR}) == []
    )  # the group is still collecting
    [(message, ids)] = due(T0 + timedelta(seconds=61), outbox, {}, {"minor": MINOR})
    assert message.group_key == "minor|rule=camera_offline|district=510104"
    assert len(message.events) == 20 and ids == list(range(1, 21))


def test_groups_split_by_their_labels():
    outbox = [pending(1), pending(2, district="510105"), pending(3)]
    sent = due(T0 + timedelta(minutes=2), outbox, {}, {"minor": MINOR})
    assert sorted((m.group_key.rsplit("=", 1)[1], ids) for m, ids in sent) == [
        ("510104", [1, 3]),
        ("510105", [2]),
    ]


def test_news_for_a_group_that_sent_recently_waits_for_group_interval():
    key = "minor|rule=camera_offline|district=510104"
    outbox = [pending(5, at=T0 + timedelta(minutes=3))]
    last = {key: T0}
    assert due(T0 + timedelta(minutes=9), outbox, last, {"minor": MINOR}) == []
    [(_, ids)] = due(T0 + timedelta(minutes=10), outbox, last, {"minor": MINOR})
    assert ids == [5]
    # a group quiet for a whole interval is new again: it only waits group_wait
    later = [pending(6, at=T0 + timedelta(minutes=30))]
    assert due(T0 + timedelta(minutes=31, seconds=1), later, last, {"minor": MINOR}) != []


def test_one_line_per_alert_where_it_is_now():
    outbox = [
        pending(1),
        Pending(
            2,
            pending(1).group_key,
            T0 + timedelta(seconds=20),
            event(1, action="escalate", escalation_level=1, at=T0 + timedelta(seconds=20)),
        ),
    ]
    [(message, ids)] = due(T0 + timedelta(minutes=2), outbox, {}, {"minor": MINOR})
    assert [e.action for e in message.events] == ["escalate"] and ids == [1, 2]


def test_robot_text_is_chinese_with_district_names_and_links():
    texts = Texts({"510104": "锦江区", "510105": "青羊区"}, "http://wall.example/alerts/{id}")
    n = Notification(
        "minor|rule=camera_offline|district=510104",
        "minor",
        (event(1), event(2), event(3, action="unmute", muted_for_s=1800)),
    )
    text = texts.markdown(n)
    assert text.startswith("### 【一般告警】锦江区 camera_offline（3条）")
    assert "新告警：camera cam-01 offline for 31 min，区县：锦江区" in text
    assert "[查看告警 #2](http://wall.example/alerts/2)" in text
    assert "静默结束" in text and "静默30分钟" in text


def test_a_large_group_is_cut_to_fit_the_robot_and_says_how_many_more():
    n = Notification(
        "minor|rule=camera_offline|district=510104", "minor", tuple(event(i) for i in range(1, 201))
    )
    text = Texts({"510104": "锦江区"}).markdown(n)
    assert len(text.encode()) <= 3800 and text.startswith("### 【一般告警】锦江区 camera_offline（200条）")
    shown = text.count("\n- 新告警")
    assert 20 < shown < 200 and text.endswith(f"另有{200 - shown}条告警，请在值班台查看")


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("district=510104", Matcher("district", "=", "510104")),
        ('rule=~"camera_.*"', Matcher("rule", "=~", "camera_.*")),
        ("severity!=warning", Matcher("severity", "!=", "warning")),
        ("rule!~gas|water", Matcher("rule", "!~", "gas|water")),
        ('device=""', Matcher("device", "=", "")),
        ("title=a=b", Matcher("title", "=", "a=b")),
    ],
)
def test_matcher_syntax(text, parsed):
    assert Matcher.parse(text) == parsed
    assert parse_all([text]) == (parsed,)


def test_regex_matchers_are_anchored_and_absent_equals_empty():
    assert Matcher.parse("rule=~cam").matches({"rule": "camera_offline"}) is False
    assert Matcher.parse("rule=~cam.*").matches({"rule": "camera_offline"}) is True
    assert Matcher.parse('device=""').matches({"rule": "x"}) is True
    assert Matcher.parse("device!=iot-1").matches({}) is True


@pytest.mark.parametrize("bad", ["district", "9x=1", "rule=~(unclosed"])
def test_bad_matchers_say_what_is_wrong(bad):
    with pytest.raises(MatcherError):
        Matcher.parse(bad)
