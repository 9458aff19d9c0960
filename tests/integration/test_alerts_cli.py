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


def test_silence_with_matchers_list_edit_and_lift_early(seeded_url):
    made = cli(seeded_url, "silence", "--match", "district=510104", "--match", 'rule=~"camera_.*"',
               "--minutes", "60", "--reason", "network works", "--as", "officer-li")
    assert made.returncode == 0, made.stderr
    silence_id = made.stdout.split()[1].rstrip(":")
    listed = cli(seeded_url, "silences")
    assert f"{silence_id:>5} active" in listed.stdout and "rule=~camera_.*" in listed.stdout
    edited = cli(seeded_url, "silence-edit", silence_id, "--minutes", "5", "--as", "officer-wang")
    assert edited.returncode == 0 and f"silence {silence_id}: district=510104 rule=~camera_.* until" in edited.stdout
    lifted = cli(seeded_url, "unsilence", silence_id, "--note", "works done", "--as", "officer-li")
    assert lifted.returncode == 0, lifted.stderr
    assert silence_id not in [line.split()[0] for line in cli(seeded_url, "silences").stdout.splitlines()[1:]]
    assert f"{silence_id:>5} expired" in cli(seeded_url, "silences", "--all").stdout
    again = cli(seeded_url, "unsilence", silence_id, "--as", "officer-li")
    assert again.returncode == 1 and f"silence {silence_id} already ended by officer-li" in again.stderr
    bad = cli(seeded_url, "silence", "--match", "district", "--minutes", "5", "--reason", "x", "--as", "officer-li")
    assert bad.returncode != 0 and "is not a matcher" in bad.stderr
