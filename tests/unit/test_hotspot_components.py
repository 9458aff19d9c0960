"""The hot-spot map trace and list: circles grow with the cases, the inset shows only its districts, the
list says active or ended and which districts a hot spot spans."""

from datetime import UTC, datetime

from citybrain.dashboard.components.hotspot_map import hotspot_list, hotspot_trace, marker_sizes

NAMES = {"510104": "锦江区", "510107": "武侯区", "510116": "双流区"}
NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


def spot(hid, district, count, districts=None, ended=None):
    return {
        "id": hid,
        "category_group": "water",
        "district": district,
        "districts": districts or [district],
        "lon": 104.05,
        "lat": 30.6,
        "radius_m": 320.4,
        "case_count": count,
        "opened_at": NOW,
        "ended_at": ended,
    }


def test_circles_grow_with_cases_and_with_the_screen():
    small, big = marker_sizes([5, 20])
    assert big > small >= 0.02 * 1080
    assert marker_sizes([20], vh_px=2160)[0] == 2 * big
    assert marker_sizes([100_000])[0] <= 0.09 * 1080  # never hides a district


def test_the_trace_writes_counts_and_keeps_to_the_inset_districts():
    spots = [spot("a", "510107", 15, ["510104", "510107"]), spot("b", "510116", 6)]
    trace = hotspot_trace(spots, NAMES, "zh", "geo2", within={"510104", "510107"})
    assert list(trace.text) == ["15"] and trace.geo == "geo2"
    assert "涉及 锦江区、武侯区" in trace.customdata[0]
    assert list(hotspot_trace([], NAMES, "en").lon) == []


def test_the_list_says_active_or_ended_and_where():
    rows = [spot("a", "510107", 15, ["510104", "510107"]), spot("b", "510116", 6, ended=NOW)]
    text = str(hotspot_list(rows, NAMES, lambda t: t, "en"))
    assert "active" in text and "ended" in text and "15 cases" in text and "320 m" in text
    assert "spans 锦江区, 武侯区" in text
    assert "No appeal hot spots" in str(hotspot_list([], NAMES, lambda t: t, "en"))
