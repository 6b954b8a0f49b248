"""`lmdm monitor` in a real tmux pane against a real `lmdm serve`, while a real client streams."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time

import numpy as np
import pytest

from bridge.client import Client
from tests.bridge.conftest import LMDM

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux missing (scripts/install.sh --test)")


class Pane:
    """A tmux server of the test's own (-L), one detached session running `command`."""

    def __init__(self, command: list[str]):
        self.tmux = ["tmux", "-L", f"lmdm-test-{os.getpid()}"]
        subprocess.run([*self.tmux, "new-session", "-d", "-s", "monitor", "-x", "150", "-y", "30",
                        *(["-e", f"PYTHONPATH={os.environ['PYTHONPATH']}"] if "PYTHONPATH" in os.environ else []),
                        "env -u COLUMNS -u LINES " + " ".join(command)], check=True, timeout=10)  # the pane's size

    def text(self) -> str:
        return subprocess.run([*self.tmux, "capture-pane", "-p", "-t", "monitor"], capture_output=True, text=True,
                              timeout=10).stdout

    def wait(self, ok, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.text()
            if ok(screen) or time.monotonic() > deadline:
                return screen
            time.sleep(0.2)

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], capture_output=True, timeout=10)


def row(screen: str, stream: str) -> list[str]:
    """The cells of the stream's row in the table (rich draws │ between them)."""
    for line in screen.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if cells and cells[0] == stream:
            return cells
    return []


def test_the_monitor_shows_a_streaming_session_and_its_end(start_worker):
    w = start_worker("--model", "loopback", "--block", "2048")
    stop = threading.Event()

    def play() -> None:
        with Client(w.address, stream="watched", rate=48000, channels=1, mode="jam") as c:
            c.set("prompt", "rain on a tin roof")
            x, pos = np.zeros((4800, 1), np.float32), 0
            while not stop.is_set():
                c.stream_array(x, start=pos)
                pos += len(x)
                time.sleep(0.1)  # about real time: 4800 frames at 48 kHz

    player = threading.Thread(target=play, daemon=True)
    player.start()
    pane = Pane([LMDM, "monitor", "--zmq", w.address, "--every", "0.3"])
    try:
        screen = pane.wait(lambda s: (r := row(s, "watched")) and len(r) == 11 and int(r[6]) > 0)
        cells = row(screen, "watched")
        assert len(cells) == 11, screen
        assert cells[1] == "jam" and cells[2] == "rain on a tin roof", screen
        assert cells[3] == "43" and int(cells[6]) > 0, screen     # latency 2048 / 48000 s; blocks computed
        assert re.search(r"streams 1 ", screen), screen
        stop.set()
        player.join(timeout=10)
        screen = pane.wait(lambda s: "streams 0 " in s)           # bye: the view follows the worker
        assert "streams 0 " in screen and not row(screen, "watched"), screen
        w.stop()
        screen = pane.wait(lambda s: "no answer" in s)
        assert "no answer" in screen, screen
    finally:
        stop.set()
        pane.close()
