"""Child processes of `citybrain up`: started in their own sessions, watched, stopped.

Children run in their own process groups so a terminal Ctrl-C reaches only
the supervisor, which then stops them in reverse start order (simulator
before worker before dashboard), each with SIGTERM and, after a grace
period, SIGKILL to the whole group: nothing is left running.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from citybrain.runtime.errors import StartupError

GRACE_S = 10.0


def _interrupt(signum, _frame):
    raise KeyboardInterrupt


def interrupt_on_sigterm() -> None:
    """Treat SIGTERM like Ctrl-C, so `finally` blocks stop every child we started."""
    signal.signal(signal.SIGTERM, _interrupt)


@dataclass
class Child:
    name: str
    proc: subprocess.Popen
    log_path: Path

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

    def start(self, name: str, argv: list[str]) -> Child:
        log_path = self.log_dir / f"{name}.log"
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=self.env, start_new_session=True)
        child = Child(name, proc, log_path)
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

    def stop_all(self) -> None:
        for child in reversed(self.children):
            stop_process_group(child.proc)
        self.children.clear()
