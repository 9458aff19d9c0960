"""Helpers shared by tests: free ports, child processes, polling."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from citybrain.settings import Settings

SMALL = {"cameras": 2000, "sensors": 200, "seed": 7}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env(**settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYBRAIN_")}
    env.update({f"CITYBRAIN_{k.upper()}": str(v) for k, v in {**SMALL, **settings}.items()})
    return env


def start_citybrain(args: list[str], log: Path, **settings) -> subprocess.Popen:
    out = open(log, "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-m", "citybrain", *args], stdout=out, stderr=subprocess.STDOUT,
                            env=child_env(**settings), start_new_session=True)


def wait_until(predicate, timeout_s: float = 60.0, interval_s: float = 0.3, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def settings_for(**values) -> Settings:
    return Settings(**{**SMALL, **values})
