"""Run the worker through kills and a database outage, then account for every event.

Sets up a broker, a PostgreSQL and a seeded city of its own, sends the
planned traffic (recording the position the broker acknowledged for each
message), runs ``citybrain worker`` while doing harm, and checks that every
acknowledged message is in exactly one place: its row in its table (once),
or its dead letter (once, with the expected reason). Exact replays add
nothing. The figures are printed and returned.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from kafka import KafkaProducer

from citybrain.chaos.traffic import Planned, plan
from citybrain.geo.city import City
from citybrain.geo.registry import build_registry
from citybrain.runtime import broker, database
from citybrain.runtime.supervisor import Supervisor, stop_process_group
from citybrain.settings import Settings
from citybrain.store.migrate import migrate
from citybrain.store.registry import seed_city
from citybrain.store.writer import TABLES


@dataclass
class Harm:
    kills: int = 0  # SIGKILL the worker this many times, at random moments while it drains
    db_outage_s: float = 0.0  # stop PostgreSQL (immediate shutdown) this long, mid-run


@dataclass
class Report:
    sent: int = 0
    valid: int = 0
    hostile: int = 0
    replays: int = 0
    stored: int = 0
    dead_lettered: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    wrong_reason: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    kills: int = 0
    db_outages: int = 0
    worker_alive: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.worker_alive and not (
            self.lost or self.duplicated or self.wrong_reason or self.unexpected
        )

    def summary(self) -> dict:
        return {
            "sent": self.sent,
            "valid": self.valid,
            "hostile": self.hostile,
            "exact_replays": self.replays,
            "stored": self.stored,
            "dead_lettered": self.dead_lettered,
            "lost": len(self.lost),
            "duplicated": len(self.duplicated),
            "wrong_reason": len(self.wrong_reason),
            "unexpected": len(self.unexpected),
            "worker_kills": self.kills,
            "database_outages": self.db_outages,
            "worker_alive": self.worker_alive,
            "seconds": round(self.seconds, 1),
            "ok": self.ok,
        }


def send(bootstrap: str, planned: list[Planned], over_s: float, acked: list) -> None:
    """Produce everything, spread over ``over_s`` seconds so harm lands mid-stream; appends to ``acked``
    each message with the (topic, partition, offset) the broker acknowledged."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=5,
        batch_size=512 * 1024,
        max_request_size=8 * 1024 * 1024,
        client_id="citybrain-chaos",
    )
    chunks = 50
    size = -(-len(planned) // chunks)
    started = time.monotonic()
    for c in range(chunks):
        futures = [
            (p, producer.send(p.topic, key=p.key, value=p.value)) for p in planned[c * size : (c + 1) * size]
        ]
        producer.flush()
        for p, future in futures:
            meta = future.get(timeout=60)
            acked.append((p, (meta.topic, meta.partition, meta.offset)))
        time.sleep(max(0.0, started + over_s * (c + 1) / chunks - time.monotonic()))
    producer.close()


def check(url: str, acked: list[tuple[Planned, tuple[str, int, int]]], report: Report) -> None:
    with psycopg.connect(url) as conn:
        rows: Counter = Counter()
        for topic, spec in TABLES.items():
            for event_id, n in conn.execute(f"SELECT event_id::text, count(*) FROM {spec.name} GROUP BY 1"):
                rows[(topic, event_id)] += n
        dead: dict[tuple[str, int, int], list[str]] = {}
        for t, p, o, reason in conn.execute(
            "SELECT source_topic, source_partition, source_offset, reason FROM dead_letters"
        ):
            dead.setdefault((t, p, o), []).append(reason)
    expected_rows = {(p.topic, p.event_id) for p, _ in acked if p.event_id}
    for p, position in acked:
        where = f"{position[0]}[{position[1]}]@{position[2]}"
        letters = dead.pop(position, [])
        if p.reason:
            if not letters:
                report.lost.append(f"{where}: expected a dead letter {p.reason}")
            elif letters != [p.reason]:
                (report.duplicated if len(letters) > 1 else report.wrong_reason).append(
                    f"{where}: dead letters {letters}, expected [{p.reason}]"
                )
        elif letters:
            report.unexpected.append(f"{where}: dead-lettered {letters} but valid")
    for key in expected_rows:
        n = rows.pop(key, 0)
        if n == 0:
            report.lost.append(f"{key[0]} event {key[1]}: not stored")
        elif n > 1:
            report.duplicated.append(f"{key[0]} event {key[1]}: stored {n} times")
    report.unexpected += [f"{k[0]} event {k[1]}: stored, never sent" for k in rows]
    report.unexpected += [f"{t}[{p}]@{o}: dead letter for nothing sent" for (t, p, o) in dead]
    report.stored = len(expected_rows)
    report.dead_lettered = sum(1 for p, _ in acked if p.reason)


def run(
    settings: Settings,
    events: int,
    harm: Harm,
    bad_share: float = 0.1,
    seed: int = 1,
    timeout_s: float = 600.0,
    echo: Callable[[str], None] = print,
) -> Report:
    city = City.load(settings.config_dir)
    cameras, sensors = build_registry(city, 2000, 200, seed)
    planned = plan(cameras, sensors, events, bad_share, seed)
    report = Report(
        sent=len(planned),
        hostile=sum(1 for p in planned if p.reason),
        replays=sum(1 for p in planned if p.replay),
    )
    report.valid = report.sent - report.hostile - report.replays
    rnd = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="citybrain-chaos-") as tmp:
        tmp_path = Path(tmp)
        server, url = database.start_embedded(tmp_path / "db")
        proc, bootstrap = broker.start_embedded(broker.free_port(), tmp_path / "broker.log")
        supervisor = Supervisor(
            tmp_path,
            {
                **os.environ,
                "CITYBRAIN_DATABASE_URL": url,
                "CITYBRAIN_KAFKA_BOOTSTRAP": bootstrap,
                "CITYBRAIN_WORKER_ID": f"chaos-{uuid.uuid4().hex[:8]}",
                "CITYBRAIN_CAMERAS": "2000",
                "CITYBRAIN_SENSORS": "200",
                "CITYBRAIN_SEED": str(seed),
                "CITYBRAIN_PARTITIONS": "4",
                "CITYBRAIN_BATCH_WITHIN_S": "0.2",
                "CITYBRAIN_BATCH_SIZE": "2000",
            },
        )
        started = time.monotonic()
        try:
            migrate(url)
            seed_city(url, city, cameras, sensors)
            broker.ensure_topics(bootstrap, 4)
            echo(
                f"  sending {report.sent:,} messages"
                f" ({report.hostile:,} hostile, {report.replays:,} exact replays)"
            )
            acked: list = []
            over_s = 10.0 + 7.0 * harm.kills + (harm.db_outage_s + 5.0 if harm.db_outage_s else 0.0)
            sender = threading.Thread(target=send, args=(bootstrap, planned, over_s, acked), daemon=True)
            sender.start()
            worker = supervisor.start("worker", [sys.executable, "-m", "citybrain", "worker"])
            done = lambda: _accounted(url) >= report.valid + report.hostile  # noqa: E731
            for _ in range(harm.kills):
                _wait_for_progress(url, worker.proc)  # the worker is in its stride: kill it mid-batch
                time.sleep(rnd.uniform(0.2, 2.0))
                os.kill(worker.proc.pid, signal.SIGKILL)
                worker.proc.wait()
                report.kills += 1
                echo(
                    f"  worker killed ({report.kills}/{harm.kills})"
                    f" with {_accounted(url):,} events accounted for"
                )
                supervisor.respawn(worker)
            if harm.db_outage_s:
                _wait_for_progress(url, worker.proc)
                time.sleep(rnd.uniform(0.2, 2.0))
                pid = server.get_pid()
                os.kill(pid, signal.SIGQUIT)  # immediate shutdown, like a crash
                _wait_gone(pid)
                report.db_outages += 1
                echo(f"  database down for {harm.db_outage_s:.0f} s")
                time.sleep(harm.db_outage_s)
                server.ensure_postgres_running()  # crash recovery, same data, same address
                echo(f"  database back with {_accounted(url):,} events accounted for")
            sender.join()
            deadline = time.monotonic() + timeout_s
            while not done() and time.monotonic() < deadline and worker.proc.poll() is None:
                time.sleep(0.5)
            time.sleep(2.0)  # anything arriving late would show as a duplicate
            report.worker_alive = worker.proc.poll() is None
            check(url, acked, report)
        finally:
            report.seconds = time.monotonic() - started
            supervisor.stop_all()
            stop_process_group(proc, grace_s=3)
            server.cleanup()
    return report


def _accounted(url: str) -> int:
    """Rows stored plus dead letters: how far the worker has got (−1 while the database is away)."""
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            return conn.execute(
                "SELECT (SELECT count(*) FROM readings) + (SELECT count(*) FROM camera_status)"
                " + (SELECT count(*) FROM case_events) + (SELECT count(*) FROM dead_letters)"
            ).fetchone()[0]
    except psycopg.OperationalError:
        return -1


def _wait_for_progress(url: str, worker, timeout_s: float = 120.0) -> None:
    """Until the worker has stored something new (it has joined its group and is working)."""
    before, deadline = _accounted(url), time.monotonic() + timeout_s
    while _accounted(url) <= before and time.monotonic() < deadline and worker.poll() is None:
        time.sleep(0.2)


def _wait_gone(pid: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
