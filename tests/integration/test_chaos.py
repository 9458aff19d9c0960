"""The chaos suite at a modest size: kills, a database outage and hostile input lose and duplicate nothing.

`citybrain chaos` runs the full size (100,000 messages, five kills, a 30 s outage).
"""

from citybrain.chaos.run import Harm, run
from tests.helpers import settings_for


def test_kills_an_outage_and_hostile_input_lose_nothing_and_duplicate_nothing():
    report = run(settings_for(), 6000, Harm(kills=2, db_outage_s=6), bad_share=0.12, seed=3, timeout_s=240)
    figures = report.summary()
    print(figures)
    assert report.hostile >= 0.1 * report.sent and report.replays > 0
    assert report.kills == 2 and report.db_outages == 1
    assert (report.lost, report.duplicated, report.wrong_reason, report.unexpected) == ([], [], [], [])
    assert report.worker_alive
    assert report.stored + report.dead_lettered == report.sent - report.replays
