"""Fixtures: a real `lmdm serve` subprocess on free ports, and a UDP socket for OSC replies."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pythonosc.osc_message import OscMessage

LMDM = str(Path(sys.executable).with_name("lmdm"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WorkerProc:
    """`lmdm serve` as a subprocess; its first stdout line tells the endpoints it bound."""

    def __init__(self, *args: str, zmq_port: int = 0, osc_reply: int | None = None, env: dict | None = None):
        cmd = [LMDM, "serve", "--zmq", f"tcp://127.0.0.1:{zmq_port}", "--osc", "127.0.0.1:0",
               "--osc-reply", f"127.0.0.1:{osc_reply}" if osc_reply else "none", *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, **(env or {})})
        self.line = self.proc.stdout.readline()
        m = re.search(r"zmq (\S+) osc ([\d.]+):(\d+)", self.line)
        if not m:
            self.proc.kill()
            raise RuntimeError(f"worker did not start: {self.line!r} {self.proc.stderr.read()}")
        self.address, self.osc_port = m.group(1), int(m.group(3))
        self.log: list[str] = []
        self._t = threading.Thread(target=self._read_log, daemon=True)
        self._t.start()

    def _read_log(self) -> None:
        for line in self.proc.stderr:
            self.log.append(line)

    def wait_log(self, text: str, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.log):
                return True
            time.sleep(0.1)
        return False

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)


class Inbox:
    """A UDP socket on a free port; `recv()` returns the next OSC message as (address, params)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def recv(self, timeout: float = 5.0):
        self.sock.settimeout(timeout)
        m = OscMessage(self.sock.recvfrom(65536)[0])
        return m.address, list(m.params)

    def until(self, address: str, timeout: float = 5.0):
        while True:
            got = self.recv(timeout)
            if got[0] == address:
                return got

    def drain(self) -> None:
        self.sock.settimeout(0.05)
        try:
            while True:
                self.sock.recvfrom(65536)
        except OSError:
            pass


@pytest.fixture(scope="session", autouse=True)
def _margin_cache(tmp_path_factory):
    """Workers started by these tests keep their compute-margin calibration (bridge/margin.py) in a cache of the
    test session's own: a loaded test machine must not leave its figures in the user's ~/.cache/lmdm."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LMDM_CACHE_DIR", str(tmp_path_factory.mktemp("lmdm-cache")))
        yield


@pytest.fixture(scope="module")
def _inbox():
    inbox = Inbox()
    yield inbox
    inbox.sock.close()


@pytest.fixture
def osc_inbox(_inbox):
    """The module's OSC reply socket, emptied of what earlier tests left in it."""
    _inbox.drain()
    return _inbox


@pytest.fixture(scope="module")
def loopback_worker(_inbox):
    """One `lmdm serve --model loopback` per test module (a start costs seconds); tests use their own stream ids."""
    w = WorkerProc("--model", "loopback", "--client-timeout", "1", "--heartbeat-ms", "200", osc_reply=_inbox.port)
    yield w
    w.stop()


@pytest.fixture
def start_worker():
    """Start `lmdm serve` with a test's own options (WorkerProc's arguments); each one is stopped after the test."""
    started: list[WorkerProc] = []

    def start(*args: str, **kw) -> WorkerProc:
        started.append(WorkerProc(*args, **kw))
        return started[-1]

    yield start
    for w in started:
        w.stop()
