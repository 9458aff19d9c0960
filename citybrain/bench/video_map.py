"""What the video-point map costs with the city's 95,000 cameras (for `citybrain bench video`).

Three figures, from the database to pixels: the server's time to read every camera's status and build the
figure (the store's aggregates plus the plotly figure, as the page's first answer does), the figure's
size as JSON (what the browser downloads), and the browser's time to draw it: headless Chromium loads
the plotly.js the dashboard ships and the map's own (empty) world topology from a local server, then
times ``Plotly.newPlot`` with that figure until the next frame has been painted. The points the browser
drew are counted, so a figure that draws nothing cannot pass for a fast one.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import numpy as np
import psycopg

from citybrain.geo.city import City
from citybrain.store import video

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"w": 1920, "h": 1080}


def seed_statuses(url: str, offline: float = 0.03, fault: float = 0.01, seed: int = 1) -> dict[str, int]:
    """Give every camera a status: ``offline`` and ``fault`` shares down (since up to a day ago), the rest
    online. Returns how many of each."""
    with psycopg.connect(url) as conn, conn.transaction():
        ids = [r[0] for r in conn.execute("SELECT camera_id FROM cameras ORDER BY camera_id")]
        rng = np.random.default_rng(seed)
        draw = rng.random(len(ids))
        ago = rng.uniform(60, 86_400, len(ids))
        status = np.where(draw < offline, "offline", np.where(draw < offline + fault, "fault", "online"))
        conn.execute("CREATE TEMP TABLE bench_status (camera_id text, status text, ago double precision)")
        with conn.cursor().copy("COPY bench_status FROM STDIN") as copy:
            for row in zip(ids, status.tolist(), ago.tolist(), strict=True):
                copy.write_row(row)
        conn.execute(
            "UPDATE cameras c SET status = b.status, status_since = now() - make_interval(secs => b.ago),"
            " status_time = now() FROM bench_status b WHERE b.camera_id = c.camera_id"
        )
    values, counts = np.unique(status, return_counts=True)
    return {str(v): int(n) for v, n in zip(values, counts, strict=True)}


def build_figure(url: str, city: City, lang: str = "zh") -> tuple[str, video.VideoPicture, float, float]:
    """The map's first answer: (figure JSON, picture, ms reading the database, ms building the figure)."""
    from citybrain.dashboard.components.video_map import video_map

    names = {d.adcode: d.name_zh if lang == "zh" else d.name_en for d in city.districts}
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        picture = video.picture(conn, None)
    read = time.perf_counter()
    figure = video_map(city, picture, lang, names, VIEWPORT).to_json()
    built = time.perf_counter()
    return figure, picture, (read - started) * 1000, (built - read) * 1000


def _patch_bytes(picture: video.VideoPicture, city: City) -> int:
    """What every refresh after the first sends: the points and counts, not the districts' shapes."""
    from plotly.utils import PlotlyJSONEncoder

    from citybrain.dashboard.components.video_map import video_patch

    names = {d.adcode: d.name_zh for d in city.districts}
    patch = video_patch(picture, "zh", names, list(city.frame["adcode"]))
    return len(json.dumps(patch.to_plotly_json(), cls=PlotlyJSONEncoder).encode())


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_args) -> None:
        pass


PAGE = """<!doctype html><html><head><meta charset="utf-8"><script src="plotly.min.js"></script></head>
<body style="margin:0;background:#06121f">
<div id="map" style="width:%(w)dpx;height:%(h)dpx"></div>
</body></html>"""

DRAW = """async (figure) => {
  const started = performance.now();
  const fig = JSON.parse(figure);
  await Plotly.newPlot('map', fig.data, fig.layout,
                       {displayModeBar: false, topojsonURL: location.origin + '/topojson/'});
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  return {ms: performance.now() - started,
          points: document.querySelectorAll('#map .scattergeo .point').length};
}"""


def browser_render(figure: str, rounds: int = 3, chromium: str = CHROMIUM, browser=None) -> dict:
    """Median ms for headless Chromium to parse and draw ``figure``, and the points it drew. ``browser``:
    a Playwright browser already running (else one is launched here)."""
    import plotly

    with tempfile.TemporaryDirectory(prefix="citybrain-video-bench-") as tmp:
        root = Path(tmp)
        shutil.copy(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", root / "plotly.min.js")
        shutil.copytree(Path(str(files("citybrain.dashboard") / "assets" / "topojson")), root / "topojson")
        (root / "index.html").write_text(PAGE % {"w": 1075, "h": 942}, encoding="utf-8")  # the map at 1080p
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=tmp))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        page_url = f"http://127.0.0.1:{server.server_port}/index.html"
        try:
            if browser is not None:
                return _draw(browser, page_url, figure, rounds)
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                launched = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                try:
                    return _draw(launched, page_url, figure, rounds)
                finally:
                    launched.close()
        finally:
            server.shutdown()


def _draw(browser, page_url: str, figure: str, rounds: int) -> dict:
    times, points = [], 0
    for _ in range(rounds):  # a fresh page each time: nothing cached in plotly
        page = browser.new_page()
        try:
            page.goto(page_url)
            page.wait_for_function("window.Plotly !== undefined")
            drawn = page.evaluate(DRAW, figure)
        finally:
            page.close()
        times.append(drawn["ms"])
        points = drawn["points"]
    return {
        "render_ms": round(statistics.median(times), 1),
        "render_ms_all": [round(x, 1) for x in times],
        "points_drawn": points,
    }


def run(url: str, city: City, rounds: int = 3, echo: Callable[[str], None] = print, browser=None) -> dict:
    """Measure on a database whose cameras already have statuses."""
    reads, builds, figure, picture = [], [], "", None
    for _ in range(rounds):
        figure, picture, read_ms, build_ms = build_figure(url, city)
        reads.append(read_ms)
        builds.append(build_ms)
    cameras = sum(r["total"] for r in picture.counts)
    echo(f"video map: {cameras:,} cameras, {len(picture.grid):,} density cells, {picture.down_total:,} down")
    result = {
        "benchmark": "video_map",
        "cameras": cameras,
        "online": sum(r["online"] for r in picture.counts),
        "down": picture.down_total,
        "density_cells": len(picture.grid),
        "server_read_ms": round(statistics.median(reads), 1),
        "server_figure_ms": round(statistics.median(builds), 1),
        "server_total_ms": round(statistics.median(r + b for r, b in zip(reads, builds, strict=True)), 1),
        "payload_bytes": len(figure.encode()),
        "patch_bytes": _patch_bytes(picture, city),
    }
    echo(
        f"server: read {result['server_read_ms']:.0f} ms + figure {result['server_figure_ms']:.0f} ms;"
        f" payload {result['payload_bytes'] / 1024:,.0f} KiB, each refresh after it"
        f" {result['patch_bytes'] / 1024:,.0f} KiB"
    )
    try:
        result |= browser_render(figure, rounds, browser=browser)
        echo(f"browser: drawn in {result['render_ms']:.0f} ms ({result['points_drawn']:,} points)")
    except Exception as exc:  # no Chromium or no playwright here: the server figures still stand
        result["render_ms"] = None
        result["render_error"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
        echo(f"browser: not measured ({result['render_error']})")
    return result


def run_standalone(
    database_url: str | None,
    config_dir: Path,
    cameras: int = 95_000,
    offline: float = 0.03,
    fault: float = 0.01,
    rounds: int = 3,
    echo: Callable[[str], None] = print,
    browser=None,
) -> dict:
    """A scratch database with ``cameras`` placed in the city, ``offline``/``fault`` shares down."""
    from citybrain.bench.runner import scratch_database
    from citybrain.geo.registry import build_registry
    from citybrain.store.registry import seed_city

    city = City.load(config_dir)
    with scratch_database(database_url) as url:
        seed_city(url, city, *build_registry(city, cameras, 0, seed=1))
        statuses = seed_statuses(url, offline, fault)
        echo(f"seeded {cameras:,} cameras: {statuses}")
        return {**run(url, city, rounds, echo, browser), "seeded": statuses}
