"""`citybrain up` as a user runs it: starts everything, answers, and leaves nothing behind."""

import signal
import subprocess
import sys
import urllib.request

import psutil
import psycopg
import pytest

from citybrain.runtime.errors import StartupError
from citybrain.runtime.supervisor import Supervisor
from tests.helpers import child_env, free_port, run_citybrain, wait_until


def start_up(tmp_path, **settings):
    log = tmp_path / "up.log"
    env = child_env(
        data_dir=tmp_path / "data",
        dashboard_port=free_port(),
        broker_port=free_port(),
        sim_rate=50,
        **settings,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "citybrain", "up"], stdout=open(log, "wb"), stderr=subprocess.STDOUT, env=env
    )
    return proc, log


def url_when_up(proc, log) -> str:
    def printed_url():
        assert proc.poll() is None, log.read_text()
        for line in log.read_text().splitlines():
            if "citybrain is up:" in line:
                return line.split("citybrain is up:")[1].split()[0]
        return None

    return wait_until(printed_url, 120, 0.5, "`up` to print its URL")


def leftovers(pids: set[int], data_dir) -> list[str]:
    alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    postgres = [
        p.pid
        for p in psutil.process_iter(["cmdline"])
        if p.info["cmdline"] and any(str(data_dir) in part for part in p.info["cmdline"])
    ]
    return [f"pid {p}" for p in alive + postgres]


def camera_status_rows(data_dir) -> int:
    with psycopg.connect(f"postgresql://postgres@/citybrain?host={data_dir / 'pg'}") as conn:
        return conn.execute("SELECT count(*) FROM camera_status").fetchone()[0]


def test_up_serves_the_dashboard_and_sigint_stops_every_child(tmp_path):
    data_dir = tmp_path / "data"
    proc, log = start_up(tmp_path)
    try:
        url = url_when_up(proc, log)
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert resp.status == 200
        # the simulator's events reach the database through the worker
        first = wait_until(lambda: camera_status_rows(data_dir), 90, 1.0, "events in the database")
        children = {p.pid for p in psutil.Process(proc.pid).children(recursive=True)}
        assert len(children) >= 4  # broker, dashboard, worker, simulator
        # the first run creates an administrator and says how to sign in; the worker and dashboard
        # connect as the application role and are never given the owner's URL
        assert "sign in    user admin, password " in log.read_text()
        for child in psutil.Process(proc.pid).children(recursive=True):
            cmdline = " ".join(child.cmdline())
            if cmdline.endswith((" worker", " dashboard")):
                assert "//citybrain_app:" in child.environ()["CITYBRAIN_DATABASE_URL"], cmdline
        # a worker that dies is started again, and the events keep arriving
        worker = next(p for p in psutil.Process(proc.pid).children() if p.cmdline()[-1:] == ["worker"])
        worker.kill()
        wait_until(lambda: "worker restarted (restart 1)" in log.read_text(), 30, 0.5, "the worker's restart")
        wait_until(lambda: camera_status_rows(data_dir) > first + 100, 90, 1.0, "events after the restart")
        children |= {p.pid for p in psutil.Process(proc.pid).children(recursive=True)}
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(60)
    assert code == 0, log.read_text()
    assert "stopped." in log.read_text()
    assert leftovers(children, data_dir) == []

    # a second run reuses the database directory: the first run's rows are still there
    proc, log = start_up(tmp_path)
    try:
        url_when_up(proc, log)
        assert camera_status_rows(data_dir) >= first
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0


def test_dashboard_port_in_use_is_named(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_citybrain(["up"], data_dir=tmp_path / "data", dashboard_port=port)
    assert result.returncode == 2
    assert f"dashboard port {port}" in result.stderr and "already in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_external_database_is_named(tmp_path):
    result = run_citybrain(
        ["up"],
        data_dir=tmp_path / "data",
        dashboard_port=free_port(),
        database_url=f"postgresql://citybrain@/citybrain?host={tmp_path}&connect_timeout=1",
    )
    assert result.returncode == 2
    assert "database citybrain@" in result.stderr and "unreachable" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "pg").exists()  # nothing embedded was started for it


def test_unreachable_external_broker_is_named_and_the_embedded_database_stopped(tmp_path):
    data_dir = tmp_path / "data"
    result = run_citybrain(
        ["up"],
        timeout=120,
        data_dir=data_dir,
        dashboard_port=free_port(),
        kafka_bootstrap=f"127.0.0.1:{free_port()}",
    )
    assert result.returncode == 2
    assert "Kafka broker 127.0.0.1:" in result.stderr and "unreachable" in result.stderr
    assert "Traceback" not in result.stderr
    assert leftovers(set(), data_dir) == []  # the embedded PostgreSQL it had started is stopped again


def test_a_child_that_dies_is_named_with_its_last_words(tmp_path):
    supervisor = Supervisor(tmp_path, env={})
    child = supervisor.start(
        "worker", [sys.executable, "-c", "print('cannot join group'); raise SystemExit(3)"]
    )
    child.proc.wait(10)
    with pytest.raises(StartupError) as err:
        supervisor.check()
    assert "worker exited with code 3" in str(err.value) and "cannot join group" in str(err.value)
    supervisor.stop_all()


def test_a_bad_config_file_stops_up_before_anything_starts(tmp_path):
    import shutil

    from citybrain.settings import PROJECT_ROOT

    config = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", config)
    rules = (
        (config / "rules.yaml").read_text(encoding="utf-8").replace("    above: 25\n", "    above: lots\n", 1)
    )
    (config / "rules.yaml").write_text(rules, encoding="utf-8")
    result = run_citybrain(["up"], data_dir=tmp_path / "data", dashboard_port=free_port(), config_dir=config)
    assert result.returncode == 2
    assert "rules.yaml" in result.stderr and "rule 'gas_alarm'" in result.stderr and "above" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "pg").exists()


def test_a_child_that_dies_after_start_up_is_restarted_with_backoff(tmp_path):
    supervisor = Supervisor(tmp_path, env={})
    child = supervisor.start("worker", [sys.executable, "-c", "raise SystemExit(70)"])
    said = []
    try:
        child.proc.wait(10)
        supervisor.keep_alive(said.append, now=100.0)
        assert said == [f"worker exited with code 70; restarting in 1 s (restart 1; see {child.log_path})"]
        supervisor.keep_alive(said.append, now=100.5)  # backoff not over yet
        assert len(said) == 1
        supervisor.keep_alive(said.append, now=101.0)
        assert said[-1] == "worker restarted (restart 1)" and child.restarts == 1
        child.proc.wait(10)
        supervisor.keep_alive(said.append, now=101.5)
        assert "restarting in 2 s (restart 2" in said[-1]  # the backoff doubles while it keeps failing
    finally:
        supervisor.stop_all()
