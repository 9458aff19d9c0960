"""The video-point map's figure, without a database: what each trace holds, and that a refresh's patch
writes to the traces the figure drew them in."""

from datetime import UTC, datetime, timedelta

import numpy as np

from citybrain.dashboard.components import video_map as vm
from citybrain.store.video import VideoPicture

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def picture(down=2, cells=3) -> VideoPicture:
    rows = [
        {
            "camera_id": f"cam-{i:06d}",
            "district": "510104",
            "lon": 104.08 + i / 100,
            "lat": 30.65,
            "status": "offline" if i % 2 == 0 else "fault",
            "since": NOW - timedelta(minutes=10 * (i + 1)),
        }
        for i in range(down)
    ]
    grid = [(104.0 + i * 0.02, 30.6, 10 * (i + 1)) for i in range(cells)]
    counts = [
        {"district": "510104", "total": 60 + down, "online": 60, "offline": 1, "fault": 1, "unknown": 0}
    ]
    return VideoPicture(None, counts, 0.02, grid, rows, down)


def test_the_figure_draws_density_outlines_labels_and_each_point_down(city):
    names = {d.adcode: d.name_zh for d in city.districts}
    fig = vm.video_map(city, picture(), "zh", names, {"w": 1920, "h": 1080}, unlabelled=["510104"])
    traces = fig.data
    assert traces[vm.TRACE_DISTRICTS].type == "choropleth" and len(traces[vm.TRACE_DISTRICTS].locations) == 20
    assert list(traces[vm.TRACE_DENSITY].customdata) == [10, 20, 30]
    assert traces[vm.TRACE_DENSITY].marker.symbol == "square"
    outline = traces[vm.TRACE_BOUNDARIES]
    assert outline.mode == "lines" and np.isnan(outline.lon).sum() >= 20  # a break after every ring
    assert len(traces[vm.TRACE_LABELS].text) == 19 and "锦江" not in traces[vm.TRACE_LABELS].text
    assert list(traces[vm.TRACE_OFFLINE].customdata) == ["510104"]
    assert traces[vm.TRACE_OFFLINE].text[0] == "cam-000000"
    assert list(traces[vm.TRACE_FAULT].customdata) == ["510104"]
    assert traces[vm.TRACE_OFFLINE].marker.color == vm.OFFLINE


def test_a_refresh_patches_the_traces_the_figure_drew(city):
    names = {d.adcode: d.name_zh for d in city.districts}
    codes = list(city.frame["adcode"])
    patch = vm.video_patch(picture(down=4, cells=5), "zh", names, codes).to_plotly_json()["operations"]
    written = {
        (op["location"][1], op["location"][2]): op["params"]["value"]
        for op in patch
        if len(op["location"]) == 3
    }
    assert len(written[(vm.TRACE_DENSITY, "lon")]) == 5
    assert len(written[(vm.TRACE_OFFLINE, "lon")]) == 2 and len(written[(vm.TRACE_FAULT, "lon")]) == 2
    assert len(written[(vm.TRACE_DISTRICTS, "customdata")]) == 20
    assert vm.TRACE_BOUNDARIES not in {k[0] for k in written} and vm.TRACE_LABELS not in {
        k[0] for k in written
    }


def test_cells_get_larger_on_a_larger_screen(city):
    small = vm.cell_px(city, 0.02, {"w": 1920, "h": 1080})
    large = vm.cell_px(city, 0.02, {"w": 3840, "h": 2160})
    assert 4 < small < 30 and abs(large / small - 2) < 0.01
