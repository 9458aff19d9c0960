"""What N wall screens cost the dashboard: each signs in as a wall account and polls the overview's
refresh callback at the screen's interval, the way the browser does (for `citybrain bench`).

Reports the server time (request → answer) and the bytes of each answer. The first answer of a screen
draws the map (GeoJSON included); every later one is a ``dash.Patch`` of colours and texts, which is
what N screens cost in the long run, so the two are reported apart.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import statistics
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass

REFRESH_OUTPUT = "overview-map.figure"


@dataclass(frozen=True)
class ScreensCost:
    screens: int
    refreshes: int
    p50_ms: float
    p95_ms: float
    p50_bytes: int  # a refresh after the first (a patch)
    first_bytes: int  # the first answer: the whole map
    errors: int


class _Screen:
    def __init__(self, base: str, username: str, password: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        form = self.opener.open(base + "/login", timeout=30).read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        body = urllib.parse.urlencode(
            {"csrf_token": token, "username": username, "password": password, "next": "/"}
        ).encode()
        self.opener.open(base + "/login", data=body, timeout=30).read()
        self.opener.open(base + "/", timeout=30).read()  # sets the CSRF cookie Dash sends back as a header
        self.csrf = next(c.value for c in self.jar if c.name == "_csrf_token")
        deps = json.loads(self.opener.open(base + "/_dash-dependencies", timeout=30).read())
        self.callback = next(
            cb for cb in deps if REFRESH_OUTPUT in cb["output"] and not cb.get("clientside_function")
        )

    def refresh(self, n: int, drawn_for: int | None) -> tuple[float, int]:
        cb = self.callback
        outputs = [
            {"id": p.split(".")[0], "property": p.split(".")[1]} for p in cb["output"].strip(".").split("...")
        ]
        values = {
            "overview-tick.n_intervals": n,
            "overview-viewport.data": {"h": 1080, "w": 1920},
            "overview-drawn-for.data": drawn_for,
        }

        def spec(items):
            return [
                {"id": i["id"], "property": i["property"], "value": values.get(f"{i['id']}.{i['property']}")}
                for i in items
            ]

        body = json.dumps(
            {
                "output": cb["output"],
                "outputs": outputs,
                "inputs": spec(cb["inputs"]),
                "state": spec(cb["state"]),
                "changedPropIds": ["overview-tick.n_intervals"],
            }
        ).encode()
        request = urllib.request.Request(
            self.base + "/_dash-update-component",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "X-CSRFToken": self.csrf},
        )
        started = time.perf_counter()
        with self.opener.open(request, timeout=30) as answer:
            size = len(answer.read())
        return (time.perf_counter() - started) * 1000, size


def wall_screens_cost(
    base: str, username: str, password: str, screens: int = 50, refreshes: int = 10, refresh_s: float = 2.0
) -> ScreensCost:
    """``screens`` wall screens, each refreshing ``refreshes`` times every ``refresh_s``, started spread over
    one interval like real screens; the first refresh of each draws the map, the rest are patches."""
    walls = [_Screen(base, username, password) for _ in range(screens)]
    times: list[float] = []
    sizes: list[int] = []
    firsts: list[int] = []
    errors = 0
    lock = threading.Lock()

    def run(i: int, screen: _Screen) -> None:
        nonlocal errors
        time.sleep(refresh_s * i / screens)
        for n in range(refreshes):
            started = time.monotonic()
            try:
                ms, size = screen.refresh(n + 1, None if n == 0 else 1080)
                with lock:
                    (firsts if n == 0 else sizes).append(size)
                    if n:
                        times.append(ms)
            except OSError:
                with lock:
                    errors += 1
            time.sleep(max(0.0, refresh_s - (time.monotonic() - started)))

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(walls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    q = statistics.quantiles(times, n=20) if len(times) >= 2 else [times[0]] * 19 if times else [0.0] * 19
    return ScreensCost(
        screens,
        refreshes,
        statistics.median(times) if times else 0.0,
        q[18],
        int(statistics.median(sizes)) if sizes else 0,
        int(statistics.median(firsts)) if firsts else 0,
        errors,
    )
