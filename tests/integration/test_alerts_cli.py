"""Duty actions from the command line, on a real database."""

from datetime import UTC, datetime

from citybrain.alerts.engine import Observation, Signal
from citybrain.alerts.rules import RulesConfig
from citybrain.alerts.service import AlertService
from citybrain.settings import PROJECT_ROOT
from tests.helpers import run_citybrain


def cli(url, *args):
    return run_citybrain(["alerts", *args], database_url=url)


def test_list_acknowledge_and_conflict(seeded_url):
    obs = Observation("gas_alarm", "iot-00002", Signal.FIRING, 40.0, {"district": "510105"}, "gas 40 at iot-00002")
    _, [opened] = AlertService(seeded_url).tick(datetime.now(UTC), [obs], RulesConfig.load(PROJECT_ROOT / "config"))
    listing = cli(seeded_url, "list")
    assert listing.returncode == 0 and "gas 40 at iot-00002" in listing.stdout and "critical" in listing.stdout
    first = cli(seeded_url, "ack", str(opened.alert_id), "--as", "officer-li")
    assert first.returncode == 0 and "acknowledge by officer-li" in first.stdout
    second = cli(seeded_url, "ack", str(opened.alert_id), "--as", "officer-wang")
    assert second.returncode == 1 and "already acknowledged by officer-li" in second.stderr
    missing = cli(seeded_url, "resolve", "999", "--note", "done", "--as", "officer-li")
    assert missing.returncode == 1 and "alert 999 does not exist" in missing.stderr
