"""Helpers shared by tests: free ports, citybrain commands and processes, reading topics, polling."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition

from citybrain.runtime.broker import free_port  # noqa: F401 - re-exported for the tests
from citybrain.settings import Settings

SMALL = {"cameras": 2000, "sensors": 200, "seed": 7}


def child_env(**settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYBRAIN_")}
    env.update({f"CITYBRAIN_{k.upper()}": str(v) for k, v in {**SMALL, **settings}.items()})
    return env


def start_citybrain(args: list[str], log: Path, **settings) -> subprocess.Popen:
    out = open(log, "ab")
    return subprocess.Popen(
        [sys.executable, "-m", "citybrain", *args],
        stdout=out,
        stderr=subprocess.STDOUT,
        env=child_env(**settings),
        start_new_session=True,
    )


def run_citybrain(args: list[str], timeout: float = 60, **settings) -> subprocess.CompletedProcess:
    """Run a `citybrain` command to its end, with these settings; its output is text."""
    return subprocess.run(
        [sys.executable, "-m", "citybrain", *args],
        env=child_env(**settings),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def read_topic(bootstrap: str, topic: str, partitions: int, at_most_s: float = 10.0) -> list:
    """Every record on ``topic`` so far, read without a consumer group.

    Reading ends when the topic has been quiet for 1.5 s, or after ``at_most_s`` for a topic a running
    worker keeps writing to (the risk topic gets every open window on every tick).
    """
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, consumer_timeout_ms=1500
    )
    parts = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    records, stop = [], time.monotonic() + at_most_s
    for record in consumer:
        records.append(record)
        if time.monotonic() > stop:
            break
    consumer.close()
    return records


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
