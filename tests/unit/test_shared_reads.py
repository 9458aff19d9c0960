"""What many screens share: the dashboard's readers (one query per interval however many screens ask, and
while it runs the others get the previous reading instead of queueing behind it), and the whole map's
drawing for screens that start together."""

import threading
import time

from citybrain.dashboard.sources import BrokerReader


def test_one_query_per_interval_and_no_queue_behind_a_slow_one():
    calls, release = [], threading.Event()

    def fetch(_at, _key):
        calls.append(time.monotonic())
        if len(calls) == 2:  # the refresh after the first interval is slow
            release.wait(5)
        return len(calls)

    reader = BrokerReader("test", fetch, ttl_s=0.05)
    assert [reader.read().value for _ in range(5)] == [1] * 5  # fresh: answered from the cache
    time.sleep(0.06)
    slow = threading.Thread(target=reader.read)
    slow.start()
    while len(calls) < 2:
        time.sleep(0.001)
    started = time.monotonic()
    others = [reader.read().value for _ in range(20)]  # meanwhile every other screen gets the last reading
    assert others == [1] * 20 and time.monotonic() - started < 1.0
    release.set()
    slow.join()
    assert reader.read().value == 2 and len(calls) == 2


def test_a_first_read_waits_for_the_query_and_shares_it():
    calls, gate = [], threading.Event()

    def fetch(_at, _key):
        calls.append(1)
        gate.wait(5)
        return "picture"

    reader = BrokerReader("test", fetch, ttl_s=60)
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(reader.read().value)) for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    gate.set()
    for thread in threads:
        thread.join()
    assert answers == ["picture"] * 8 and len(calls) == 1  # nothing to show yet: all wait, one query


def test_screens_starting_together_share_one_drawing_of_the_whole_map():
    import plotly.graph_objects as go

    from citybrain.dashboard.components.district_map import drawn_once

    draws = []

    def draw():
        draws.append(1)
        return go.Figure(go.Scattergeo(lon=[104.07], lat=[30.67]))

    first = [drawn_once(("zh", 1080, "reading-1"), draw) for _ in range(50)]
    assert len(draws) == 1 and all(f is first[0] for f in first)
    assert list(first[0]["data"][0]["lon"]) == [104.07]  # a plain dict, as Dash sends it
    drawn_once(("zh", 2160, "reading-1"), draw)  # another screen size, or the next reading: drawn again
    drawn_once(("zh", 1080, "reading-2"), draw)
    assert len(draws) == 3
