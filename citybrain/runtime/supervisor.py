"""Child processes of `citybrain up`: started in their own sessions, watched, restarted, stopped.

Children run in their own process groups so a terminal Ctrl-C reaches only
the supervisor, which then stops them in reverse start order (simulator
before worker before dashboard), each with SIGTERM and, after a grace
period, SIGKILL to the whole group: nothing is left running.

Once everything is up, a child that dies is started again after an
exponential backoff (1 s, 2 s, 4 s … at most a minute; reset after a minute
of good health), and each restart is logged and counted. A worker that
stops itself because a batch failed replays that batch when it comes back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from citybrain.runtime.errors import StartupError

GRACE_S = 10.0
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0
HEALTHY_AFTER_S = 60.0


def _interrupt(signum, _frame):
    raise KeyboardInterrupt


def interrupt_on_signals() -> None:
    """Ctrl-C and SIGTERM both interrupt, so `finally` blocks stop every child we started: SIGTERM like
    Ctrl-C, and Ctrl-C even when we were started with SIGINT ignored (a background job of a script), where
    Python would otherwise ignore it too and leave the children running."""
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)


@dataclass
class Child:
    name: str
    proc: subprocess.Popen
    log_path: Path
    argv: list[str] | None = None  # None: started elsewhere, cannot be restarted here
    started: float = 0.0
    restarts: int = 0
    failures_in_a_row: int = 0
    restart_at: float | None = None

    def tail(self, lines: int = 15) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(deque(f, maxlen=lines))
        except OSError:
            return ""


def stop_process_group(proc: subprocess.Popen, grace_s: float = GRACE_S) -> None:
    """SIGTERM the child's process group, SIGKILL it after ``grace_s``; reaps the child."""

    def signal_group(sig: int) -> None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:  # group gone; the leader may still be a zombie to reap
            pass

    if proc.poll() is None:
        signal_group(signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            pass
    signal_group(signal.SIGKILL)  # the leader may be gone while a grandchild lingers in its group
    proc.wait()


class Supervisor:
    def __init__(self, log_dir: Path, env: dict[str, str]) -> None:
        self.log_dir = log_dir
        self.env = env
        self.children: list[Child] = []
        log_dir.mkdir(parents=True, exist_ok=True)

    def _spawn(self, argv: list[str], log_path: Path) -> subprocess.Popen:
        with open(log_path, "ab") as log:
            return subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                start_new_session=True,
            )

    def start(self, name: str, argv: list[str]) -> Child:
        log_path = self.log_dir / f"{name}.log"
        child = Child(name, self._spawn(argv, log_path), log_path, argv, started=time.monotonic())
        self.children.append(child)
        return child

    def adopt(self, name: str, proc: subprocess.Popen, log_path: Path) -> None:
        """Watch and stop a process started elsewhere (the embedded broker)."""
        self.children.append(Child(name, proc, log_path))

    def check(self) -> None:
        """Raise StartupError naming the first child that has exited."""
        for child in self.children:
            code = child.proc.poll()
            if code is not None:
                raise StartupError(
                    f"{child.name} exited with code {code}; last lines of {child.log_path}:\n{child.tail()}"
                )

    def respawn(self, child: Child, now: float | None = None) -> None:
        """Start a child that has exited again, with the same command line and log."""
        child.proc.wait()
        child.proc = self._spawn(child.argv, child.log_path)
        child.started, child.restart_at = time.monotonic() if now is None else now, None
        child.restarts += 1

    def keep_alive(self, say: Callable[[str], None], now: float | None = None) -> None:
        """Restart children that died, with backoff; a child that cannot be restarted raises StartupError."""
        now = time.monotonic() if now is None else now
        for child in self.children:
            code = child.proc.poll()
            if code is None:
                if child.failures_in_a_row and now - child.started > HEALTHY_AFTER_S:
                    child.failures_in_a_row = 0
                continue
            if child.argv is None:
                raise StartupError(
                    f"{child.name} exited with code {code} and cannot be restarted; last lines of "
                    f"{child.log_path}:\n{child.tail()}"
                )
            if child.restart_at is None:
                delay = min(FIRST_BACKOFF_S * 2**child.failures_in_a_row, MAX_BACKOFF_S)
                child.failures_in_a_row += 1
                child.restart_at = now + delay
                say(
                    f"{child.name} exited with code {code}; restarting in {delay:.0f} s "
                    f"(restart {child.restarts + 1}; see {child.log_path})"
                )
            elif now >= child.restart_at:
                self.respawn(child, now)
                say(f"{child.name} restarted (restart {child.restarts})")

    def stop_all(self) -> None:
        for child in reversed(self.children):
            stop_process_group(child.proc)
        self.children.clear()
