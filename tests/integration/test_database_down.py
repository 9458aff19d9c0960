"""Every command that needs the database says so in one line naming the server when it is down:
no traceback, exit code 2."""

import pytest

from tests.helpers import free_port, run_citybrain

COMMANDS = [
    ["worker"],
    ["dashboard"],
    ["alerts", "list"],
    ["alerts", "ack", "1", "--as", "wangwu"],
    ["alerts", "silences"],
    ["alerts", "deliveries", "--failed"],
    ["users", "list"],
    ["users", "log"],
    ["dlq", "list"],
    ["dlq", "show", "1"],
    ["dlq", "replay", "1", "--as", "wangwu"],
]


@pytest.fixture(scope="module")
def closed_port() -> int:
    return free_port()  # nothing listens there


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_command_against_a_database_that_is_down_says_so_in_one_line(args, closed_port):
    url = f"postgresql://citybrain_app:secret@127.0.0.1:{closed_port}/citybrain"
    result = run_citybrain(args, timeout=60, database_url=url, kafka_bootstrap="127.0.0.1:1")
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, output
    assert f"citybrain_app@127.0.0.1:{closed_port}/citybrain is unreachable" in lines[0]
    assert "secret" not in output  # the password is never printed
