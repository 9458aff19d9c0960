"""The wall's side panel: paging and rotation never hide an item, and what each page lists."""

from datetime import UTC, datetime, timedelta

from citybrain.dashboard.components import wall_panels as wp
from citybrain.dashboard.wall_config import Panel, WallConfig
from citybrain.settings import PROJECT_ROOT

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def risk(district, level, score, floor=None):
    return {
        "district": district,
        "level": level,
        "score": score,
        "floor": floor,
        "contributions": {"camera_offline_ratio": score * 0.7, "case_pressure": score * 0.3},
    }


def test_pages_cover_every_item_once_and_an_empty_list_is_one_page():
    items = list(range(14))
    pages = wp.paginate(items, 6)
    assert [len(p) for p in pages] == [6, 6, 2] and sum(pages, []) == items
    assert wp.paginate([], 6) == [[]]


def test_the_rotation_shows_every_page_of_every_panel_in_turn():
    playlist = (Panel.RISK, Panel.ALERTS, Panel.VIDEO)
    slots = wp.rotation(playlist, {Panel.RISK: 3, Panel.ALERTS: 1, Panel.VIDEO: 2})
    assert [(s.panel, s.page, s.pages) for s in slots] == [
        (Panel.RISK, 0, 3),
        (Panel.RISK, 1, 3),
        (Panel.RISK, 2, 3),
        (Panel.ALERTS, 0, 1),
        (Panel.VIDEO, 0, 2),
        (Panel.VIDEO, 1, 2),
    ]
    seen = {wp.slot_at(NOW + timedelta(seconds=10 * i), 10, slots) for i in range(len(slots))}
    assert seen == set(slots)  # one full cycle shows each page once
    assert wp.slot_at(NOW, 10, slots) == wp.slot_at(NOW + timedelta(seconds=0.5), 10, slots)  # screens agree


def test_only_warnings_are_listed_worst_first():
    rows = [
        risk("510104", "normal", 5),
        risk("510105", "blue", 13),
        risk("510116", "orange", 21, "water"),
        risk("510107", "orange", 55),
        risk("510106", "red", 80),
    ]
    assert [r["district"] for r in wp.warned(rows)] == ["510106", "510107", "510116", "510105"]


def test_a_risk_card_names_the_floor_first_then_the_drivers():
    card = wp.risk_rows(
        [risk("510116", "orange", 21, "water_over_warning_line")], {"510116": "双流区"}, "zh"
    )[0]
    text = str(card)
    assert "双流区" in text and "橙色 II级 · 21" in text
    assert text.index("触发底线：水位超警戒线") < text.index("视频点位离线 +15")
    assert "全市各区县运行正常" in str(wp.risk_rows([], {}, "zh"))


def alert(i, severity, status="active", acked=False, muted=None, minutes=1):
    return {
        "id": i,
        "severity": severity,
        "status": status,
        "acknowledged": acked,
        "muted": muted,
        "resolved": False,
        "opened_at": NOW - timedelta(minutes=minutes),
        "district": "510116",
    }


def test_the_wall_lists_active_and_unacknowledged_cleared_alerts_critical_first():
    alerts = [
        alert(1, "major", minutes=1),
        alert(2, "critical", minutes=30),
        alert(3, "critical", minutes=2),
        alert(4, "major", status="cleared", acked=False),
        alert(5, "major", status="cleared", acked=True),
        alert(6, "critical", muted="silenced"),
    ]
    assert [a["id"] for a in wp.wall_alerts(alerts)] == [3, 2, 1, 4]


def test_the_panel_head_says_which_page_and_how_many_are_elsewhere():
    head = str(wp.panel_frame("预警区县", wp.Slot(Panel.RISK, 1, 3), 8, "zh", []))
    assert "2/3" in head and "另有 8 项" in head
    single = str(wp.panel_frame("预警区县", wp.Slot(Panel.RISK, 0, 1), 0, "zh", []))
    assert "1/1" not in single and "另有" not in single


def test_the_shipped_wall_config_loads_and_names_city_districts():
    cfg = WallConfig.load(PROJECT_ROOT / "config")
    assert set(cfg.playlist) == set(Panel) and len(cfg.core_districts) == 5


def test_a_bad_wall_config_names_the_file_and_the_key(tmp_path):
    import pytest
    import yaml

    from citybrain.config import ConfigError

    doc = yaml.safe_load((PROJECT_ROOT / "config/wall.yaml").read_text(encoding="utf-8"))
    doc["playlist"] = ["risk", "radar"]
    (tmp_path / "wall.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        WallConfig.load(tmp_path)
    assert "wall.yaml" in str(err.value) and "playlist.1" in str(err.value)
